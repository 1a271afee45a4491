// The chat room actor (apps/hub/chat_room_actor.cpp) on CAF's test coordinator with
// virtual time: a real RocksDB store behind a non-detached storage actor, broadcasts
// observed through recorder-outlet connections in group:<p> / user:<id> rooms of
// namespace "/". See tests/unit/support/hub_fixture.hpp. No sleeping.
#include "apps/hub/chat_room_actor.hpp"
#include "apps/hub/hub_messages.hpp"
#include "storage/storage_actor.hpp"
#include "storage/store.hpp"
#include "tests/unit/support/hub_fixture.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using hub::json;
using hub::test::hub_fixture;
using hub::test::received_event;
using hub::test::sio_client;

namespace {

using post_log = hub_fixture::post_log;

std::vector<std::string> names(const std::vector<received_event>& evs) {
  std::vector<std::string> out;
  for (const auto& e : evs) out.push_back(e.name);
  return out;
}

using strings = std::vector<std::string>;

json typing_payload(const std::string& user, const std::string& name) {
  return json{{"userId", user}, {"userName", name}};
}
json stopped_payload(const std::string& user) { return json{{"userId", user}}; }

json online(std::initializer_list<std::pair<const char*, const char*>> users) {
  json a = json::array();
  for (const auto& [id, name] : users) a.push_back(json{{"userId", id}, {"userName", name}});
  return a;
}

bool is_iso8601_ms(const std::string& s) {
  static const std::regex re(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");
  return std::regex_match(s, re);
}

std::chrono::system_clock::time_point utc(std::int64_t epoch_seconds, std::int64_t micros = 0) {
  return std::chrono::system_clock::time_point{} + std::chrono::seconds(epoch_seconds) +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::microseconds(micros));
}

// A room with: alice on two tabs, bob, carol (all in group:p1), and an outsider (carol2
// in group:p2 only). Connections in user:<id> rooms as the hub app does.
struct room_fixture : hub_fixture {
  sio_client& alice1 = connection("alice", {"p1"});
  sio_client& alice2 = connection("alice", {"p1"});
  sio_client& bob = connection("bob", {"p1"});
  sio_client& carol = connection("carol", {"p1"});
  sio_client& outsider = connection("dave", {"p2"});
  hub::chat_room_actor room = spawn_room("p1", 3s);
  std::shared_ptr<post_log> posts = std::make_shared<post_log>();

  room_fixture() { run(); }

  void typing(const std::string& user, const std::string& name) {
    caf::anon_send(room, hub::typing_atom::value, user, name);
    run();
  }
  void stop_typing(const std::string& user) {
    caf::anon_send(room, hub::stop_typing_atom::value, user);
    run();
  }
  void present(const std::string& user, const std::string& name) {
    caf::anon_send(room, hub::present_atom::value, user, name);
    run();
  }
  void absent(const std::string& user) {
    caf::anon_send(room, hub::absent_atom::value, user);
    run();
  }

  // What each connection heard since the last take (consumed).
  using heard_map = std::map<std::string, std::vector<received_event>>;
  heard_map heard() {
    return {{"alice1", events(alice1)},
            {"alice2", events(alice2)},
            {"bob", events(bob)},
            {"carol", events(carol)},
            {"outsider", events(outsider)}};
  }

  // Everyone heard nothing since the last take.
  bool all_quiet() {
    bool quiet = true;
    for (const auto& [conn, evs] : heard()) quiet = quiet && evs.empty();
    return quiet;
  }

  // Exactly the group's connections other than `actor`'s (all its tabs) heard
  // `expected` since the last take, each event with `payload` if given; nobody else
  // heard anything.
  void check_others_heard(const std::string& actor, const strings& expected,
                          const std::optional<json>& payload = std::nullopt) {
    for (const auto& [conn, evs] : heard()) {
      INFO("connection " << conn << ", acting user " << actor);
      const bool other = conn != "outsider" && conn.rfind(actor, 0) != 0;
      if (!other) {
        CHECK(names(evs) == strings{});
        continue;
      }
      CHECK(names(evs) == expected);
      if (payload)
        for (const auto& e : evs) CHECK(e.payload() == *payload);
    }
  }
};

}  // namespace

// -- helpers ---------------------------------------------------------------------------------

TEST_CASE("actors: chat room iso8601 formats UTC with milliseconds like toISOString", "[actors][chat_room]") {
  CHECK(hub::iso8601(utc(1767323045, 678000)) == "2026-01-02T03:04:05.678Z");
  CHECK(hub::iso8601(utc(0)) == "1970-01-01T00:00:00.000Z");
  CHECK(hub::iso8601(utc(1767323045, 5000)) == "2026-01-02T03:04:05.005Z");    // padded
  CHECK(hub::iso8601(utc(1767323045, 678999)) == "2026-01-02T03:04:05.678Z");  // truncated
  CHECK(hub::iso8601(utc(1709251199, 999000)) == "2024-02-29T23:59:59.999Z");  // leap day
  CHECK(hub::iso8601(utc(946684799, 999999)) == "1999-12-31T23:59:59.999Z");
  CHECK(hub::iso8601(utc(4107542400)) == "2100-03-01T00:00:00.000Z");  // > 2038
}

TEST_CASE("actors: chat room message_from_log builds the client message from a log entry", "[actors][chat_room]") {
  json stored = {{"projectId", "p1"},
                 {"senderId", "u1"},
                 {"senderName", "Ann"},
                 {"content", "hi"},
                 {"createdAt", "2026-01-02T03:04:05.678Z"}};

  SECTION("all fields, seq from the log, in the documented order") {
    json m = hub::message_from_log(7, stored.dump());
    strings keys;
    for (const auto& [k, v] : m.items()) keys.push_back(k);
    CHECK(keys == strings{"id", "seq", "projectId", "senderId", "senderName", "content", "createdAt"});
    CHECK(m["id"] == "p1:7");  // derived from the project and the log's seq
    CHECK(m["seq"] == 7);
    CHECK(m["projectId"] == "p1");
    CHECK(m["senderId"] == "u1");
    CHECK(m["senderName"] == "Ann");
    CHECK(m["content"] == "hi");
    CHECK(m["createdAt"] == "2026-01-02T03:04:05.678Z");
  }
  SECTION("a seq or id inside the stored value does not override the log's") {
    json s = stored;
    s["seq"] = 99;
    s["id"] = "other";
    CHECK(hub::message_from_log(3, s.dump())["seq"] == 3);
    CHECK(hub::message_from_log(3, s.dump())["id"] == "p1:3");
  }
  SECTION("replyTo is kept as stored; null is left out") {
    json s = stored;
    s["replyTo"] = "p1:1";
    CHECK(hub::message_from_log(2, s.dump())["replyTo"] == "p1:1");
    s["replyTo"] = nullptr;
    CHECK_FALSE(hub::message_from_log(1, s.dump()).contains("replyTo"));
  }
  SECTION("missing fields become empty strings") {
    json m = hub::message_from_log(2, R"({"projectId":"x"})");
    CHECK(m["id"] == "x:2");
    CHECK(m["seq"] == 2);
    CHECK(m["content"] == "");
    CHECK(m["senderName"] == "");
  }
  SECTION("a value that is not a JSON object gives an empty object") {
    CHECK(hub::message_from_log(1, "not json") == json::object());
    CHECK(hub::message_from_log(1, "[1,2]") == json::object());
  }
}

TEST_CASE("actors: chat room message_seq accepts only ids of its own room", "[actors][chat_room]") {
  CHECK(hub::message_seq("p1", "p1:7") == 7u);
  CHECK(hub::message_seq("a:b", "a:b:12") == 12u);  // the last colon splits
  CHECK_FALSE(hub::message_seq("p1", "p2:7"));
  CHECK_FALSE(hub::message_seq("p1", "p11:7"));
  CHECK_FALSE(hub::message_seq("p11", "p1:7"));
  CHECK_FALSE(hub::message_seq("p1", "p1:0"));
  CHECK_FALSE(hub::message_seq("p1", "p1:"));
  CHECK_FALSE(hub::message_seq("p1", "p1:7x"));
  CHECK_FALSE(hub::message_seq("p1", "p1:-7"));
  CHECK_FALSE(hub::message_seq("p1", "p1:99999999999999999999999"));
  CHECK_FALSE(hub::message_seq("p1", 7));
  CHECK_FALSE(hub::message_seq("p1", json()));
}

// -- posting ---------------------------------------------------------------------------------

TEST_CASE_METHOD(room_fixture, "actors: chat room post appends, broadcasts new-message to the whole group, acks",
                 "[actors][chat_room]") {
  const auto before = std::chrono::system_clock::now();
  post(room, posts, "alice", "Alice", "hello");
  run();

  // The done callback: ok + the stored message.
  REQUIRE(posts->results.size() == 1);
  const auto& r = posts->results[0];
  CHECK(r.ok);
  const json& m = r.message;
  strings keys;
  for (const auto& [k, v] : m.items()) keys.push_back(k);
  CHECK(keys == strings{"id", "seq", "projectId", "senderId", "senderName", "content", "createdAt"});
  CHECK(m["id"] == "p1:1");  // <projectId>:<seq>
  CHECK(m["seq"] == 1);
  CHECK(m["projectId"] == "p1");
  CHECK(m["senderId"] == "alice");
  CHECK(m["senderName"] == "Alice");
  CHECK(m["content"] == "hello");
  const auto created = m["createdAt"].get<std::string>();
  CHECK(is_iso8601_ms(created));
  // Wall clock (not virtual): between just before the post and a minute later.
  CHECK(created >= hub::iso8601(before - 1ms));
  CHECK(created <= hub::iso8601(std::chrono::system_clock::now() + 60s));

  // Durable: in the room's log at seq 1, without the seq.
  auto entries = db->read(hub::keys::room_log("p1"), 0, 10);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].seq == 1);
  json stored = json::parse(entries[0].value);
  CHECK_FALSE(stored.contains("seq"));
  CHECK(hub::message_from_log(1, entries[0].value) == m);

  // new-message to every connection in group:p1, the sender's tabs included.
  for (auto* c : {&alice1, &alice2, &bob, &carol}) {
    auto evs = hub_fixture::events(*c);
    REQUIRE(names(evs) == strings{"new-message"});
    CHECK(evs[0].args.size() == 1);
    CHECK(evs[0].payload() == m);
  }
  CHECK(outsider.take_texts().empty());
}

TEST_CASE_METHOD(room_fixture, "actors: chat room three posts get seqs 1, 2, 3 in order", "[actors][chat_room]") {
  post(room, posts, "alice", "Alice", "one");
  post(room, posts, "bob", "Bob", "two");
  post(room, posts, "alice", "Alice", "three");
  run();

  REQUIRE(posts->results.size() == 3);
  std::set<std::string> ids;
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(posts->results[i].ok);
    CHECK(posts->results[i].message["seq"] == i + 1);
    ids.insert(posts->results[i].message["id"].get<std::string>());
  }
  CHECK(ids == std::set<std::string>{"p1:1", "p1:2", "p1:3"});
  CHECK(posts->results[0].message["content"] == "one");
  CHECK(posts->results[1].message["content"] == "two");
  CHECK(posts->results[1].message["senderId"] == "bob");
  CHECK(posts->results[2].message["content"] == "three");
  CHECK_FALSE(posts->results[0].message.contains("replyTo"));

  // Broadcasts in seq order, identical to the acks.
  auto evs = hub_fixture::events(bob);
  REQUIRE(names(evs) == strings{"new-message", "new-message", "new-message"});
  for (std::size_t i = 0; i < 3; ++i) CHECK(evs[i].payload() == posts->results[i].message);

  auto entries = db->read(hub::keys::room_log("p1"), 0, 10);
  REQUIRE(entries.size() == 3);
  CHECK(json::parse(entries[2].value)["content"] == "three");
  CHECK(room_info_of(room)->last_seq == 3);
  CHECK(db->last_seq(hub::keys::room_log("p2")) == 0);  // other rooms' logs untouched
}

TEST_CASE_METHOD(room_fixture, "actors: chat room a restarted room continues the seq", "[actors][chat_room]") {
  post(room, posts, "alice", "Alice", "one");
  post(room, posts, "alice", "Alice", "two");
  post(room, posts, "alice", "Alice", "three");
  run();
  REQUIRE(posts->results.size() == 3);
  CHECK(posts->results[2].message["seq"] == 3);

  SECTION("room actor restarted on the same storage actor") {
    stop(room);
    room = spawn_room("p1");
    run();
    CHECK(room_info_of(room)->last_seq == 3);
    post(room, posts, "bob", "Bob", "four");
    run();
    REQUIRE(posts->results.size() == 4);
    CHECK(posts->results[3].ok);
    CHECK(posts->results[3].message["seq"] == 4);
    CHECK(room_info_of(room)->last_seq == 4);
  }
  SECTION("room, storage actor and store restarted (store reopened)") {
    stop(room);
    close_storage();
    open_storage();
    room = spawn_room("p1");
    run();
    CHECK(room_info_of(room)->last_seq == 3);
    post(room, posts, "bob", "Bob", "four");
    run();
    REQUIRE(posts->results.size() == 4);
    CHECK(posts->results[3].message["seq"] == 4);
    auto evs = hub_fixture::events(carol);
    REQUIRE(names(evs).size() == 4);
    CHECK(evs.back().payload()["seq"] == 4);
  }
}

TEST_CASE_METHOD(hub_fixture, "actors: chat room room_info right after spawn answers the stored last seq",
                 "[actors][chat_room]") {
  std::vector<hub::storage::store::append_item> items;
  for (int i = 0; i < 5; ++i) items.push_back({hub::keys::room_log("p1"), json{{"content", i}}.dump()});
  items.push_back({hub::keys::room_log("p2"), "{}"});
  db->append(items);

  auto room = spawn_room("p1");
  auto info = request_room_info(room);  // queued before the room ran at all
  run();
  REQUIRE(info->value);
  REQUIRE(*info->value);
  CHECK((*info->value)->last_seq == 5);
  CHECK((*info->value)->online == json::array());

  auto posts = std::make_shared<post_log>();
  post(room, posts, "u", "U", "six");
  run();
  REQUIRE(posts->results.size() == 1);
  CHECK(posts->results[0].message["seq"] == 6);
}

namespace {

using release_atom = caf::atom_constant<caf::atom("release")>;

struct held_storage_state {
  std::uint64_t last = 0;
  std::vector<caf::response_promise> held;
  std::size_t last_seq_requests = 0;
};

// A storage stand-in that holds back its first last_seq answer until `release`.
caf::behavior held_storage(caf::stateful_actor<held_storage_state>* self, std::uint64_t last) {
  self->state.last = last;
  return {
    [self](hub::storage::last_seq_atom, const std::string&) -> caf::result<std::uint64_t> {
      auto& s = self->state;
      if (s.last_seq_requests++ == 0) {
        auto rp = self->make_response_promise();
        s.held.push_back(rp);
        return rp;
      }
      return s.last;
    },
    [self](release_atom) {
      for (auto& rp : self->state.held) rp.deliver(self->state.last);
      self->state.held.clear();
    },
  };
}

}  // namespace

TEST_CASE_METHOD(hub_fixture, "actors: chat room room_info while the initial last-seq load is outstanding",
                 "[actors][chat_room]") {
  auto fake = sys.spawn(held_storage, std::uint64_t{42});
  // A partial stand-in: the compiler cannot check it against the interface.
  auto room = hub::spawn_chat_room(sys, "p1", caf::actor_cast<hub::storage::storage_actor>(fake), server->in("/"),
                                   hub::chat_room_config{});
  auto info = request_room_info(room);
  run();
  // The initial load is still held back: room_info waits rather than answer 0.
  CHECK_FALSE(info->value);

  caf::anon_send(fake, release_atom::value);
  run();
  REQUIRE(info->value);
  CHECK((*info->value)->last_seq == 42);
  CHECK(room_info_of(room)->last_seq == 42);

  caf::anon_send_exit(room, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(fake, caf::exit_reason::user_shutdown);
  room = hub::chat_room_actor{};
  fake = caf::actor{};
  drain();
}

TEST_CASE_METHOD(room_fixture, "actors: chat room a failed append acks a storage error and broadcasts nothing",
                 "[actors][chat_room]") {
  db->inject_write_faults(true);
  post(room, posts, "alice", "Alice", "lost");
  run();
  REQUIRE(posts->results.size() == 1);
  CHECK_FALSE(posts->results[0].ok);
  CHECK(posts->results[0].error == hub::app::error_code::storage);
  CHECK(all_quiet());

  db->inject_write_faults(false);
  post(room, posts, "alice", "Alice", "kept");
  run();
  REQUIRE(posts->results.size() == 2);
  CHECK(posts->results[1].ok);
  CHECK(posts->results[1].message["seq"] == 1);  // no gap for the failed one
  CHECK(names(hub_fixture::events(bob)) == strings{"new-message"});
}

// -- typing ----------------------------------------------------------------------------------

TEST_CASE_METHOD(room_fixture, "actors: chat room typing reaches the others, not the typist's tabs",
                 "[actors][chat_room][typing]") {
  typing("alice", "Alice");
  for (auto* c : {&bob, &carol}) {
    auto evs = hub_fixture::events(*c);
    REQUIRE(names(evs) == strings{"user-typing"});
    CHECK(evs[0].args.size() == 1);
    CHECK(evs[0].payload() == typing_payload("alice", "Alice"));
  }
  CHECK(alice1.take_texts().empty());
  CHECK(alice2.take_texts().empty());
  CHECK(outsider.take_texts().empty());

  // And the other way round: bob's typing reaches alice's two tabs, not bob.
  typing("bob", "Bob");
  CHECK(hub_fixture::events(alice1).at(0).payload() == typing_payload("bob", "Bob"));
  CHECK(names(hub_fixture::events(alice2)) == strings{"user-typing"});
  CHECK(names(hub_fixture::events(carol)) == strings{"user-typing"});
  CHECK(bob.take_texts().empty());
}

TEST_CASE_METHOD(room_fixture, "actors: chat room typing again within the timeout re-arms the expiry silently",
                 "[actors][chat_room][typing]") {
  typing("alice", "Alice");  // t = 0
  check_others_heard("alice", {"user-typing"}, typing_payload("alice", "Alice"));
  advance(2s);
  CHECK(elapsed() == 2000ms);
  typing("alice", "Alice");  // t = 2 s: no second user-typing
  CHECK(all_quiet());

  advance(1s);  // t = 3 s: the first expiry fires, stale
  CHECK(all_quiet());
  advance(1999ms);  // t = 4.999 s
  CHECK(all_quiet());
  advance(1ms);  // t = 5 s = last typing + 3 s
  CHECK(elapsed() == 5000ms);
  check_others_heard("alice", {"user-stopped-typing"}, stopped_payload("alice"));

  drain();  // no further timer says anything
  CHECK(all_quiet());
}

TEST_CASE_METHOD(hub_fixture, "actors: chat room typing expires exactly at the configured timeout",
                 "[actors][chat_room][typing]") {
  auto& bob = connection("bob", {"p1"});
  auto room = spawn_room("p1", 1500ms);
  run();
  caf::anon_send(room, hub::typing_atom::value, std::string("alice"), std::string("Alice"));
  run();
  CHECK(names(events(bob)) == strings{"user-typing"});
  advance(1499ms);
  CHECK(bob.take_texts().empty());
  advance(1ms);
  CHECK(names(events(bob)) == strings{"user-stopped-typing"});

  // After the expiry, typing is fresh again: user-typing once more.
  caf::anon_send(room, hub::typing_atom::value, std::string("alice"), std::string("Alice"));
  run();
  CHECK(names(events(bob)) == strings{"user-typing"});
  advance(1500ms);
  CHECK(elapsed() == 3000ms);
  CHECK(names(events(bob)) == strings{"user-stopped-typing"});
}

TEST_CASE_METHOD(room_fixture, "actors: chat room stop-typing stops at once; its timer stays silent",
                 "[actors][chat_room][typing]") {
  typing("alice", "Alice");
  advance(1s);
  check_others_heard("alice", {"user-typing"});
  stop_typing("alice");  // t = 1 s, no time passes
  CHECK(elapsed() == 1000ms);
  check_others_heard("alice", {"user-stopped-typing"}, stopped_payload("alice"));

  advance(5s);  // the expiry at t = 3 s finds nobody typing
  CHECK(all_quiet());
  stop_typing("alice");  // not typing: nothing to say
  stop_typing("nobody");
  CHECK(all_quiet());
}

TEST_CASE_METHOD(room_fixture, "actors: chat room a stale expiry does not end a later typing spell",
                 "[actors][chat_room][typing]") {
  typing("alice", "Alice");  // t = 0, expiry at 3 s
  advance(1s);
  stop_typing("alice");  // t = 1 s
  advance(1s);
  typing("alice", "Alice");  // t = 2 s: a new spell, expiry at 5 s
  check_others_heard("alice", {"user-typing", "user-stopped-typing", "user-typing"});
  advance(1s);  // t = 3 s: the first spell's expiry
  CHECK(all_quiet());
  advance(1999ms);
  CHECK(all_quiet());
  advance(1ms);  // t = 5 s
  check_others_heard("alice", {"user-stopped-typing"}, stopped_payload("alice"));
}

TEST_CASE_METHOD(room_fixture, "actors: chat room typists expire independently", "[actors][chat_room][typing]") {
  typing("alice", "Alice");  // t = 0
  advance(1s);
  typing("bob", "Bob");  // t = 1 s
  auto h = heard();
  REQUIRE(names(h["carol"]) == strings{"user-typing", "user-typing"});
  CHECK(h["carol"][0].payload() == typing_payload("alice", "Alice"));
  CHECK(h["carol"][1].payload() == typing_payload("bob", "Bob"));
  REQUIRE(names(h["alice1"]) == strings{"user-typing"});
  CHECK(h["alice1"][0].payload() == typing_payload("bob", "Bob"));
  CHECK(names(h["alice2"]) == strings{"user-typing"});
  REQUIRE(names(h["bob"]) == strings{"user-typing"});
  CHECK(h["bob"][0].payload() == typing_payload("alice", "Alice"));
  CHECK(h["outsider"].empty());

  advance(2s);  // t = 3 s: alice's expiry
  check_others_heard("alice", {"user-stopped-typing"}, stopped_payload("alice"));
  advance(999ms);
  CHECK(all_quiet());
  advance(1ms);  // t = 4 s: bob's
  check_others_heard("bob", {"user-stopped-typing"}, stopped_payload("bob"));
}

TEST_CASE_METHOD(room_fixture, "actors: chat room posting stops the poster's typing first",
                 "[actors][chat_room][typing]") {
  typing("alice", "Alice");
  check_others_heard("alice", {"user-typing"});
  post(room, posts, "alice", "Alice", "done typing");
  run();
  auto h = heard();
  CHECK(names(h["bob"]) == strings{"user-stopped-typing", "new-message"});
  CHECK(names(h["carol"]) == strings{"user-stopped-typing", "new-message"});
  CHECK(names(h["alice1"]) == strings{"new-message"});
  CHECK(names(h["alice2"]) == strings{"new-message"});
  CHECK(h["outsider"].empty());
  advance(10s);  // the expiry finds nobody typing
  CHECK(all_quiet());
}

// -- presence --------------------------------------------------------------------------------

TEST_CASE_METHOD(room_fixture, "actors: chat room the last connection leaving stops typing at once",
                 "[actors][chat_room][typing][presence]") {
  present("alice", "Alice");
  typing("alice", "Alice");
  advance(1s);
  check_others_heard("alice", {"user-joined", "user-typing"});
  absent("alice");
  CHECK(elapsed() == 1000ms);
  check_others_heard("alice", {"user-stopped-typing"}, stopped_payload("alice"));
  CHECK(room_info_of(room)->online == json::array());
  advance(4999ms);  // user-left waits for the presence grace (5 s)
  CHECK(all_quiet());
  advance(1ms);
  check_others_heard("alice", {"user-left"}, json{{"userId", "alice"}, {"userName", "Alice"}});
}

TEST_CASE_METHOD(room_fixture, "actors: chat room one of two connections leaving keeps presence and typing",
                 "[actors][chat_room][typing][presence]") {
  present("alice", "Alice");
  present("alice", "Alice");
  typing("alice", "Alice");
  check_others_heard("alice", {"user-joined", "user-typing"});
  absent("alice");
  CHECK(all_quiet());
  CHECK(room_info_of(room)->online == online({{"alice", "Alice"}}));
  advance(2999ms);
  CHECK(all_quiet());
  advance(1ms);  // typing ends by its timer, at 3 s
  check_others_heard("alice", {"user-stopped-typing"}, stopped_payload("alice"));
  absent("alice");
  CHECK(room_info_of(room)->online == json::array());
  CHECK(all_quiet());  // not typing any more: nothing to stop
}

TEST_CASE_METHOD(room_fixture,
                 "actors: chat room user-joined once, user-left after the grace, no flap on a quick return",
                 "[actors][chat_room][presence]") {
  const json alice{{"userId", "alice"}, {"userName", "Alice"}};
  present("alice", "Alice");
  run();
  check_others_heard("alice", {"user-joined"}, alice);
  present("alice", "Alice");  // a second tab: no second announcement
  run();
  CHECK(all_quiet());

  absent("alice");
  absent("alice");  // last connection gone at t=0
  advance(3s);
  CHECK(all_quiet());
  present("alice", "Alice");  // back within the 5 s grace (a reload): nothing at all
  advance(10s);
  CHECK(all_quiet());

  absent("alice");  // gone for good at t=13 s
  advance(4999ms);
  CHECK(all_quiet());
  advance(1ms);
  check_others_heard("alice", {"user-left"}, alice);
  present("alice", "Alice");  // a later return is a new join
  run();
  check_others_heard("alice", {"user-joined"}, alice);
}

TEST_CASE_METHOD(room_fixture, "actors: chat room presence counts connections, online is sorted",
                 "[actors][chat_room][presence]") {
  CHECK(room_info_of(room)->online == json::array());
  present("carol", "Carol");
  present("alice", "Alice");
  present("bob", "Bob");
  present("alice", "Alice B.");  // a second tab; the latest name wins
  CHECK(room_info_of(room)->online == online({{"alice", "Alice B."}, {"bob", "Bob"}, {"carol", "Carol"}}));

  absent("alice");  // one of two tabs
  CHECK(room_info_of(room)->online == online({{"alice", "Alice B."}, {"bob", "Bob"}, {"carol", "Carol"}}));
  absent("alice");
  CHECK(room_info_of(room)->online == online({{"bob", "Bob"}, {"carol", "Carol"}}));

  absent("alice");   // already gone: no effect, no negative count
  absent("nobody");  // never present
  CHECK(room_info_of(room)->online == online({{"bob", "Bob"}, {"carol", "Carol"}}));
  present("alice", "Alice");
  CHECK(room_info_of(room)->online == online({{"alice", "Alice"}, {"bob", "Bob"}, {"carol", "Carol"}}));
  absent("alice");  // one absent undoes one present
  absent("carol");
  CHECK(room_info_of(room)->online == online({{"bob", "Bob"}}));
  CHECK(room_info_of(room)->last_seq == 0);
}

// -- threads and reactions -------------------------------------------------------------------

namespace {

hub::json_ptr history(hub_fixture& f, const hub::chat_room_actor& room, std::uint64_t after, std::uint64_t limit,
                      std::uint64_t thread) {
  return std::get<0>(f.ask<hub::json_ptr>(room, hub::history_atom::value, after, limit, thread));
}

// A react answer as (ok, what the client is told: added, removed or the error code).
std::tuple<bool, std::string> reaction(const hub::react_result& r) {
  if (!r.ok) return {false, std::string(hub::app::to_string(r.error))};
  return {true, r.added ? "added" : "removed"};
}

}  // namespace

TEST_CASE_METHOD(room_fixture, "actors: chat room replies must name a message of the room; threads list them",
                 "[actors][chat_room]") {
  post(room, posts, "alice", "Alice", "root");
  run();
  // One at a time: a refusal answers at once, before earlier appends complete.
  post(room, posts, "bob", "Bob", "reply 1", "p1:1");
  run();
  post(room, posts, "bob", "Bob", "not a reply");
  run();
  post(room, posts, "carol", "Carol", "bad: future", "p1:99");
  run();
  post(room, posts, "carol", "Carol", "bad: other room", "p2:1");
  run();
  post(room, posts, "carol", "Carol", "bad: not an id", "1");
  run();
  post(room, posts, "carol", "Carol", "reply 2", "p1:1");
  run();
  REQUIRE(posts->results.size() == 7);
  CHECK(posts->results[1].ok);
  CHECK(posts->results[1].message["replyTo"] == "p1:1");
  for (std::size_t i : {3u, 4u, 5u}) {
    CHECK_FALSE(posts->results[i].ok);
    CHECK(posts->results[i].error == hub::app::error_code::invalid_reply_target);
  }
  CHECK(posts->results[6].message["seq"] == 4);  // refused posts took no seq

  auto page = history(*this, room, 0, 50, 0);
  REQUIRE((*page)["ok"] == true);
  const auto& msgs = (*page)["messages"];
  REQUIRE(msgs.size() == 4);
  CHECK(msgs[0]["replyCount"] == 2);
  CHECK(msgs[1]["replyCount"] == 0);
  CHECK(msgs[0]["reactions"] == json::object());

  auto thread = history(*this, room, 0, 50, 1);
  REQUIRE((*thread)["ok"] == true);
  CHECK((*thread)["root"]["content"] == "root");
  CHECK((*thread)["root"]["replyCount"] == 2);
  REQUIRE((*thread)["messages"].size() == 2);
  CHECK((*thread)["messages"][0]["content"] == "reply 1");
  CHECK((*thread)["messages"][1]["content"] == "reply 2");
  CHECK((*thread)["hasMore"] == false);
  // Paged by room seq.
  auto first = history(*this, room, 0, 1, 1);
  CHECK((*first)["messages"].size() == 1);
  CHECK((*first)["hasMore"] == true);
  auto rest = history(*this, room, 2, 50, 1);
  REQUIRE((*rest)["messages"].size() == 1);
  CHECK((*rest)["messages"][0]["content"] == "reply 2");
  // A thread of a message that does not exist.
  CHECK((*history(*this, room, 0, 50, 9))["error"] == "not_found");
}

TEST_CASE_METHOD(room_fixture, "actors: chat room reactions toggle, reach the whole room, survive a restart",
                 "[actors][chat_room]") {
  post(room, posts, "alice", "Alice", "hello");
  run();
  heard();
  using result = std::tuple<bool, std::string>;
  auto react = [&](const std::string& user, std::uint64_t seq, const std::string& emoji) {
    return reaction(std::get<0>(ask<hub::react_result>(room, hub::react_atom::value, user, seq, emoji)));
  };
  CHECK(react("bob", 1, "👍") == result{true, "added"});
  CHECK(react("carol", 1, "👍") == result{true, "added"});
  CHECK(react("alice", 1, "🎉") == result{true, "added"});
  auto h = heard();
  for (const auto& conn : {"alice1", "alice2", "bob", "carol"}) {
    INFO(conn);
    REQUIRE(names(h[conn]) == strings{"message-reaction", "message-reaction", "message-reaction"});
    CHECK(h[conn][0].payload() ==
          json{{"projectId", "p1"}, {"messageId", "p1:1"}, {"userId", "bob"}, {"emoji", "👍"}, {"action", "added"}});
  }
  CHECK(h["outsider"].empty());
  CHECK(react("bob", 1, "👍") == result{true, "removed"});
  CHECK(heard()["carol"][0].payload()["action"] == "removed");
  CHECK(react("bob", 7, "👍") == result{false, "not_found"});

  auto counts = [&] { return (*history(*this, room, 0, 50, 0))["messages"][0]["reactions"]; };
  CHECK(counts() == json{{"🎉", 1}, {"👍", 1}});
  stop(room);
  room = spawn_room("p1");
  run();
  CHECK(counts() == json{{"🎉", 1}, {"👍", 1}});
  // The reloaded state still toggles right.
  CHECK(react("carol", 1, "👍") == result{true, "removed"});
  CHECK(counts() == json{{"🎉", 1}});
}

TEST_CASE_METHOD(room_fixture, "actors: chat room caps the different emoji on one message", "[actors][chat_room]") {
  post(room, posts, "alice", "Alice", "hello");
  run();
  heard();
  using result = std::tuple<bool, std::string>;
  auto react = [&](const std::string& user, const std::string& emoji) {
    return reaction(std::get<0>(ask<hub::react_result>(room, hub::react_atom::value, user, std::uint64_t{1}, emoji)));
  };
  const std::size_t cap = hub::chat_room_config{}.max_distinct_reactions;
  auto nth = [](std::size_t i) { return "e" + std::to_string(i); };  // the room does not parse emoji
  for (std::size_t i = 0; i < cap; ++i) REQUIRE(react("bob", nth(i)) == result{true, "added"});
  CHECK(react("carol", "one too many") == result{false, "too_many_reactions"});
  CHECK(react("carol", nth(0)) == result{true, "added"});  // existing ones still toggle
  CHECK(react("bob", nth(1)) == result{true, "removed"});  // a slot is free again
  CHECK(react("carol", "one too many") == result{true, "added"});
  heard();
}

// -- durability edges: answered and announced only once stored -----------------------------

TEST_CASE_METHOD(room_fixture, "actors: chat room mark-read answers and announces only once the marker is stored",
                 "[actors][chat_room][durability]") {
  using marker = std::tuple<bool, std::uint64_t>;
  post(room, posts, "bob", "Bob", "one");
  post(room, posts, "bob", "Bob", "two");
  run();
  heard();  // the new-messages
  const auto key = hub::keys::read_marker("p1", "alice");

  CHECK(ask<bool, std::uint64_t>(room, hub::mark_read_atom::value, std::string{"alice"}, std::uint64_t{1}) ==
        marker{true, 1});
  check_others_heard("alice", {"message-read"});
  CHECK(db->get(key) == std::optional<std::string>{"1"});

  // Storage fails: the requester gets the error, nobody hears message-read, and the
  // marker (stored and in memory) stays where it was.
  db->inject_write_faults(true);
  CHECK_THROWS_WITH(
    (ask<bool, std::uint64_t>(room, hub::mark_read_atom::value, std::string{"alice"}, std::uint64_t{2})),
    Catch::Contains("injected"));
  CHECK(all_quiet());
  CHECK(db->get(key) == std::optional<std::string>{"1"});
  db->inject_write_faults(false);
  CHECK(std::get<0>(ask<hub::room_info_ptr>(room, hub::room_info_atom::value, std::string{"alice"}))->last_read_seq ==
        1);

  // The retry lands; a marker never goes backwards (and a backwards request announces nothing).
  CHECK(ask<bool, std::uint64_t>(room, hub::mark_read_atom::value, std::string{"alice"}, std::uint64_t{2}) ==
        marker{true, 2});
  check_others_heard("alice", {"message-read"});
  CHECK(db->get(key) == std::optional<std::string>{"2"});
  CHECK(ask<bool, std::uint64_t>(room, hub::mark_read_atom::value, std::string{"alice"}, std::uint64_t{1}) ==
        marker{true, 2});
  CHECK(all_quiet());
}

TEST_CASE_METHOD(room_fixture, "actors: chat room mark-reads of one user are stored one at a time, in order",
                 "[actors][chat_room][durability]") {
  for (int i = 0; i < 5; ++i) post(room, posts, "bob", "Bob", "m" + std::to_string(i));
  run();
  heard();
  // Five marks in flight at once, the last one backwards: each answer is the marker
  // after it, and the stored marker is the highest.
  auto answers = std::make_shared<std::vector<std::uint64_t>>();
  sys.spawn([room = room, answers](caf::event_based_actor* self) {
    for (std::uint64_t seq : {1, 3, 2, 5, 4})
      self->request(room, caf::infinite, hub::mark_read_atom::value, std::string{"alice"}, seq)
        .then([answers](bool, std::uint64_t now) { answers->push_back(now); });
  });
  run();
  CHECK(*answers == std::vector<std::uint64_t>{1, 3, 3, 5, 5});
  CHECK(db->get(hub::keys::read_marker("p1", "alice")) == std::optional<std::string>{"5"});
  for (const auto& [conn, evs] : heard())
    if (conn == "bob" || conn == "carol") CHECK(names(evs) == strings{"message-read", "message-read", "message-read"});
}

TEST_CASE_METHOD(room_fixture,
                 "actors: chat room a join is answered once its membership is stored, else with the error",
                 "[actors][chat_room][durability]") {
  auto stored_members = [&] {
    std::set<std::string> out;
    for (const auto& row : db->scan(hub::keys::members_prefix("p1")))
      out.insert(row.first.substr(hub::keys::members_prefix("p1").size()));
    return out;
  };
  db->inject_write_faults(true);
  present("erin", "Erin");
  CHECK_THROWS_WITH(ask<hub::room_info_ptr>(room, hub::room_info_atom::value, std::string{"erin"}),
                    Catch::Contains("injected"));
  CHECK(stored_members().count("erin") == 0);

  // The join's retry stores it (the presence did not, but the answer waits for it).
  db->inject_write_faults(false);
  auto info = std::get<0>(ask<hub::room_info_ptr>(room, hub::room_info_atom::value, std::string{"erin"}));
  CHECK(info->last_seq == 0);
  CHECK(stored_members().count("erin") == 1);
  // Absent members get chat notifications only once they are stored members: erin now does.
  present("frank", "Frank");
  CHECK(stored_members() == std::set<std::string>{"erin", "frank"});
}

// -- a room on a cluster's shared log (log_feed.hpp) ----------------------------------------------

namespace {

// A room whose log other nodes append to as well: entries come from the log feed, in any
// order, some never (lost while pub/sub reconnected). The fixture's store stands in for
// the shared engine: store() is another node's append, feed() its publication.
struct shared_room_fixture : hub_fixture {
  sio_client& bob = connection("bob", {"p1"});
  hub::chat_room_actor room;
  std::map<std::uint64_t, std::string> stored;

  shared_room_fixture() {
    hub::chat_room_config c;
    c.shared_log = true;
    room = spawn_room_with("p1", c);
    run();
    events(bob);
  }
  std::uint64_t store(const std::string& content) {
    json v{{"projectId", "p1"}, {"senderId", "carol"}, {"senderName", "Carol"}, {"content", content},
           {"createdAt", "2026-12-07T00:00:00.000Z"}};
    auto seq = db->append({{hub::keys::room_log("p1"), v.dump()}}).at(0);
    stored[seq] = v.dump();
    return seq;
  }
  void feed(std::uint64_t seq, const std::string& epoch = "e1") {
    caf::anon_send(room, hub::log_entry_atom::value, epoch, seq, stored.at(seq));
    run();
  }
  // The seqs of the new-message events bob got since the last call.
  std::vector<std::uint64_t> delivered() {
    std::vector<std::uint64_t> out;
    for (const auto& e : events(bob))
      if (e.name == "new-message") out.push_back(e.args.at(0)["seq"].get<std::uint64_t>());
    return out;
  }
};

using seq_list = std::vector<std::uint64_t>;

}  // namespace

TEST_CASE_METHOD(shared_room_fixture, "shared log: entries out of order or lost are delivered in seq order, once",
                 "[actors][chat][cluster]") {
  for (int i = 1; i <= 3; ++i) store("m" + std::to_string(i));
  feed(1);
  CHECK(delivered() == seq_list{1});
  feed(1);  // a repeat
  CHECK(delivered().empty());
  feed(3);  // 2 overtaken: 3 waits while 2 is read from the log
  CHECK(delivered() == seq_list{2, 3});
  feed(2);  // 2's own publication, late: already delivered
  CHECK(delivered().empty());
  for (int i = 4; i <= 6; ++i) store("m" + std::to_string(i));
  feed(6);  // 4 and 5 lost: filled from the log
  CHECK(delivered() == seq_list{4, 5, 6});
  // The link came back: what was stored meanwhile and never published is caught up.
  store("m7");
  store("m8");
  caf::anon_send(room, hub::resync_atom::value);
  run();
  CHECK(delivered() == seq_list{7, 8});
  feed(8);
  CHECK(delivered().empty());
}

TEST_CASE_METHOD(shared_room_fixture, "shared log: this node's own post goes out once, whichever copy comes first",
                 "[actors][chat][cluster]") {
  auto post = [&](const std::string& content) {
    auto p = std::make_shared<hub::chat_post>();
    p->user_id = "bob";
    p->user_name = "Bob";
    p->content = content;
    caf::anon_send(room, hub::post_atom::value, hub::chat_post_ptr(p));
    run();
  };
  post("mine");
  CHECK(delivered() == seq_list{1});
  // Its publication, back from the engine: a repeat.
  caf::anon_send(room, hub::log_entry_atom::value, std::string("e1"), std::uint64_t{1},
                 db->read(hub::keys::room_log("p1"), 0, 1).at(0).value);
  run();
  CHECK(delivered().empty());
  // Another node's entry stored before this node's next post: the post's seq is 3, and 2
  // is read from the log first.
  store("theirs");
  post("mine again");
  CHECK(delivered() == seq_list{2, 3});
}

TEST_CASE_METHOD(shared_room_fixture, "shared log: a new epoch (the engine lost its data) starts the seqs again",
                 "[actors][chat][cluster]") {
  store("a");
  store("b");
  feed(1, "e1");
  feed(2, "e1");
  CHECK(delivered() == seq_list{1, 2});
  auto v = json{{"projectId", "p1"}, {"senderId", "carol"}, {"senderName", "Carol"}, {"content", "after"},
                {"createdAt", "2026-12-07T00:00:01.000Z"}}.dump();
  // A stray publication with an epoch the storage does not have: ignored (no replay).
  caf::anon_send(room, hub::log_entry_atom::value, std::string("e-stray"), std::uint64_t{1}, v);
  run();
  CHECK(delivered().empty());
  // The engine was wiped: its seqs start at 1 again under a new epoch, which it holds.
  db->prune_before(hub::keys::room_log("p1"), 3);
  db->put(hub::keys::epoch(), "e2");
  stored.clear();
  caf::anon_send(room, hub::log_entry_atom::value, std::string("e2"), std::uint64_t{1}, v);
  run();
  CHECK(delivered() == seq_list{1});
}
