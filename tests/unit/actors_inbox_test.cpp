// Notifications: the pure inbox fold (apps/hub/inbox.cpp) and the user mailbox actor
// (apps/hub/user_actor.cpp) on CAF's test coordinator with a real store, including chat
// notifications coalesced per project for members who are not in the room.
#include "apps/hub/inbox.hpp"
#include "apps/hub/hub_messages.hpp"
#include "apps/hub/user_actor.hpp"
#include "tests/unit/support/hub_fixture.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace std::chrono_literals;
using hub::inbox;
using hub::json;
using hub::json_ptr;
using hub::test::hub_fixture;
using hub::test::received_event;

namespace {

using strings = std::vector<std::string>;

strings names(const std::vector<received_event>& evs) {
  strings out;
  for (const auto& e : evs) out.push_back(e.name);
  return out;
}

json chat_message(const std::string& project, std::uint64_t seq, const std::string& sender,
                  const std::string& content) {
  return json{{"id", hub::message_id(project, seq)},
              {"seq", seq},
              {"projectId", project},
              {"senderId", sender},
              {"senderName", sender},
              {"content", content}};
}

json input(const std::string& title) {
  return json{{"title", title}, {"message", "m"}, {"type", "task"}, {"data", {{"taskId", "t1"}}}};
}

}  // namespace

// -- the pure fold -----------------------------------------------------------------------------

TEST_CASE("inbox: notifications fold in, unread counts, reads never count twice", "[inbox]") {
  inbox box;
  box.apply(1, inbox::notification_entry("a", input("A"), "2026-01-01T00:00:00.000Z"));
  box.apply(2, inbox::notification_entry("b", input("B"), "2026-01-01T00:00:01.000Z"));
  CHECK(box.unread() == 2);
  auto listed = box.list(false, 10);
  REQUIRE(listed.size() == 2);
  CHECK(listed[0]["id"] == "b");  // newest first
  CHECK(listed[0]["read"] == false);
  CHECK(listed[0]["data"]["taskId"] == "t1");
  CHECK(listed[0]["createdAt"] == "2026-01-01T00:00:01.000Z");

  auto read = box.read_entry({"a", "a", "zzz"}, false);  // duplicates and unknown ids ignored
  REQUIRE(read);
  CHECK((*read)["ids"] == json::array({"a"}));
  CHECK((*read)["unread"] == 1);
  box.apply(3, *read);
  CHECK(box.unread() == 1);
  CHECK_FALSE(box.read_entry({"a"}, false));  // already read: nothing to write
  CHECK(box.list(true, 10).size() == 1);
  CHECK(box.list(true, 10)[0]["id"] == "b");

  auto all = box.read_entry({}, true);
  REQUIRE(all);
  box.apply(4, *all);
  CHECK(box.unread() == 0);
  CHECK_FALSE(box.read_entry({}, true));
  CHECK(box.last_seq() == 4);
}

TEST_CASE("inbox: chat notifications coalesce per project until read", "[inbox]") {
  inbox box;
  auto e1 = box.chat_entry("p1", chat_message("p1", 1, "ann", "hello"), "n1", "t1");
  CHECK(e1["n"]["id"] == "n1");
  CHECK(e1["n"]["type"] == "chat");
  CHECK(e1["n"]["data"]["count"] == 1);
  CHECK(e1["n"]["data"]["messageId"] == "p1:1");
  CHECK(e1["n"]["title"] == "New message in p1");
  CHECK(e1["n"]["message"] == "ann: hello");
  box.apply(1, e1);

  // Same project while unread: a new version of the same notification.
  auto e2 = box.chat_entry("p1", chat_message("p1", 2, "bob", "hi"), "n2", "t2");
  CHECK(e2["n"]["id"] == "n1");
  CHECK(e2["n"]["data"]["count"] == 2);
  CHECK(e2["n"]["data"]["seq"] == 2);
  CHECK(e2["n"]["title"] == "2 new messages in p1");
  box.apply(2, e2);
  CHECK(box.unread() == 1);
  CHECK(box.size() == 1);

  // Another project: its own notification.
  auto other = box.chat_entry("p2", chat_message("p2", 1, "ann", "x"), "n3", "t3");
  CHECK(other["n"]["id"] == "n3");
  box.apply(3, other);
  CHECK(box.unread() == 2);

  // Once read, the next message starts a new one.
  box.apply(4, *box.read_entry({"n1"}, false));
  auto e3 = box.chat_entry("p1", chat_message("p1", 3, "ann", "again"), "n4", "t4");
  CHECK(e3["n"]["id"] == "n4");
  CHECK(e3["n"]["data"]["count"] == 1);
}

TEST_CASE("inbox: long chat content is cut on a UTF-8 boundary", "[inbox]") {
  inbox box;
  std::string content(139, 'a');
  content += "é and more";  // é is two bytes: 139 + 2 crosses 140
  auto e = box.chat_entry("p1", chat_message("p1", 1, "ann", content), "n1", "t");
  CHECK(e["n"]["message"] == "ann: " + std::string(139, 'a') + "…");
}

TEST_CASE("inbox: unread_after, trim and replay events", "[inbox]") {
  inbox box;
  for (int i = 1; i <= 5; ++i) box.apply(i, inbox::notification_entry("n" + std::to_string(i), input("T"), "t"));
  box.apply(6, *box.read_entry({"n4"}, false));
  auto after = box.unread_after(2);
  REQUIRE(after.size() == 2);  // n3, n5 (n4 is read)
  CHECK(after[0]["id"] == "n3");
  CHECK(after[1]["id"] == "n5");

  CHECK(box.trim(10) == 0);
  CHECK(box.trim(3) == 3);  // n1 and n2 dropped: keep the log from seq 3
  CHECK(box.size() == 3);
  CHECK(box.unread() == 2);

  auto ev = inbox::replay_event(inbox::notification_entry("x", input("T"), "t"));
  REQUIRE(ev);
  CHECK(ev->first == "notification");
  CHECK(ev->second["read"] == false);
  ev = inbox::replay_event(json{{"t", "r"}, {"all", true}, {"unread", 0}});
  REQUIRE(ev);
  CHECK(ev->first == "notifications-read");
  CHECK(ev->second == json{{"all", true}, {"unread", 0}});
  CHECK_FALSE(inbox::replay_event(json("junk")));
}

// -- the mailbox actor -------------------------------------------------------------------------

namespace {

struct mailbox_fixture : hub_fixture {
  hub::test::sio_client& alice1 = connection("alice", {"p1"});
  hub::test::sio_client& alice2 = connection("alice", {"p1"});
  hub::test::sio_client& bob = connection("bob", {"p1"});

  json notify(const std::string& user, const std::string& title) {
    auto [n] = ask<json_ptr>(mailbox(user), hub::notify_atom::value, hub::make_json(input(title)));
    return *n;
  }
  std::uint64_t unread(const std::string& user) {
    return std::get<0>(ask<std::uint64_t>(mailbox(user), hub::inbox_unread_atom::value));
  }
  json online(const std::string& user, bool recovered) {
    auto [push] = ask<json_ptr>(mailbox(user), hub::online_atom::value, recovered);
    return *push;
  }
  void offline(const std::string& user) {
    caf::anon_send(mailbox(user), hub::offline_atom::value);
    run();
  }
};

}  // namespace

TEST_CASE_METHOD(mailbox_fixture, "user mailbox: a notification is stored, then sent to every connection of the user",
                 "[actors][inbox]") {
  json n = notify("alice", "Task assigned");
  CHECK(n["title"] == "Task assigned");
  CHECK(n["read"] == false);
  CHECK(n["id"].get<std::string>().size() == 20);
  for (auto* c : {&alice1, &alice2}) {
    auto evs = events(*c);
    REQUIRE(names(evs) == strings{"notification"});
    CHECK(evs[0].payload() == n);
  }
  CHECK(events(bob).empty());
  CHECK(unread("alice") == 1);
  // Durable: a fresh mailbox (as after a restart) has it.
  forget_mailbox("alice");
  CHECK(unread("alice") == 1);
  auto [list] = ask<json_ptr>(mailbox("alice"), hub::inbox_list_atom::value, true, std::uint64_t{10});
  REQUIRE((*list)["notifications"].size() == 1);
  CHECK((*list)["notifications"][0] == n);
  CHECK((*list)["unread"] == 1);
}

TEST_CASE_METHOD(mailbox_fixture, "user mailbox: marking read tells the user's other connections, not the asker",
                 "[actors][inbox]") {
  json a = notify("alice", "A");
  notify("alice", "B");
  events(alice1), events(alice2);
  auto [unread_left] = ask<std::uint64_t>(mailbox("alice"), hub::inbox_read_atom::value,
                                          hub::make_json(json{{"ids", {a["id"]}}}), sids.at(&alice1));
  CHECK(unread_left == 1);
  CHECK(events(alice1).empty());
  auto evs = events(alice2);
  REQUIRE(names(evs) == strings{"notifications-read"});
  CHECK(evs[0].payload() == json{{"ids", {a["id"]}}, {"unread", 1}});

  // Nothing unread among the ids: same answer, nothing stored or sent.
  auto [again] = ask<std::uint64_t>(mailbox("alice"), hub::inbox_read_atom::value,
                                    hub::make_json(json{{"ids", {a["id"]}}}), std::string{});
  CHECK(again == 1);
  CHECK(events(alice2).empty());

  std::tie(unread_left) = ask<std::uint64_t>(mailbox("alice"), hub::inbox_read_atom::value,
                                             hub::make_json(json{{"all", true}}), std::string{});
  CHECK(unread_left == 0);
  for (auto* c : {&alice1, &alice2}) CHECK(names(events(*c)) == strings{"notifications-read"});
  forget_mailbox("alice");
  CHECK(unread("alice") == 0);  // reads are durable too
}

TEST_CASE_METHOD(mailbox_fixture, "user mailbox: what was stored while away is pushed once when a connection comes up",
                 "[actors][inbox]") {
  // Nobody online: stored, (broadcast to no one that counts), not yet delivered.
  json n1 = notify("bob", "while away 1");
  json n2 = notify("bob", "while away 2");
  auto push = online("bob", false);
  REQUIRE(push.size() == 2);
  CHECK(push[0]["id"] == n1["id"]);
  CHECK(push[1]["id"] == n2["id"]);
  // A second tab coming up gets nothing again.
  CHECK(online("bob", false).empty());
  // Stored while online: delivered live, so not pushed later.
  notify("bob", "live");
  offline("bob");
  offline("bob");
  CHECK(online("bob", false).empty());
  offline("bob");

  // Away again; a recovered connection had it replayed: no push, and none later.
  notify("bob", "replayed");
  CHECK(online("bob", true).empty());
  offline("bob");
  CHECK(online("bob", false).empty());
  offline("bob");

  // The delivery mark survives a restart.
  json n3 = notify("bob", "after restart");
  forget_mailbox("bob");
  push = online("bob", false);
  REQUIRE(push.size() == 1);
  CHECK(push[0]["id"] == n3["id"]);
}

TEST_CASE_METHOD(mailbox_fixture, "user mailbox: old notifications are pruned beyond the keep limit",
                 "[actors][inbox]") {
  forget_mailbox("alice");
  mailbox("alice", 3);  // respawned with a keep limit of 3
  for (int i = 0; i < 5; ++i) notify("alice", "n" + std::to_string(i));
  auto [list] = ask<json_ptr>(mailbox("alice"), hub::inbox_list_atom::value, false, std::uint64_t{10});
  REQUIRE((*list)["notifications"].size() == 3);
  CHECK((*list)["notifications"][0]["title"] == "n4");
  CHECK((*list)["notifications"][2]["title"] == "n2");
  CHECK(db->first_seq(hub::keys::inbox_log("alice")) == 3);
  forget_mailbox("alice");
  auto [reloaded] = ask<json_ptr>(mailbox("alice", 3), hub::inbox_list_atom::value, false, std::uint64_t{10});
  CHECK((*reloaded)["notifications"] == (*list)["notifications"]);
}

// -- chat notifications from a room -----------------------------------------------------------

TEST_CASE_METHOD(hub_fixture, "chat room: absent members get one coalesced chat notification per project",
                 "[actors][inbox][chat_room]") {
  auto& bob = connection("bob", {});  // bob's user room only: not in the chat room now
  auto& carol = connection("carol", {"p1"});
  auto room = spawn_notifying_room("p1");
  run();
  // Members are who joined the room at least once.
  for (auto [u, n] : {std::pair{"alice", "Alice"}, {"bob", "Bob"}, {"carol", "Carol"}})
    caf::anon_send(room, hub::present_atom::value, std::string(u), std::string(n));
  run();
  caf::anon_send(room, hub::absent_atom::value, std::string("bob"));
  run();
  events(bob), events(carol);

  auto posts = std::make_shared<post_log>();
  post(room, posts, "alice", "Alice", "first");
  run();
  auto evs = events(bob);
  REQUIRE(names(evs) == strings{"notification"});
  json n = evs[0].payload();
  CHECK(n["type"] == "chat");
  CHECK(n["data"]["count"] == 1);
  CHECK(n["data"]["projectId"] == "p1");
  CHECK(n["data"]["messageId"] == "p1:1");
  // carol is present, alice is the sender: no notification.
  CHECK(names(events(carol)) == strings{"new-message"});

  post(room, posts, "carol", "Carol", "second");
  run();
  evs = events(bob);
  REQUIRE(names(evs) == strings{"notification"});
  CHECK(evs[0].payload()["id"] == n["id"]);
  CHECK(evs[0].payload()["data"]["count"] == 2);
  CHECK(std::get<0>(ask<std::uint64_t>(mailbox("bob"), hub::inbox_unread_atom::value)) == 1);
  // alice is present (she joined and never left): nothing for her.
  CHECK(std::get<0>(ask<std::uint64_t>(mailbox("alice"), hub::inbox_unread_atom::value)) == 0);

  // Membership survives a restart of the room.
  stop(room);
  room = spawn_notifying_room("p1");
  run();
  post(room, posts, "carol", "Carol", "third");
  run();
  evs = events(bob);
  REQUIRE(names(evs) == strings{"notification"});
  CHECK(evs[0].payload()["data"]["count"] == 3);
  // After the restart nobody is present: alice, a member, is notified now.
  CHECK(std::get<0>(ask<std::uint64_t>(mailbox("alice"), hub::inbox_unread_atom::value)) == 1);
}
