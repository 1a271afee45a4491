// The hub's payload parsers at and just past each of their limits, and the names it
// builds for Socket.IO rooms and storage (each parse undoes its build).
#include "apps/hub/hub_messages.hpp"
#include "apps/hub/log_feed.hpp"
#include "apps/hub/payloads.hpp"
#include "storage/keys.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace hub;
using namespace hub::app;

TEST_CASE("payloads: ids are strings or integers, 1..max_id_length, bare or in an object", "[hub][payloads]") {
  CHECK(id_from(json("p1"), "projectId") == "p1");
  CHECK(id_from(json(42), "projectId") == "42");
  CHECK(id_from(json{{"projectId", "p1"}}, "projectId") == "p1");
  CHECK(id_from(json{{"projectId", -7}}, "projectId") == "-7");
  CHECK(id_from(json(std::string(max_id_length, 'x')), "projectId"));
  CHECK_FALSE(id_from(json(std::string(max_id_length + 1, 'x')), "projectId"));
  CHECK_FALSE(id_from(json(""), "projectId"));
  CHECK_FALSE(id_from(json(1.5), "projectId"));
  CHECK_FALSE(id_from(json(true), "projectId"));
  CHECK_FALSE(id_from(json(nullptr), "projectId"));
  CHECK_FALSE(id_from(json::array({"p1"}), "projectId"));
  CHECK_FALSE(id_from(json{{"other", "p1"}}, "projectId"));
  CHECK_FALSE(id_from(json{{"projectId", json{{"projectId", "p1"}}}}, "projectId"));  // one level only
}

TEST_CASE("payloads: send-message content is 1..max_content bytes, not blank; replyTo a string", "[hub][payloads]") {
  const std::size_t max = 16;
  auto parse = [&](json v) { return parse_send_message(v, max); };
  auto ok = parse(json{{"projectId", "p"}, {"content", "hi"}});
  REQUIRE(ok);
  CHECK(ok->project == "p");
  CHECK(ok->content == "hi");
  CHECK(ok->reply_to.is_null());
  CHECK(parse(json{{"projectId", "p"}, {"content", std::string(max, 'a')}}));
  CHECK_FALSE(parse(json{{"projectId", "p"}, {"content", std::string(max + 1, 'a')}}));
  // Bytes, not characters: 6 two-byte letters are 12 bytes, 9 are 18.
  CHECK(parse(json{{"projectId", "p"}, {"content", "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"}}));
  CHECK_FALSE(parse(
    json{{"projectId", "p"}, {"content", "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"}}));
  CHECK_FALSE(parse(json{{"projectId", "p"}, {"content", " \t\r\n\f\v"}}));
  CHECK_FALSE(parse(json{{"projectId", "p"}, {"content", ""}}));
  CHECK_FALSE(parse(json{{"projectId", "p"}, {"content", 5}}));
  CHECK_FALSE(parse(json{{"projectId", "p"}}));
  CHECK_FALSE(parse(json{{"content", "hi"}}));
  CHECK_FALSE(parse(json{{"projectId", ""}, {"content", "hi"}}));
  CHECK_FALSE(parse(json("hi")));
  auto reply = parse(json{{"projectId", "p"}, {"content", "hi"}, {"replyTo", "p:3"}});
  REQUIRE(reply);
  CHECK(reply->reply_to == "p:3");
  CHECK(parse(json{{"projectId", "p"}, {"content", "hi"}, {"replyTo", nullptr}}));
  CHECK_FALSE(parse(json{{"projectId", "p"}, {"content", "hi"}, {"replyTo", 3}}));
}

TEST_CASE("payloads: notifications: title, type and message bounds; data defaults to {}", "[hub][payloads]") {
  auto n = [](std::size_t title, std::size_t type, std::size_t message) {
    return json{{"userId", "u1"},
                {"title", std::string(title, 't')},
                {"type", std::string(type, 'y')},
                {"message", std::string(message, 'm')}};
  };
  auto ok = parse_notification(n(1, 1, 0));
  REQUIRE(ok);
  CHECK(ok->user == "u1");
  CHECK(ok->input["data"] == json::object());
  CHECK(parse_notification(n(max_title_bytes, max_type_bytes, max_notification_text_bytes)));
  CHECK_FALSE(parse_notification(n(max_title_bytes + 1, 1, 0)));
  CHECK_FALSE(parse_notification(n(0, 1, 0)));
  CHECK_FALSE(parse_notification(n(1, max_type_bytes + 1, 0)));
  CHECK_FALSE(parse_notification(n(1, 0, 0)));
  CHECK_FALSE(parse_notification(n(1, 1, max_notification_text_bytes + 1)));
  auto with_data = n(1, 1, 0);
  with_data["data"] = json{{"k", 1}};
  CHECK(parse_notification(with_data)->input["data"] == json{{"k", 1}});
  auto no_user = n(1, 1, 0);
  no_user.erase("userId");
  CHECK_FALSE(parse_notification(no_user));
  auto number_title = n(1, 1, 0);
  number_title["title"] = 5;
  CHECK_FALSE(parse_notification(number_title));
  auto no_message = n(1, 1, 0);
  no_message.erase("message");
  CHECK_FALSE(parse_notification(no_message));
  CHECK_FALSE(parse_notification(json::array()));
}

TEST_CASE("payloads: mark-notifications-read takes 1..max_mark_read_ids ids or all:true", "[hub][payloads]") {
  CHECK(parse_mark_notifications(json{{"all", true}}) == json{{"all", true}});
  CHECK_FALSE(parse_mark_notifications(json{{"all", false}}));
  CHECK_FALSE(parse_mark_notifications(json{{"all", 1}}));
  CHECK(parse_mark_notifications(json{{"ids", {"a"}}}) == json{{"ids", {"a"}}});
  CHECK_FALSE(parse_mark_notifications(json{{"ids", json::array()}}));
  CHECK(parse_mark_notifications(json{{"ids", json(std::vector<std::string>(max_mark_read_ids, "a"))}}));
  CHECK_FALSE(parse_mark_notifications(json{{"ids", json(std::vector<std::string>(max_mark_read_ids + 1, "a"))}}));
  CHECK(parse_mark_notifications(json{{"ids", {std::string(max_notification_id_bytes, 'i')}}}));
  CHECK_FALSE(parse_mark_notifications(json{{"ids", {std::string(max_notification_id_bytes + 1, 'i')}}}));
  CHECK_FALSE(parse_mark_notifications(json{{"ids", {""}}}));
  CHECK_FALSE(parse_mark_notifications(json{{"ids", {1}}}));
  CHECK_FALSE(parse_mark_notifications(json{{"ids", "a"}}));
  CHECK_FALSE(parse_mark_notifications(json::object()));
}

TEST_CASE("payloads: an emoji is at most max_emoji_bytes and max_emoji_code_points", "[hub][payloads]") {
  CHECK(valid_emoji(json("\xF0\x9F\x91\x8D")));  // thumbs up
  // A family: 4 people joined by 3 ZWJs, 7 code points, 25 bytes.
  const std::string family =
    "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7\xE2\x80\x8D\xF0\x9F\x91\xA6";
  CHECK(valid_emoji(json(family)));
  // Eleven hearts: 11 code points, 33 bytes (over both bounds); eight: 24 bytes, 8 points.
  std::string hearts;
  for (int i = 0; i < 8; ++i) hearts += "\xE2\x9D\xA4";
  CHECK(valid_emoji(json(hearts)));
  for (int i = 0; i < 3; ++i) hearts += "\xE2\x9D\xA4";
  CHECK(hearts.size() > max_emoji_bytes);
  CHECK_FALSE(valid_emoji(json(hearts)));
  // Within the bytes but past the code points: six (c) signs (2 bytes each) joined by
  // five ZWJs (3 bytes each) are 27 bytes and 11 code points; five and four, 9 points.
  const std::string sign = "\xC2\xA9", zwj = "\xE2\x80\x8D";
  std::string nine = sign, eleven = sign;
  for (int i = 0; i < 4; ++i) nine += zwj + sign;
  for (int i = 0; i < 5; ++i) eleven += zwj + sign;
  CHECK(eleven.size() <= max_emoji_bytes);
  CHECK(valid_emoji(json(nine)));
  CHECK_FALSE(valid_emoji(json(eleven)));
  CHECK_FALSE(valid_emoji(json("")));
  CHECK_FALSE(valid_emoji(json("a")));
  CHECK_FALSE(valid_emoji(json(1)));
}

TEST_CASE("names: Socket.IO rooms parse back to what built them", "[hub][names]") {
  CHECK(parse_group_room(group_room("p:1/x")) == "p:1/x");
  CHECK(parse_user_room(user_room("u1")) == "u1");
  CHECK_FALSE(parse_group_room(user_room("u1")));
  CHECK_FALSE(parse_user_room(group_room("p")));
  CHECK_FALSE(parse_group_room("group:"));
  auto t = parse_task_room(task_room("p:1", "t:2"));
  REQUIRE(t);
  CHECK(t->project == "p:1");
  CHECK(t->task == "t:2");
  CHECK(is_task_room(task_room("p", "t")));
  CHECK_FALSE(is_task_room(group_room("p")));
  CHECK_FALSE(parse_task_room("task:9:p:t"));  // the length does not fit
  CHECK_FALSE(parse_task_room("task:x:p:t"));
}

TEST_CASE("names: storage keys parse back to what built them, and do not collide", "[hub][names][storage]") {
  CHECK(keys::parse_room_log(keys::room_log("p1")) == "p1");
  CHECK(keys::parse_inbox_log(keys::inbox_log("u1")) == "u1");
  CHECK_FALSE(keys::parse_room_log(keys::inbox_log("u1")));
  CHECK(keys::parse_session(keys::session("pid")) == "pid");
  CHECK(keys::parse_revoked(keys::revoked("u/1")) == "u/1");
  CHECK(keys::parse_reactions("p/1", keys::reactions("p/1", 42)) == 42u);
  CHECK_FALSE(keys::parse_reactions("p", keys::reactions("p/1", 42)));
  CHECK_FALSE(keys::parse_reactions("p", keys::reactions_prefix("p") + "x"));
  // The project's length first: "a/b" + user "c" and "a" + user "b/c" are different keys.
  CHECK(keys::read_marker("a/b", "c") != keys::read_marker("a", "b/c"));
  CHECK(keys::members("a/b") != keys::members("a"));
  CHECK(keys::thread_log("a", 1) != keys::thread_log("a/1", 1));
  // The exact layout docs/hub.md documents (existing data directories depend on it).
  CHECK(keys::room_log("p") == "room/p");
  CHECK(keys::read_marker("p1", "u") == "read/2/p1/u");
  CHECK(keys::members("p1") == "members/2/p1");
  CHECK(keys::reactions("p1", 7) == "react/2/p1/7");
  CHECK(keys::thread_log("p1", 7) == "thread/2/p1/7");
  CHECK(keys::inbox_delivered("u") == "inbox-delivered/u");
  CHECK(keys::session("x") == "sess/x");
  CHECK(keys::revoked("u") == "revoked/u");
  CHECK(keys::epoch() == "meta/epoch");
  CHECK(keys::dev_jwt_secret() == "meta/dev-jwt-secret");
  CHECK(keys::member("p1", "u/1") == "member/2/p1/u/1");
  CHECK(keys::node_heartbeat("abc123") == "node/abc123");
  // Scan groups (what a scan asks for, what the Redis engine keeps in one hash): the
  // sized project id ends the group, whatever the ids hold.
  CHECK(keys::scan_group(keys::member("a/b", "c/d")) == keys::members_prefix("a/b"));
  CHECK(keys::scan_group(keys::reactions("p/1", 3)) == keys::reactions_prefix("p/1"));
  CHECK(keys::scan_group(keys::revoked("u/1")) == std::string(keys::revoked_prefix));
  CHECK_FALSE(keys::scan_group(keys::session("x")));
  CHECK_FALSE(keys::scan_group("member/9/short/x"));  // a length past the key: no group
  CHECK_FALSE(keys::scan_group("react/x/p/1"));
}

TEST_CASE("log feed: publications parse strictly; log_order puts entries in seq order, once", "[hub][cluster]") {
  using hub::app::log_order;
  using hub::app::parse_log_publication;
  auto p = parse_log_publication("Ab3x_Q12:42:{\"content\":\"a:b\"}");
  REQUIRE(p);
  CHECK(p->epoch == "Ab3x_Q12");
  CHECK(p->seq == 42);
  CHECK(p->value == "{\"content\":\"a:b\"}");  // the value may hold ':'
  CHECK(parse_log_publication("e:1:")->value.empty());
  for (const char* bad : {"", ":1:v", "e::v", "e:0:v", "e:x:v", "e:1", "e:-1:v", "e:99999999999999999999999:v", "nocolon"})
    CHECK_FALSE(parse_log_publication(bad));

  log_order order;
  std::uint64_t last = 2;
  auto seqs = [](const std::vector<log_order::entry>& es) {
    std::vector<std::uint64_t> out;
    for (const auto& e : es) out.push_back(e.first);
    return out;
  };
  using v = std::vector<std::uint64_t>;
  CHECK(seqs(order.accept(last, 2, "repeat")).empty());
  CHECK(seqs(order.accept(last, 5, "e5")).empty());  // waits behind 3, 4
  CHECK(order.waiting());
  CHECK(seqs(order.accept(last, 5, "e5 again")).empty());
  CHECK(seqs(order.accept(last, 3, "e3")) == v{3});
  CHECK(last == 3);
  auto ready = order.accept(last, 4, "e4");
  CHECK(seqs(ready) == v{4, 5});
  CHECK(ready[1].second == "e5");  // the first copy of 5
  CHECK(last == 5);
  CHECK_FALSE(order.waiting());
  CHECK(seqs(order.accept(last, 6, "e6")) == v{6});
  // A read sent now finds the log ending at 7: what waited beyond before it was sent was
  // never stored; what came while it was under way may be real.
  CHECK(seqs(order.accept(last, 9, "forged")).empty());
  const auto ticket = order.ticket();
  CHECK(seqs(order.accept(last, 10, "real, stored after the read")).empty());
  order.drop_after(7, ticket);
  CHECK(order.waiting());  // 10 still waits
  CHECK(seqs(order.accept(last, 11, "e11")).empty());
  CHECK(seqs(order.accept(last, 7, "e7")) == v{7});
  CHECK(seqs(order.accept(last, 8, "e8")) == v{8});  // not followed by the forged 9
  CHECK(seqs(order.accept(last, 9, "e9")) == v{9, 10, 11});
}
