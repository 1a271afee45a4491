#include "storage/store.hpp"

#include <catch2/catch.hpp>

#include "tests/unit/support/temp_dir.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using hub::storage::store;
using hub::storage::store_options;
using namespace std::string_literals;

namespace {

// A fresh directory for one test, removed with everything in it.
struct temp_dir : hub::test::unique_temp_dir {
  temp_dir() : unique_temp_dir("hub-store-test") {}
};

constexpr store_options no_sync{false};

std::vector<std::uint64_t> seqs_of(const std::vector<store::entry>& entries) {
  std::vector<std::uint64_t> out;
  for (const auto& e : entries) out.push_back(e.seq);
  return out;
}

std::vector<std::string> values_of(const std::vector<store::entry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.value);
  return out;
}

void fill(store& db, const std::string& log, int n) {
  std::vector<store::append_item> items;
  for (int i = 1; i <= n; ++i) items.push_back({log, std::string{"v"}.append(std::to_string(i))});
  db.append(items);
}

using seqs = std::vector<std::uint64_t>;

}  // namespace

TEST_CASE("storage: seqs are gap-free per log across one batch", "[storage]") {
  temp_dir dir;
  store db{dir.str(), no_sync};
  CHECK(db.last_seq("a") == 0);
  CHECK(db.append({}).empty());
  auto s = db.append({{"a", "a1"}, {"b", "b1"}, {"a", "a2"}, {"c", "c1"}, {"b", "b2"}, {"a", "a3"}});
  CHECK(s == seqs{1, 1, 2, 1, 2, 3});
  CHECK(db.last_seq("a") == 3);
  CHECK(db.last_seq("b") == 2);
  CHECK(db.last_seq("c") == 1);
  s = db.append({{"b", "b3"}, {"a", "a4"}, {"d", "d1"}});
  CHECK(s == seqs{3, 4, 1});
  CHECK(values_of(db.read("a", 0, 100)) == std::vector<std::string>{"a1", "a2", "a3", "a4"});
  CHECK(values_of(db.read("b", 0, 100)) == std::vector<std::string>{"b1", "b2", "b3"});
  CHECK(db.first_seq("a") == 1);
  CHECK(db.first_seq("nope") == 0);
}

TEST_CASE("storage: an index log records the seqs of indexed appends in the same batch", "[storage]") {
  temp_dir dir;
  store db{dir.str(), no_sync};
  fill(db, "room", 3);
  auto s = db.append({{"room", "r4", "thread/2"}, {"room", "r5"}, {"room", "r6", "thread/2"}});
  CHECK(s == seqs{4, 5, 6});
  CHECK(values_of(db.read("thread/2", 0, 10)) == std::vector<std::string>{"4", "6"});
  CHECK(db.peek_last_seq("thread/2") == 2);
  CHECK(db.peek_last_seq("thread/9") == 0);
  // A failed batch writes neither the entry nor its index entry.
  db.inject_write_faults(true);
  CHECK_THROWS_AS(db.append({{"room", "r7", "thread/2"}}), std::runtime_error);
  db.inject_write_faults(false);
  CHECK(db.last_seq("room") == 6);
  CHECK(db.peek_last_seq("thread/2") == 2);
  // read_seqs returns what exists, in the order asked.
  CHECK(values_of(db.read_seqs("room", {6, 2, 99, 4})) == std::vector<std::string>{"r6", "v2", "r4"});
  db.prune_before("room", 3);
  CHECK(seqs_of(db.read_seqs("room", {1, 2, 3})) == seqs{3});
}

TEST_CASE("storage: logs and kv persist across close and reopen", "[storage]") {
  temp_dir dir;
  {
    store db{dir.str()};  // synced writes
    db.append({{"room/p1", "hello"}, {"room/p1", "world"}, {"user/u1", "n1"}});
    db.put("session/x", "state");
  }
  {
    store db{dir.str()};
    CHECK(db.last_seq("room/p1") == 2);
    CHECK(db.last_seq("user/u1") == 1);
    CHECK(values_of(db.read("room/p1", 0, 10)) == std::vector<std::string>{"hello", "world"});
    CHECK(db.get("session/x") == std::optional<std::string>{"state"});
    CHECK(db.append({{"room/p1", "again"}, {"user/u1", "n2"}}) == seqs{3, 2});
  }
  store db{dir.str()};
  CHECK(seqs_of(db.read("room/p1", 0, 10)) == seqs{1, 2, 3});
  CHECK(db.last_seq("user/u1") == 2);
}

TEST_CASE("storage: read ranges, limits and has_more", "[storage]") {
  temp_dir dir;
  store db{dir.str(), no_sync};
  fill(db, "r", 10);
  bool more = false;
  CHECK(seqs_of(db.read("r", 0, 3, &more)) == seqs{1, 2, 3});
  CHECK(more);
  CHECK(values_of(db.read("r", 3, 2, &more)) == std::vector<std::string>{"v4", "v5"});
  CHECK(more);
  CHECK(seqs_of(db.read("r", 7, 3, &more)) == seqs{8, 9, 10});  // exactly the rest
  CHECK_FALSE(more);
  CHECK(seqs_of(db.read("r", 7, 50, &more)) == seqs{8, 9, 10});
  CHECK_FALSE(more);
  CHECK(db.read("r", 10, 5, &more).empty());
  CHECK_FALSE(more);
  CHECK(db.read("r", 0, 0, &more).empty());  // limit 0: nothing, but more exists
  CHECK(more);
  CHECK(db.read("r", UINT64_MAX, 5, &more).empty());
  CHECK_FALSE(more);
  CHECK(db.read("other", 0, 5, &more).empty());
  CHECK_FALSE(more);
  CHECK(seqs_of(db.read("r", 0, 100)) == seqs{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});  // no has_more ptr
}

TEST_CASE("storage: read_last returns the newest n in seq order", "[storage]") {
  temp_dir dir;
  store db{dir.str(), no_sync};
  CHECK(db.read_last("r", 5).empty());
  fill(db, "r", 10);
  fill(db, "s", 2);  // a neighbour log sorting after "r"
  CHECK(seqs_of(db.read_last("r", 3)) == seqs{8, 9, 10});
  CHECK(values_of(db.read_last("r", 1)) == std::vector<std::string>{"v10"});
  CHECK(db.read_last("r", 100).size() == 10);
  CHECK(db.read_last("r", 0).empty());
  CHECK(seqs_of(db.read_last("s", 5)) == seqs{1, 2});
}

TEST_CASE("storage: log names containing '/' or '%' do not collide", "[storage]") {
  temp_dir dir;
  const std::vector<std::string> names{"a", "a/b", "a/", "a%2Fb", "a%", "a0", "a/b/c", "", "b", "a\0b"s, "a\xff"};
  {
    store db{dir.str(), no_sync};
    for (int round = 1; round <= 3; ++round)
      for (const auto& n : names)
        CHECK(db.append({{n, n + "#" + std::to_string(round)}}) == seqs{static_cast<std::uint64_t>(round)});
  }
  store db{dir.str(), no_sync};  // reopen: last seqs come from the DB, not the cache
  for (const auto& n : names) {
    CAPTURE(n);
    CHECK(db.last_seq(n) == 3);
    CHECK(db.first_seq(n) == 1);
    CHECK(values_of(db.read(n, 0, 100)) == std::vector<std::string>{n + "#1", n + "#2", n + "#3"});
    CHECK(values_of(db.read_last(n, 100)) == std::vector<std::string>{n + "#1", n + "#2", n + "#3"});
  }
  CHECK(db.prune_before("a", 4) == 3);
  CHECK(db.first_seq("a") == 0);
  CHECK(db.read("a/b", 0, 10).size() == 3);
  CHECK(db.read("a/", 0, 10).size() == 3);
  CHECK(db.scan("").empty());  // logs are not in the kv space
}

TEST_CASE("storage: big-endian seqs order past 255/256 and 65535/65536", "[storage]") {
  temp_dir dir;
  store db{dir.str(), no_sync};
  fill(db, "big", 40000);
  fill(db, "big", 30000);  // second batch continues at 40001
  CHECK(db.last_seq("big") == 70000);
  CHECK(seqs_of(db.read("big", 254, 4)) == seqs{255, 256, 257, 258});
  CHECK(seqs_of(db.read("big", 65534, 3)) == seqs{65535, 65536, 65537});
  CHECK(db.read("big", 65535, 1).front().value == "v25536");  // 65536 - 40000
  CHECK(seqs_of(db.read_last("big", 2)) == seqs{69999, 70000});
  const auto all = db.read("big", 0, 100000);
  REQUIRE(all.size() == 70000);
  bool in_order = true;
  for (std::size_t i = 0; i < all.size(); ++i) in_order = in_order && all[i].seq == i + 1;
  CHECK(in_order);
}

TEST_CASE("storage: prune_before moves first_seq and never reuses seqs", "[storage]") {
  temp_dir dir;
  {
    store db{dir.str(), no_sync};
    fill(db, "p", 10);
    fill(db, "p/x", 5);
    CHECK(db.prune_before("p", 1) == 0);
    CHECK(db.prune_before("p", 4) == 3);
    CHECK(db.first_seq("p") == 4);
    CHECK(db.last_seq("p") == 10);
    CHECK(seqs_of(db.read("p", 0, 3)) == seqs{4, 5, 6});
    CHECK(db.read_last("p", 100).size() == 7);
    CHECK(db.prune_before("p", 2) == 0);   // already gone
    CHECK(db.prune_before("p", 11) == 7);  // everything
    CHECK(db.first_seq("p") == 0);
    CHECK(db.last_seq("p") == 10);  // the high-water mark stays
    CHECK(db.read("p", 0, 10).empty());
    CHECK(db.read_last("p", 10).empty());
    CHECK(db.prune_before("p", 100) == 0);
    CHECK(seqs_of(db.read("p/x", 0, 10)) == seqs{1, 2, 3, 4, 5});  // untouched
  }
  store db{dir.str(), no_sync};
  CHECK(db.last_seq("p") == 10);  // survives reopen with no entries left
  CHECK(db.append({{"p", "next"}}) == seqs{11});
  CHECK(db.first_seq("p") == 11);
  CHECK(db.prune_before("p", UINT64_MAX) == 1);
}

TEST_CASE("storage: kv put, get, erase and scan", "[storage]") {
  temp_dir dir;
  store db{dir.str(), no_sync};
  CHECK_FALSE(db.get("missing").has_value());
  db.put("s/1", "one");
  db.put("s/2", "two");
  db.put("s0", "after");
  db.put("r", "before");
  db.put("s/\xff\xff", "high");
  db.put("bin", "\0\x01"s);
  db.append({{"s/1", "a log, not a key"}});
  CHECK(db.get("s/1") == std::optional<std::string>{"one"});
  CHECK(db.get("bin") == std::optional<std::string>{"\0\x01"s});
  db.put("s/1", "uno");  // overwrite
  CHECK(db.get("s/1") == std::optional<std::string>{"uno"});
  using kvs = std::vector<std::pair<std::string, std::string>>;
  CHECK(db.scan("s/") == kvs{{"s/1", "uno"}, {"s/2", "two"}, {"s/\xff\xff", "high"}});
  CHECK(db.scan("s/\xff") == kvs{{"s/\xff\xff", "high"}});
  CHECK(db.scan("s").size() == 4);
  CHECK(db.scan("").size() == 6);
  CHECK(db.scan("zzz").empty());
  db.erase("s/2");
  db.erase("never-there");
  CHECK_FALSE(db.get("s/2").has_value());
  CHECK(db.scan("s/") == kvs{{"s/1", "uno"}, {"s/\xff\xff", "high"}});
}

TEST_CASE("storage: opening a locked directory throws a clear message", "[storage]") {
  temp_dir dir;
  SECTION("locked by another store in this process") {
    store first{dir.str(), no_sync};
    try {
      store second{dir.str(), no_sync};
      FAIL("the second open succeeded");
    } catch (const std::runtime_error& e) {
      const std::string msg = e.what();
      CAPTURE(msg);
      CHECK(msg.find(dir.str()) != std::string::npos);
      CHECK(msg.find("lock") != std::string::npos);
    }
  }
  SECTION("locked by another process") {
    std::filesystem::create_directories(dir.path);
    const auto lock_path = (dir.path / "LOCK").string();
    int ready[2], release[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(release) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {  // child: hold the same fcntl lock RocksDB takes, until released
      ::close(ready[0]);
      ::close(release[1]);  // else the read below never sees EOF
      int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT, 0644);
      struct flock fl {};
      fl.l_type = F_WRLCK;
      fl.l_whence = SEEK_SET;
      char c = (fd >= 0 && ::fcntl(fd, F_SETLK, &fl) == 0) ? 'y' : 'n';
      (void)!::write(ready[1], &c, 1);
      (void)!::read(release[0], &c, 1);
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(release[0]);
    char c = 0;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    REQUIRE(c == 'y');
    std::string msg;
    try {
      store db{dir.str(), no_sync};
    } catch (const std::runtime_error& e) {
      msg = e.what();
    }
    ::close(release[1]);  // let the child go
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(ready[0]);
    CAPTURE(msg);
    CHECK(msg.find("cannot open") != std::string::npos);
    CHECK(msg.find(dir.str()) != std::string::npos);
    CHECK(msg.find("LOCK") != std::string::npos);
    store db{dir.str(), no_sync};  // free again
  }
  SECTION("a path that cannot be a directory") {
    CHECK_THROWS_WITH(store("/dev/null/hub-db", no_sync),
                      Catch::Contains("/dev/null/hub-db") && Catch::Contains("cannot open"));
  }
}

TEST_CASE("storage: a failed append writes nothing and does not advance seqs", "[storage]") {
  temp_dir dir;
  store db{dir.str(), no_sync};
  fill(db, "f", 2);
  db.inject_write_faults(true);
  CHECK_THROWS_WITH(db.append({{"f", "x"}, {"g", "y"}}), Catch::Contains("injected"));
  CHECK_THROWS(db.put("k", "v"));
  CHECK_THROWS(db.prune_before("f", 2));
  CHECK(db.last_seq("f") == 2);
  CHECK(db.last_seq("g") == 0);
  db.inject_write_faults(false);
  CHECK(db.append({{"f", "x"}, {"g", "y"}}) == seqs{3, 1});
  CHECK(db.read("f", 0, 10).size() == 3);
  CHECK_FALSE(db.get("k").has_value());
}

TEST_CASE("bench: storage synced batch cost", "[storage][.bench]") {
  temp_dir dir;
  store db{dir.str()};
  for (std::size_t batch : {1u, 10u, 100u}) {
    const int rounds = 50;
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < rounds; ++r) {
      std::vector<store::append_item> items(batch, {"bench", std::string(200, 'x')});
      db.append(items);
    }
    const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count() / rounds;
    WARN("synced batch of " << batch << ": " << us << " us");
  }
}

TEST_CASE("storage: recover() proves writes work with a probe; nothing to resume is no error", "[storage][health]") {
  temp_dir dir;
  store db{dir.str(), no_sync};
  fill(db, "r", 2);
  CHECK_FALSE(db.recover().has_value());  // healthy: Resume() has nothing to do, the probe lands
  db.inject_write_faults(true);
  auto why = db.recover();
  REQUIRE(why.has_value());
  CHECK_THAT(*why, Catch::Contains("probe") && Catch::Contains("injected"));
  db.inject_write_faults(false);
  CHECK_FALSE(db.recover().has_value());
  CHECK(db.append({{"r", "x"}}) == seqs{3});  // seqs unaffected by the probe
}
