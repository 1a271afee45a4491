// The storage seam's contract, run on both engines: RocksDB (store) and Redis
// (redis_store, against a real redis-server with appendonly yes, appendfsync always).
// Then what only the shared engine promises: one seq per append across nodes, the
// publication of each append, TTLs, and durability across a kill -9 of Redis.
#include "storage/keys.hpp"
#include "storage/redis_store.hpp"
#include "storage/store.hpp"

#include <catch2/catch.hpp>

#include "tests/unit/support/redis_server.hpp"
#include "tests/unit/support/temp_dir.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

using hub::storage::engine;
using hub::storage::redis_store;
using hub::storage::redis_store_options;

namespace {

// Redis as the issue asks tests to run it: every write synced before Redis answers.
std::vector<std::string> durable_redis() { return {"--appendonly", "yes", "--appendfsync", "always"}; }

redis_store_options options_for(const hub::test::redis_server& redis, std::string publish = {}) {
  redis_store_options o;
  std::string error;
  o.endpoint = *hub::parse_redis_url(redis.url(), &error);
  o.key_prefix = "t";
  o.publish_prefix = std::move(publish);
  o.command_timeout = std::chrono::milliseconds(2000);
  return o;
}

// One engine of each kind, each on fresh storage of its own.
struct engines {
  hub::test::unique_temp_dir dir{"hub-engine-test"};
  hub::test::redis_server redis{durable_redis()};
  std::vector<std::shared_ptr<engine>> all;
  engines() {
    all.push_back(std::make_shared<hub::storage::store>(dir.str(), hub::storage::store_options{false}));
    all.push_back(std::make_shared<redis_store>(options_for(redis)));
  }
};

std::vector<std::uint64_t> seqs_of(const std::vector<engine::entry>& entries) {
  std::vector<std::uint64_t> out;
  for (const auto& e : entries) out.push_back(e.seq);
  return out;
}

std::vector<std::string> values_of(const std::vector<engine::entry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.value);
  return out;
}

using seqs = std::vector<std::uint64_t>;

// A plain hiredis client for what the test itself asks Redis.
struct raw_client {
  redisContext* c;
  explicit raw_client(std::uint16_t port) : c(redisConnect("127.0.0.1", port)) {
    REQUIRE(c);
    REQUIRE(c->err == 0);
    timeval tv{2, 0};
    redisSetTimeout(c, tv);
  }
  ~raw_client() { redisFree(c); }
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;
  // The reply as text ("" for nil), or its integer in decimal.
  std::string command(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    REQUIRE(r);
    std::string out;
    if (r->type == REDIS_REPLY_INTEGER)
      out = std::to_string(r->integer);
    else if (r->str)
      out.assign(r->str, r->len);
    freeReplyObject(r);
    return out;
  }
  // The next pub/sub message's [channel, payload] (of a pmessage), or nullopt on timeout.
  std::optional<std::pair<std::string, std::string>> next_message() {
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK || !raw) return std::nullopt;
    auto* r = static_cast<redisReply*>(raw);
    std::optional<std::pair<std::string, std::string>> out;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 4)
      out.emplace(std::string(r->element[2]->str, r->element[2]->len),
                  std::string(r->element[3]->str, r->element[3]->len));
    freeReplyObject(r);
    return out;
  }
};

}  // namespace

TEST_CASE("engines: logs get gap-free seqs, per log, with their index in the same commit", "[storage][engine]") {
  engines e;
  for (auto& db : e.all) {
    INFO(db->describe());
    CHECK(db->append({{"a", "a1"}, {"b", "b1"}, {"a", "a2"}}) == seqs{1, 1, 2});
    CHECK(db->commit({{"room/p", "r1"}, {"room/p", "r2", "thread/1/p/1"}, {"room/p", "r3", "thread/1/p/1"}}, {}) ==
          seqs{1, 2, 3});
    CHECK(values_of(db->read("thread/1/p/1", 0, 10)) == std::vector<std::string>{"2", "3"});
    CHECK(db->last_seq("a") == 2);
    CHECK(db->last_seq("never") == 0);
    CHECK(db->last_seqs({"a", "b", "never", "thread/1/p/1"}) == seqs{2, 1, 0, 2});
    CHECK(db->first_seq("a") == 1);
    CHECK(db->first_seq("never") == 0);
    // Log names that prefix each other stay apart.
    CHECK(db->append({{"a/b", "x"}}) == seqs{1});
    CHECK(values_of(db->read("a", 0, 10)) == std::vector<std::string>{"a1", "a2"});
  }
}

TEST_CASE("engines: reads page with has_more and the log's bounds", "[storage][engine]") {
  engines e;
  for (auto& db : e.all) {
    INFO(db->describe());
    std::vector<engine::append_item> items;
    for (int i = 1; i <= 10; ++i) items.emplace_back("r", "v" + std::to_string(i));
    db->append(items);
    auto p = db->read_page("r", 3, 2);
    CHECK(seqs_of(p.entries) == seqs{4, 5});
    CHECK(p.has_more);
    CHECK(p.first_seq == 1);
    CHECK(p.last_seq == 10);
    p = db->read_page("r", 7, 3);
    CHECK(seqs_of(p.entries) == seqs{8, 9, 10});
    CHECK_FALSE(p.has_more);
    p = db->read_page("r", 0, 0);
    CHECK(p.entries.empty());
    CHECK(p.has_more);
    CHECK(db->read_page("r", UINT64_MAX, 5).entries.empty());
    CHECK(db->read_page("r", 10, 5).entries.empty());
    auto s = db->read_seqs_page("r", {6, 2, 99, 4});
    CHECK(values_of(s.entries) == std::vector<std::string>{"v6", "v2", "v4"});
    CHECK(s.last_seq == 10);
    CHECK(seqs_of(db->read_last("r", 3)) == seqs{8, 9, 10});
    CHECK(db->read_last("r", 0).empty());
    CHECK(db->read_last("none", 3).empty());
  }
}

TEST_CASE("engines: pruning keeps the seq counter and a contiguous tail", "[storage][engine]") {
  engines e;
  for (auto& db : e.all) {
    INFO(db->describe());
    std::vector<engine::append_item> items;
    for (int i = 1; i <= 6; ++i) items.emplace_back("r", "v" + std::to_string(i));
    db->append(items);
    CHECK(db->prune_before("r", 4) == 3);
    CHECK(db->first_seq("r") == 4);
    CHECK(seqs_of(db->read("r", 0, 10)) == seqs{4, 5, 6});
    CHECK(db->prune_before("r", 4) == 0);
    CHECK(db->prune_before("r", 100) == 3);
    CHECK(db->first_seq("r") == 0);
    CHECK(db->last_seq("r") == 6);
    CHECK(db->append({{"r", "v7"}}) == seqs{7});  // never reused
    auto p = db->read_page("r", 2, 10);
    CHECK(p.first_seq == 7);
    CHECK(seqs_of(p.entries) == seqs{7});
  }
}

TEST_CASE("engines: keys, erases and the scannable groups in key order", "[storage][engine]") {
  engines e;
  for (auto& db : e.all) {
    INFO(db->describe());
    db->put("members/2/p1", "[\"u\"]");
    CHECK(db->get("members/2/p1") == std::optional<std::string>{"[\"u\"]"});
    CHECK_FALSE(db->get("members/2/p2"));
    db->erase("members/2/p1");
    CHECK_FALSE(db->get("members/2/p1"));
    // Reactions of two projects, one of whose ids holds '/': each scan sees its own.
    db->commit({}, {{hub::keys::reactions("p", 12), std::string("b"), {}},
                    {hub::keys::reactions("p", 3), std::string("a"), {}},
                    {hub::keys::reactions("p/x", 1), std::string("other"), {}},
                    {hub::keys::revoked("u/1"), std::string("100"), {}}});
    auto rows = db->scan(hub::keys::reactions_prefix("p"));
    REQUIRE(rows.size() == 2);
    CHECK(rows[0] == std::pair<std::string, std::string>{hub::keys::reactions("p", 12), "b"});
    CHECK(rows[1] == std::pair<std::string, std::string>{hub::keys::reactions("p", 3), "a"});
    CHECK(db->scan(hub::keys::reactions_prefix("p/x")).size() == 1);
    CHECK(db->get(hub::keys::reactions("p", 3)) == std::optional<std::string>{"a"});
    db->erase(hub::keys::reactions("p", 3));
    CHECK(db->scan(hub::keys::reactions_prefix("p")).size() == 1);
    auto revoked = db->scan(std::string(hub::keys::revoked_prefix));
    REQUIRE(revoked.size() == 1);
    CHECK(revoked[0].first == "revoked/u/1");
  }
}

TEST_CASE("engines: an injected write fault writes nothing, and recover() ends it", "[storage][engine]") {
  engines e;
  for (auto& db : e.all) {
    INFO(db->describe());
    db->inject_write_faults(true);
    CHECK_THROWS_AS(db->append({{"r", "lost"}}), std::runtime_error);
    CHECK(db->last_seq("r") == 0);
    CHECK(db->recover().has_value());
    db->inject_write_faults(false);
    CHECK_FALSE(db->recover().has_value());
    CHECK(db->append({{"r", "kept"}}) == seqs{1});
  }
}

TEST_CASE("redis engine: nodes appending to one room at once never share a seq", "[storage][redis]") {
  hub::test::redis_server redis{durable_redis()};
  constexpr int nodes = 3;
  constexpr int per_node = 200;
  std::vector<std::unique_ptr<redis_store>> stores;
  for (int i = 0; i < nodes; ++i) stores.push_back(std::make_unique<redis_store>(options_for(redis)));
  std::vector<std::vector<std::uint64_t>> got(nodes);
  std::vector<std::thread> threads;
  for (int i = 0; i < nodes; ++i)
    threads.emplace_back([&, i] {
      for (int j = 0; j < per_node; j += 4) {
        std::vector<engine::append_item> batch;
        for (int k = 0; k < 4; ++k) batch.emplace_back("room/shared", std::to_string(i) + ":" + std::to_string(j + k));
        for (auto seq : stores[static_cast<std::size_t>(i)]->append(batch)) got[static_cast<std::size_t>(i)].push_back(seq);
      }
    });
  for (auto& t : threads) t.join();
  std::set<std::uint64_t> all;
  for (const auto& g : got) {
    CHECK(std::is_sorted(g.begin(), g.end()));  // each node's own appends in its order
    all.insert(g.begin(), g.end());
  }
  CHECK(all.size() == nodes * per_node);  // no seq twice
  CHECK(*all.begin() == 1);
  CHECK(*all.rbegin() == nodes * per_node);  // and no gap
  auto entries = stores[0]->read("room/shared", 0, 10000);
  CHECK(entries.size() == nodes * per_node);
  CHECK(stores[2]->last_seq("room/shared") == nodes * per_node);
}

TEST_CASE("redis engine: each append is published with its seq in the same step, index logs not", "[storage][redis]") {
  hub::test::redis_server redis{durable_redis()};
  raw_client sub(redis.port());
  sub.command({"PSUBSCRIBE", "t-log#*"});
  redis_store db(options_for(redis, "t-log#"));
  db.commit({{"room/p", "hello"}, {"room/p", "re", "thread/1/p/1"}, {"inbox/u", "{\"t\":\"n\"}"}},
            {{"read/1/p/u", std::string("2"), {}}});
  const auto epoch = raw_client(redis.port()).command({"GET", "t:kv:meta/epoch"});
  REQUIRE(epoch.size() == 8);  // set by the first commit
  auto m1 = sub.next_message();
  auto m2 = sub.next_message();
  auto m3 = sub.next_message();
  REQUIRE(m1);
  REQUIRE(m2);
  REQUIRE(m3);
  CHECK(*m1 == std::pair<std::string, std::string>{"t-log#room/p", epoch + ":1:hello"});
  CHECK(*m2 == std::pair<std::string, std::string>{"t-log#room/p", epoch + ":2:re"});
  CHECK(*m3 == std::pair<std::string, std::string>{"t-log#inbox/u", epoch + ":1:{\"t\":\"n\"}"});
  // Nothing else: the thread index and the key write are not published.
  redis_store quiet(options_for(redis));  // no publish prefix: nothing
  quiet.append({{"room/p", "silent"}});
  db.append({{"room/q", "next"}});
  auto m4 = sub.next_message();
  REQUIRE(m4);
  CHECK(*m4 == std::pair<std::string, std::string>{"t-log#room/q", epoch + ":1:next"});
  // Redis lost everything: the next commit names a new epoch, and seqs start again.
  raw_client(redis.port()).command({"FLUSHALL"});
  db.append({{"room/q", "after the wipe"}});
  auto m5 = sub.next_message();
  REQUIRE(m5);
  const auto fresh = raw_client(redis.port()).command({"GET", "t:kv:meta/epoch"});
  CHECK(fresh.size() == 8);
  CHECK(fresh != epoch);
  CHECK(m5->second == fresh + ":1:after the wipe");
}

TEST_CASE("redis engine: layout, TTLs and a flushed script cache", "[storage][redis]") {
  hub::test::redis_server redis{durable_redis()};
  raw_client raw(redis.port());
  redis_store db(options_for(redis));
  db.append({{"room/p1", "m"}});
  CHECK(raw.command({"TYPE", "t:{room/p1}:log"}) == "stream");
  CHECK(raw.command({"GET", "t:{room/p1}:seq"}) == "1");
  CHECK(raw.command({"XLEN", "t:{room/p1}:log"}) == "1");
  db.commit({}, {{"sess/abc", std::string("record"), std::chrono::milliseconds(60000)}, {"meta/x", std::string("y"), {}}});
  auto pttl = std::stoll(raw.command({"PTTL", "t:kv:sess/abc"}));
  CHECK(pttl > 50000);
  CHECK(pttl <= 60000);
  CHECK(raw.command({"PTTL", "t:kv:meta/x"}) == "-1");
  CHECK(raw.command({"SCRIPT", "FLUSH"}) == "OK");
  CHECK(db.append({{"room/p1", "after flush"}}) == seqs{2});
}

TEST_CASE("redis engine: an acknowledged commit survives kill -9 of Redis; writes fail while it is down",
          "[storage][redis]") {
  hub::test::redis_server redis{durable_redis()};
  redis_store db(options_for(redis));
  CHECK(db.append({{"room/p", "acked"}}) == seqs{1});
  db.put("read/1/p/u", "1");
  redis.kill();
  CHECK_THROWS_AS(db.append({{"room/p", "refused"}}), std::runtime_error);
  CHECK(db.recover().has_value());  // says why: cannot connect
  CHECK_THROWS_AS(db.last_seq("room/p"), std::runtime_error);
  redis.start();
  CHECK_FALSE(db.recover().has_value());
  CHECK(values_of(db.read("room/p", 0, 10)) == std::vector<std::string>{"acked"});
  CHECK(db.get("read/1/p/u") == std::optional<std::string>{"1"});
  CHECK(db.append({{"room/p", "next"}}) == seqs{2});
}

TEST_CASE("redis engine: an unreachable Redis is a clear error at start", "[storage][redis]") {
  redis_store_options o;
  o.endpoint.host = "127.0.0.1";
  o.endpoint.port = hub::test::free_loopback_port();
  try {
    redis_store db(o);
    FAIL("connected to nothing");
  } catch (const std::runtime_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("redis redis://127.0.0.1:") && Catch::Contains("connect"));
  }
}

TEST_CASE("engines: rate_take counts a sliding window and says how long to wait", "[storage][engine]") {
  engines e;
  for (auto& db : e.all) {
    INFO(db->describe());
    const auto window = std::chrono::milliseconds(600);
    for (int i = 0; i < 3; ++i) CHECK(db->rate_take("rate/u", 3, window) == 0);
    auto wait = db->rate_take("rate/u", 3, window);
    CHECK(wait >= 1);
    CHECK(wait <= 600);
    CHECK(db->rate_take("rate/other", 3, window) == 0);  // per key
    std::this_thread::sleep_for(std::chrono::milliseconds(wait + 20));
    CHECK(db->rate_take("rate/u", 3, window) == 0);  // the oldest left the window
    std::this_thread::sleep_for(window);             // and now all of them
    for (int i = 0; i < 3; ++i) CHECK(db->rate_take("rate/u", 3, window) == 0);
    CHECK(db->rate_take("rate/u", 3, window) >= 1);
  }
}

TEST_CASE("redis engine: one rate window for every node", "[storage][redis]") {
  hub::test::redis_server redis{durable_redis()};
  redis_store a(options_for(redis));
  redis_store b(options_for(redis));
  const auto window = std::chrono::milliseconds(60000);
  CHECK(a.rate_take("rate/u", 4, window) == 0);
  CHECK(b.rate_take("rate/u", 4, window) == 0);
  CHECK(a.rate_take("rate/u", 4, window) == 0);
  CHECK(b.rate_take("rate/u", 4, window) == 0);
  auto wait = a.rate_take("rate/u", 4, window);  // the fifth, on either node
  CHECK(wait > 59000);
  CHECK(wait <= 60000);
  CHECK(b.rate_take("rate/u", 4, window) > 59000);
  raw_client raw(redis.port());
  CHECK(raw.command({"ZCARD", "t:rate:{rate/u}"}) == "4");  // refusals count nothing
  auto pttl = std::stoll(raw.command({"PTTL", "t:rate:{rate/u}"}));
  CHECK(pttl > 59000);  // it expires with its window
}

TEST_CASE("engines: a write only_if_larger never moves a number backwards", "[storage][engine]") {
  engines e;
  for (auto& db : e.all) {
    INFO(db->describe());
    const std::string key = hub::keys::read_marker("p", "u");
    auto larger = [&](const char* v) {
      engine::kv_write w{key, std::string(v), {}};
      w.only_if_larger = true;
      return w;
    };
    db->commit({}, {larger("5")});
    CHECK(db->get(key) == std::optional<std::string>{"5"});
    db->commit({}, {larger("3")});  // another node, behind
    CHECK(db->get(key) == std::optional<std::string>{"5"});
    db->commit({}, {larger("9"), larger("7")});  // one commit: the larger stays
    CHECK(db->get(key) == std::optional<std::string>{"9"});
    db->commit({}, {larger("12")});
    CHECK(db->get(key) == std::optional<std::string>{"12"});
  }
}
