#include "storage/storage_actor.hpp"
#include "storage/store.hpp"

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <catch2/catch.hpp>

#include "tests/unit/support/temp_dir.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace st = hub::storage;

namespace {

// A fresh directory for one test, removed with everything in it.
struct temp_dir : hub::test::unique_temp_dir {
  temp_dir() : unique_temp_dir("hub-storage-actor-test") {}
};

constexpr auto timeout = std::chrono::seconds(5);

// What the requesters saw: (log, value) -> seq, plus rendered errors.
struct outcomes {
  std::mutex mu;
  std::map<std::pair<std::string, std::string>, std::uint64_t> seqs;
  std::vector<std::string> errors;
  std::size_t answered() {
    std::lock_guard<std::mutex> g{mu};
    return seqs.size() + errors.size();
  }
};

// Sends `count` appends to `log` at once (values "<tag>-<i>"), records every answer.
caf::behavior requester(caf::event_based_actor* self, st::storage_actor storage, std::string log, std::string tag,
                        int count, std::shared_ptr<outcomes> out) {
  for (int i = 0; i < count; ++i) {
    auto value = tag + "-" + std::to_string(i);
    self->request(storage, timeout, st::append_atom::value, log, value)
      .then(
        [=](std::uint64_t seq) {
          std::lock_guard<std::mutex> g{out->mu};
          out->seqs[{log, value}] = seq;
        },
        [=](caf::error& err) {
          std::lock_guard<std::mutex> g{out->mu};
          out->errors.push_back(self->system().render(err));
        });
  }
  return {};  // stays alive until every response arrived
}

// Deterministic: CAF's test coordinator (one thread, FIFO, virtual time).
struct sim_fixture {
  static caf::actor_system_config& init(caf::actor_system_config& c) {
    c.set("scheduler.policy", caf::atom("testing"));
    return c;
  }
  temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys{init(cfg)};
  caf::scheduler::test_coordinator& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::shared_ptr<st::store> db = std::make_shared<st::store>(dir.str(), st::store_options{false});
  std::shared_ptr<outcomes> out = std::make_shared<outcomes>();

  ~sim_fixture() {
    do {
      sched.run();
    } while (sched.trigger_timeouts());
  }

  st::storage_stats_ptr stats(const st::storage_actor& storage) {
    st::storage_stats_ptr res;
    // The handle goes in as a spawn argument: spawning a function with no arguments
    // makes CAF 0.17 dereference a null std::shared_ptr<std::tuple<>> (UBSan reports it).
    sys.spawn(
      [&res](caf::event_based_actor* self, st::storage_actor storage) {
        self->request(storage, timeout, st::stats_atom::value).then([&res](st::storage_stats_ptr p) {
          res = std::move(p);
        });
      },
      storage);
    sched.run();
    return res;
  }
};

// Values of a log in seq order, as the requesters were told.
std::vector<std::string> by_seq(outcomes& out, const std::string& log) {
  std::vector<std::pair<std::uint64_t, std::string>> v;
  for (auto& [k, seq] : out.seqs)
    if (k.first == log) v.emplace_back(seq, k.second);
  std::sort(v.begin(), v.end());
  std::vector<std::string> res;
  for (std::size_t i = 0; i < v.size(); ++i) res.push_back(v[i].first == i + 1 ? v[i].second : "GAP");
  return res;
}

}  // namespace

TEST_CASE_METHOD(sim_fixture, "actors: storage group-commits appends from many requesters", "[actors][storage]") {
  auto storage = hub::spawn_storage_actor(sys, db, false);
  // 5 requesters x 10 appends, split over two logs, all enqueued before anything runs.
  for (int r = 0; r < 5; ++r)
    sys.spawn(requester, storage, r % 2 == 0 ? "room/even" : "room/odd", std::string{"r"}.append(std::to_string(r)), 10,
              out);
  sched.run();
  REQUIRE(out->answered() == 50);
  CHECK(out->errors.empty());
  // Gap-free, and in arrival order per requester (requesters ran one after another).
  auto even = by_seq(*out, "room/even");
  auto odd = by_seq(*out, "room/odd");
  REQUIRE(even.size() == 30);
  REQUIRE(odd.size() == 20);
  CHECK(even.front() == "r0-0");
  CHECK(even[10] == "r2-0");
  CHECK(even.back() == "r4-9");
  CHECK(odd.back() == "r3-9");
  CHECK(std::count(even.begin(), even.end(), "GAP") == 0);
  CHECK(std::count(odd.begin(), odd.end(), "GAP") == 0);
  // One flush for all 50: the flush message queued behind them.
  auto s = stats(storage);
  REQUIRE(s);
  CHECK(s->batches.load() == 1);
  CHECK(s->items.load() == 50);
  CHECK(s->max_batch.load() == 50);
  CHECK(db->last_seq("room/even") == 30);
  CHECK(db->last_seq("room/odd") == 20);
}

TEST_CASE_METHOD(sim_fixture, "actors: storage caps a batch at max_batch_items", "[actors][storage]") {
  auto storage = hub::spawn_storage_actor(sys, db, false);
  sys.spawn(requester, storage, "big", "x", 600, out);
  sched.run();
  REQUIRE(out->answered() == 600);
  auto s = stats(storage);
  REQUIRE(s);
  CHECK(s->batches.load() == 3);  // 256 + 256 + 88
  CHECK(s->max_batch.load() == st::max_batch_items);
  CHECK(by_seq(*out, "big").size() == 600);
  CHECK(db->last_seq("big") == 600);
}

TEST_CASE_METHOD(sim_fixture, "actors: storage fails every append of a failed batch", "[actors][storage]") {
  auto storage = hub::spawn_storage_actor(sys, db, false);
  db->inject_write_faults(true);
  sys.spawn(requester, storage, "f", "a", 3, out);
  sys.spawn(requester, storage, "g", "b", 2, out);
  sched.run();
  REQUIRE(out->answered() == 5);
  CHECK(out->seqs.empty());
  REQUIRE(out->errors.size() == 5);
  CHECK_THAT(out->errors.front(), Catch::Contains("runtime_error") && Catch::Contains("injected"));
  auto s = stats(storage);
  CHECK(s->failed_batches.load() == 1);
  CHECK(s->batches.load() == 0);
  // Nothing was written, so the seqs are handed out again.
  db->inject_write_faults(false);
  sys.spawn(requester, storage, "f", "c", 2, out);
  sched.run();
  CHECK(by_seq(*out, "f") == std::vector<std::string>{"c-0", "c-1"});
}

TEST_CASE_METHOD(sim_fixture, "actors: storage group-commits kv writes with appends; a read waits for a pending write",
                 "[actors][storage]") {
  auto storage = hub::spawn_storage_actor(sys, db, false);
  struct seen {
    std::vector<std::string> order;  // what answered, in order
    std::string value;
  };
  auto got = std::make_shared<seen>();
  // One requester: append, put, get, erase, get, all enqueued before anything runs.
  sys.spawn(
    [got](caf::event_based_actor* self, st::storage_actor storage) {
      self->request(storage, timeout, st::append_atom::value, std::string{"room/x"}, std::string{"m1"})
        .then([got](std::uint64_t seq) { got->order.push_back("append " + std::to_string(seq)); });
      self->request(storage, timeout, st::kv_put_atom::value, std::string{"sess/1"}, std::string{"rec"})
        .then([got](bool ok) { got->order.push_back(ok ? "put" : "put failed"); });
      self->request(storage, timeout, st::kv_get_atom::value, std::string{"sess/1"})
        .then([got](bool found, const std::string& v) { got->order.push_back(found ? "get " + v : "get none"); });
      self->request(storage, timeout, st::kv_get_atom::value, std::string{"other"})
        .then([got](bool found, const std::string&) { got->order.push_back(found ? "other?" : "other none"); });
    },
    storage);
  sched.run();
  // The get of a key with a pending write waited for the flush and saw the write; a
  // get of another key did not wait.
  CHECK(got->order == std::vector<std::string>{"other none", "append 1", "put", "get rec"});
  auto s = stats(storage);
  REQUIRE(s);
  CHECK(s->batches.load() == 1);  // the append and the put: one WriteBatch
  CHECK(s->kv_writes.load() == 1);
  CHECK(db->get("sess/1") == std::optional<std::string>{"rec"});

  // A failed batch fails the kv write too, and a waiting read then sees the old value.
  db->inject_write_faults(true);
  got->order.clear();
  sys.spawn(
    [got](caf::event_based_actor* self, st::storage_actor storage) {
      self->request(storage, timeout, st::kv_erase_atom::value, std::string{"sess/1"})
        .then([got](bool) { got->order.push_back("erased"); },
              [got](caf::error&) { got->order.push_back("erase failed"); });
      self->request(storage, timeout, st::kv_get_atom::value, std::string{"sess/1"})
        .then([got](bool found, const std::string& v) { got->order.push_back(found ? "get " + v : "get none"); });
    },
    storage);
  sched.run();
  CHECK(got->order == std::vector<std::string>{"erase failed", "get rec"});
  db->inject_write_faults(false);
}

TEST_CASE("actors: storage reads, last_seq and kv over a detached actor on real threads", "[actors][storage]") {
  temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto db = std::make_shared<st::store>(dir.str());  // synced: real fsyncs
  auto out = std::make_shared<outcomes>();
  {
    auto storage = hub::spawn_storage_actor(sys, db, true);
    // 50 appends from 5 requesters in one go.
    for (int r = 0; r < 5; ++r)
      sys.spawn(requester, storage, "room/p1", std::string{"r"}.append(std::to_string(r)), 10, out);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out->answered() < 50 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    REQUIRE(out->answered() == 50);
    CHECK(out->errors.empty());
    auto order = by_seq(*out, "room/p1");
    CHECK(order.size() == 50);
    CHECK(std::count(order.begin(), order.end(), "GAP") == 0);

    caf::scoped_actor self{sys};
    st::storage_stats_ptr stats;
    self->request(storage, timeout, st::stats_atom::value)
      .receive([&](st::storage_stats_ptr p) { stats = std::move(p); }, [&](caf::error& e) { FAIL(sys.render(e)); });
    REQUIRE(stats);
    CHECK(stats->items.load() == 50);
    CHECK(stats->batches.load() < 50);
    if (stats->batches.load() > 0)
      WARN("real threads: 50 appends in " << stats->batches.load() << " batches (max " << stats->max_batch.load()
                                          << "), " << stats->commit_latency.sum_us() / stats->batches.load()
                                          << " us per synced batch");
    CHECK(stats->commit_latency.count() == stats->batches.load());
    CHECK(stats->write_latency.count() == 50);

    self->request(storage, timeout, st::read_atom::value, std::string{"room/p1"}, std::uint64_t{45}, std::uint64_t{3})
      .receive(
        [&](st::read_result_ptr r) {
          REQUIRE(r);
          CHECK(r->entries.size() == 3);
          CHECK(r->entries.front().seq == 46);
          CHECK(r->entries.front().value == order[45]);
          CHECK(r->has_more);
          CHECK(r->first_seq == 1);
          CHECK(r->last_seq == 50);
        },
        [&](caf::error& e) { FAIL(sys.render(e)); });
    self->request(storage, timeout, st::read_atom::value, std::string{"empty"}, std::uint64_t{0}, std::uint64_t{10})
      .receive(
        [&](st::read_result_ptr r) {
          CHECK(r->entries.empty());
          CHECK_FALSE(r->has_more);
          CHECK(r->first_seq == 0);
          CHECK(r->last_seq == 0);
        },
        [&](caf::error& e) { FAIL(sys.render(e)); });
    self->request(storage, timeout, st::last_seq_atom::value, std::string{"room/p1"})
      .receive([&](std::uint64_t seq) { CHECK(seq == 50); }, [&](caf::error& e) { FAIL(sys.render(e)); });
    self->request(storage, timeout, st::append_atom::value, std::string{"room/p1"}, std::string{"one more"})
      .receive([&](std::uint64_t seq) { CHECK(seq == 51); }, [&](caf::error& e) { FAIL(sys.render(e)); });

    self->request(storage, timeout, st::kv_put_atom::value, std::string{"session/a"}, std::string{"blob"})
      .receive([&](bool ok) { CHECK(ok); }, [&](caf::error& e) { FAIL(sys.render(e)); });
    self->request(storage, timeout, st::kv_get_atom::value, std::string{"session/a"})
      .receive(
        [&](bool found, std::string& v) {
          CHECK(found);
          CHECK(v == "blob");
        },
        [&](caf::error& e) { FAIL(sys.render(e)); });
    self->request(storage, timeout, st::kv_erase_atom::value, std::string{"session/a"})
      .receive([&](bool ok) { CHECK(ok); }, [&](caf::error& e) { FAIL(sys.render(e)); });
    self->request(storage, timeout, st::kv_get_atom::value, std::string{"session/a"})
      .receive(
        [&](bool found, std::string& v) {
          CHECK_FALSE(found);
          CHECK(v.empty());
        },
        [&](caf::error& e) { FAIL(sys.render(e)); });
    db->inject_write_faults(true);
    self->request(storage, timeout, st::kv_put_atom::value, std::string{"k"}, std::string{"v"})
      .receive([&](bool) { FAIL("put succeeded despite the fault"); },
               [&](caf::error& e) { CHECK(e.code() == static_cast<std::uint8_t>(caf::sec::runtime_error)); });
    db->inject_write_faults(false);
    // Stop it and wait until it is gone (and with it its reference to the store), so
    // that the database is closed before the temp dir is removed.
    self->send_exit(storage, caf::exit_reason::user_shutdown);
    self->wait_for(storage);
  }
  CHECK(db.use_count() == 1);
  CHECK(db->last_seq("room/p1") == 51);
}

TEST_CASE_METHOD(sim_fixture,
                 "actors: storage health: a failed write marks it unhealthy; recovery retries until writes work",
                 "[actors][storage][health]") {
  auto storage = hub::spawn_storage_actor(sys, db, false);
  auto s = stats(storage);
  REQUIRE(s);
  CHECK(s->healthy.load());
  CHECK(s->error().empty());

  db->inject_write_faults(true);
  sys.spawn(requester, storage, "h", "a", 2, out);
  sched.run();
  REQUIRE(out->errors.size() == 2);
  CHECK_FALSE(s->healthy.load());
  CHECK_THAT(s->error(), Catch::Contains("injected"));
  CHECK(s->write_errors.load() == 1);  // one batch

  // Recovery attempts (virtual time: the back-off timers) fail while the fault stays;
  // they are not counted as write errors.
  for (int i = 0; i < 3; ++i) {
    REQUIRE(sched.trigger_timeout());
    sched.run();
  }
  CHECK_FALSE(s->healthy.load());
  CHECK_THAT(s->error(), Catch::Contains("recovery") && Catch::Contains("injected"));
  CHECK(s->write_errors.load() == 1);
  CHECK(s->recoveries.load() == 0);

  // The fault clears: the next attempt's probe write succeeds.
  db->inject_write_faults(false);
  REQUIRE(sched.trigger_timeout());
  sched.run();
  CHECK(s->healthy.load());
  CHECK(s->error().empty());
  CHECK(s->recoveries.load() == 1);
  CHECK_FALSE(sched.trigger_timeout());  // nothing more armed once healthy

  // A write that succeeds ends an episode too, without waiting for the timer.
  db->inject_write_faults(true);
  sys.spawn(requester, storage, "h", "b", 1, out);
  sched.run();
  CHECK_FALSE(s->healthy.load());
  db->inject_write_faults(false);
  sys.spawn(requester, storage, "h", "c", 1, out);
  sched.run();
  CHECK(s->healthy.load());
  CHECK(s->recoveries.load() == 2);
  CHECK(by_seq(*out, "h") == std::vector<std::string>{"c-0"});
}
