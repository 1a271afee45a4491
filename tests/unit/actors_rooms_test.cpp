// Rooms and broadcasts (sio/room_directory.cpp, the broadcast part of
// sio/sio_connection.cpp): several connection actors with recorder outlets on CAF's
// test coordinator. See tests/unit/support/.
#include "sio/room_members.hpp"
#include "sio/sio_server.hpp"
#include "tests/unit/support/deterministic.hpp"
#include "tests/unit/support/recorder_outlet.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <initializer_list>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using hub::json;
using hub::test::sio_client;
using hub::test::sio_fixture;
namespace sio = hub::sio;

namespace {

using texts = std::vector<std::string>;

// A test namespace: events that join/leave rooms and broadcast "msg" with one argument.
//   ["join", room...]         socket.join(room) for each
//   ["leave", room...]        socket.leave(room) for each
//   ["to", room, payload]     socket.to(room).emit("msg", payload)
//   ["broadcast", payload]    socket.broadcast().emit("msg", payload)
//   ["bcast", {"to":[...], "except":[...]}, payload]
//                             server.in(nsp).to(a).to(b)....except(c)....emit("msg", payload)
//   ["join-bcast", room, payload]
//                             socket.join(room), then server.in(nsp).to(room).emit(...)
void install_rooms(sio::server& srv, const std::string& name) {
  const sio::server* sp = &srv;
  auto& nsp = srv.of(name);
  nsp.on("join", [](sio::socket& s, sio::event& ev) {
    for (const auto& r : ev.args()) s.join(r.get<std::string>());
  });
  nsp.on("leave", [](sio::socket& s, sio::event& ev) {
    for (const auto& r : ev.args()) s.leave(r.get<std::string>());
  });
  nsp.on("to", [](sio::socket& s, sio::event& ev) {
    s.to(ev.args().at(0).get<std::string>()).emit("msg", json::array({ev.args().at(1)}));
  });
  nsp.on("broadcast",
         [](sio::socket& s, sio::event& ev) { s.broadcast().emit("msg", json::array({ev.args().at(0)})); });
  nsp.on("bcast", [sp](sio::socket& s, sio::event& ev) {
    auto b = sp->in(s.nsp());
    const auto& spec = ev.args().at(0);
    if (spec.contains("to"))
      for (const auto& r : spec["to"]) b.to(r.get<std::string>());
    if (spec.contains("except"))
      for (const auto& r : spec["except"]) b.except(r.get<std::string>());
    b.emit("msg", json::array({ev.args().at(1)}));
  });
  nsp.on("join-bcast", [sp](sio::socket& s, sio::event& ev) {
    const auto room = ev.args().at(0).get<std::string>();
    s.join(room);
    sp->in(s.nsp()).to(room).emit("msg", json::array({ev.args().at(1)}));
  });
}

std::string msg(const std::string& nsp, const std::string& payload) {
  return "42" + (nsp == "/" ? std::string() : nsp + ",") + R"(["msg",")" + payload + R"("])";
}

std::string event(const std::string& nsp, const std::string& array_text) { return "42" + nsp + "," + array_text; }

void join(sio_client& c, std::initializer_list<std::string> rooms, const std::string& nsp = "/t") {
  json a = json::array({"join"});
  for (const auto& r : rooms) a.push_back(r);
  c.feed(event(nsp, a.dump()));
}

void leave(sio_client& c, std::initializer_list<std::string> rooms, const std::string& nsp = "/t") {
  json a = json::array({"leave"});
  for (const auto& r : rooms) a.push_back(r);
  c.feed(event(nsp, a.dump()));
}

struct rooms_fixture : sio_fixture {
  rooms_fixture() {
    auto& srv = make_server();
    install_rooms(srv, "/t");
    install_rooms(srv, "/u");
  }

  // A session connected to each of `nsps`.
  sio_client& member(std::initializer_list<std::string> nsps = {"/t"}) {
    auto& c = client();
    for (const auto& n : nsps) c.connect(n);
    return c;
  }
};

}  // namespace

TEST_CASE_METHOD(rooms_fixture, "actors: socket.to(room) reaches the other members, not the sender",
                 "[actors][rooms]") {
  auto& a = member();
  auto& b = member();
  auto& c = member();
  auto& outsider = member();         // in /t, not in the room
  auto& other_nsp = member({"/u"});  // in a room of the same name in /u
  join(a, {"r"});
  join(b, {"r"});
  join(c, {"r"});
  join(other_nsp, {"r"}, "/u");

  a.feed(event("/t", R"(["to","r","hi"])"));
  CHECK(a.take_texts().empty());
  CHECK(b.take_texts() == texts{msg("/t", "hi")});
  CHECK(c.take_texts() == texts{msg("/t", "hi")});
  CHECK(outsider.take_texts().empty());
  CHECK(other_nsp.take_texts().empty());

  // A sender outside the room reaches every member.
  outsider.feed(event("/t", R"(["to","r","from outside"])"));
  CHECK(a.take_texts() == texts{msg("/t", "from outside")});
  CHECK(b.take_texts() == texts{msg("/t", "from outside")});
  CHECK(c.take_texts() == texts{msg("/t", "from outside")});
  CHECK(outsider.take_texts().empty());

  // socket.broadcast(): the whole namespace but the sender.
  b.feed(event("/t", R"(["broadcast","all"])"));
  CHECK(a.take_texts() == texts{msg("/t", "all")});
  CHECK(b.take_texts().empty());
  CHECK(c.take_texts() == texts{msg("/t", "all")});
  CHECK(outsider.take_texts() == texts{msg("/t", "all")});
  CHECK(other_nsp.take_texts().empty());

  // A room nobody joined: nothing, and no error.
  a.feed(event("/t", R"(["to","empty","x"])"));
  for (auto* s : {&a, &b, &c, &outsider, &other_nsp}) {
    CHECK(s->take_texts().empty());
    CHECK_FALSE(s->out->closed());
  }
}

TEST_CASE_METHOD(rooms_fixture, "actors: a socket in several target rooms gets one copy", "[actors][rooms]") {
  auto& both = member();
  auto& only1 = member();
  auto& only2 = member();
  auto& neither = member();
  auto& all3 = member();
  join(both, {"r1", "r2"});
  join(only1, {"r1"});
  join(only2, {"r2"});
  join(all3, {"r2", "r3", "r1"});

  const bool r1_first = GENERATE(true, false);
  CAPTURE(r1_first);
  auto b = server->in("/t");
  if (r1_first)
    b.to("r1").to("r2").to("r3");
  else
    b.to("r3").to("r2").to("r1");
  b.emit("msg", json::array({"x"}));
  run();
  CHECK(both.take_texts() == texts{msg("/t", "x")});
  CHECK(only1.take_texts() == texts{msg("/t", "x")});
  CHECK(only2.take_texts() == texts{msg("/t", "x")});
  CHECK(all3.take_texts() == texts{msg("/t", "x")});
  CHECK(neither.take_texts().empty());

  // The same from a handler; server.in() does not leave out the sender.
  both.feed(event("/t", R"(["bcast",{"to":["r1","r2"]},"y"])"));
  CHECK(both.take_texts() == texts{msg("/t", "y")});
  CHECK(only1.take_texts() == texts{msg("/t", "y")});
  CHECK(only2.take_texts() == texts{msg("/t", "y")});
  CHECK(all3.take_texts() == texts{msg("/t", "y")});
  CHECK(neither.take_texts().empty());

  // A room named twice is still one copy.
  server->in("/t").to("r1").to("r1").emit("msg", json::array({"z"}));
  run();
  CHECK(both.take_texts() == texts{msg("/t", "z")});
  CHECK(only1.take_texts() == texts{msg("/t", "z")});
  CHECK(only2.take_texts().empty());
}

TEST_CASE_METHOD(rooms_fixture, "actors: except(room) leaves out the room's members", "[actors][rooms]") {
  auto& a = member();  // a b
  auto& b = member();  // a
  auto& c = member();  // a c
  auto& d = member();  // b c
  auto& e = member();  // (none)
  join(a, {"a", "b"});
  join(b, {"a"});
  join(c, {"a", "c"});
  join(d, {"b", "c"});

  SECTION("to(a).to(b).except(c)") {
    server->in("/t").to("a").to("b").except("c").emit("msg", json::array({"1"}));
    run();
    CHECK(a.take_texts() == texts{msg("/t", "1")});
    CHECK(b.take_texts() == texts{msg("/t", "1")});
    CHECK(c.take_texts().empty());
    CHECK(d.take_texts().empty());
    CHECK(e.take_texts().empty());
  }
  SECTION("from a handler, two excepted rooms") {
    e.feed(event("/t", R"(["bcast",{"to":["a","c"],"except":["b","nobody"]},"2"])"));
    CHECK(a.take_texts().empty());
    CHECK(b.take_texts() == texts{msg("/t", "2")});
    CHECK(c.take_texts() == texts{msg("/t", "2")});
    CHECK(d.take_texts().empty());
    CHECK(e.take_texts().empty());
  }
  SECTION("namespace-wide except(b)") {
    server->in("/t").except("b").emit("msg", json::array({"3"}));
    run();
    CHECK(a.take_texts().empty());
    CHECK(b.take_texts() == texts{msg("/t", "3")});
    CHECK(c.take_texts() == texts{msg("/t", "3")});
    CHECK(d.take_texts().empty());
    CHECK(e.take_texts() == texts{msg("/t", "3")});
  }
  SECTION("socket.to(room) with except") {
    // b sends to "a" except "c": a gets it; b is the sender; c is excepted.
    b.feed(event("/t", R"(["bcast",{"to":["a"],"except":["c"]},"4"])"));
    CHECK(a.take_texts() == texts{msg("/t", "4")});
    CHECK(b.take_texts() == texts{msg("/t", "4")});  // server.in(): sender included
    CHECK(c.take_texts().empty());
  }
}

TEST_CASE_METHOD(rooms_fixture, "actors: a namespace-wide broadcast reaches every socket of that namespace only",
                 "[actors][rooms]") {
  auto& t_only = member({"/t"});
  auto& both = member({"/t", "/u"});
  auto& u_only = member({"/u"});
  auto& left_t = member({"/t", "/u"});
  left_t.feed("41/t,");  // client DISCONNECT from /t

  server->in("/t").emit("msg", json::array({"to t"}));
  run();
  CHECK(t_only.take_texts() == texts{msg("/t", "to t")});
  CHECK(both.take_texts() == texts{msg("/t", "to t")});
  CHECK(u_only.take_texts().empty());
  CHECK(left_t.take_texts().empty());

  server->in("/u").emit("msg", json::array({"to u"}));
  run();
  CHECK(t_only.take_texts().empty());
  CHECK(both.take_texts() == texts{msg("/u", "to u")});
  CHECK(u_only.take_texts() == texts{msg("/u", "to u")});
  CHECK(left_t.take_texts() == texts{msg("/u", "to u")});

  // A namespace with no sockets at all, and an unknown one.
  server->in("/").emit("msg", json::array({"nobody"}));
  server->in("/zzz").emit("msg", json::array({"nobody"}));
  run();
  for (auto* s : {&t_only, &both, &u_only, &left_t}) CHECK(s->take_texts().empty());

  // Joined rooms do not change that a namespace-wide broadcast gives one copy.
  join(both, {"r1", "r2"});
  server->in("/t").emit("msg", json::array({"once"}));
  run();
  CHECK(both.take_texts() == texts{msg("/t", "once")});
}

TEST_CASE_METHOD(rooms_fixture, "actors: leave stops delivery", "[actors][rooms]") {
  auto& a = member();
  auto& b = member();
  join(a, {"r", "s"});
  join(b, {"r"});

  server->in("/t").to("r").emit("msg", json::array({"1"}));
  run();
  CHECK(a.take_texts() == texts{msg("/t", "1")});
  CHECK(b.take_texts() == texts{msg("/t", "1")});

  leave(a, {"r"});
  server->in("/t").to("r").emit("msg", json::array({"2"}));
  run();
  CHECK(a.take_texts().empty());
  CHECK(b.take_texts() == texts{msg("/t", "2")});

  // Still in "s"; leaving a room one is not in (or twice) changes nothing.
  leave(b, {"s", "never"});
  leave(a, {"r"});
  server->in("/t").to("s").to("r").emit("msg", json::array({"3"}));
  run();
  CHECK(a.take_texts() == texts{msg("/t", "3")});
  CHECK(b.take_texts() == texts{msg("/t", "3")});

  // A join from a handler counts for a broadcast the same handler sends right after.
  b.feed(event("/t", R"(["join-bcast","fresh","4"])"));
  CHECK(a.take_texts().empty());
  CHECK(b.take_texts() == texts{msg("/t", "4")});
}

TEST_CASE_METHOD(rooms_fixture, "actors: an emptied room is retired and a later join gets a new one",
                 "[actors][rooms]") {
  auto& a = member();
  auto& b = member();
  const auto base = running_actors();  // directory, the /t namespace room, a, b

  join(a, {"r"});
  CHECK(running_actors() == base + 1);  // the room actor
  join(b, {"r"});
  CHECK(running_actors() == base + 1);
  leave(a, {"r"});
  CHECK(running_actors() == base + 1);
  server->in("/t").to("r").emit("msg", json::array({"1"}));
  run();
  CHECK(a.take_texts().empty());
  CHECK(b.take_texts() == texts{msg("/t", "1")});

  leave(b, {"r"});
  CHECK(running_actors() == base);  // last member gone: retired
  server->in("/t").to("r").emit("msg", json::array({"nobody"}));
  run();
  CHECK(a.take_texts().empty());
  CHECK(b.take_texts().empty());

  join(a, {"r"});
  CHECK(running_actors() == base + 1);  // spawned again
  server->in("/t").to("r").emit("msg", json::array({"2"}));
  run();
  CHECK(a.take_texts() == texts{msg("/t", "2")});
  CHECK(b.take_texts().empty());

  // Leave and re-join queued back to back (the exit of the old room and the spawn of
  // the new one happen in the same directory turn).
  a.enqueue(event("/t", R"(["leave","r"])"));
  a.enqueue(event("/t", R"(["join","r"])"));
  b.enqueue(event("/t", R"(["join","r"])"));
  run();
  CHECK(running_actors() == base + 1);
  server->in("/t").to("r").emit("msg", json::array({"3"}));
  run();
  CHECK(a.take_texts() == texts{msg("/t", "3")});
  CHECK(b.take_texts() == texts{msg("/t", "3")});

  // Sessions that end leave their rooms: "r" and the /t namespace room are retired.
  a.transport_closed();
  b.transport_closed();
  CHECK(running_actors() == base - 3);  // - a, b, the namespace room
  auto& c = member();
  join(c, {"r"});
  server->in("/t").to("r").emit("msg", json::array({"4"}));
  server->in("/t").emit("msg", json::array({"5"}));
  run();
  CHECK(c.take_texts() == texts{msg("/t", "4"), msg("/t", "5")});
}

// An application's actor serving rooms (as Project Hub's user mailbox serves `user:`):
// a room actor of its own with a room_members, counting the joins it was told of.
struct served_room_state {
  hub::room_members members;
  int joins = 0;
};

caf::behavior served_room(caf::stateful_actor<served_room_state>* self) {
  return {
    [=](hub::join_atom, const std::string& key, const caf::actor& m) {
      ++self->state.joins;
      self->state.members.join(key, m);
    },
    [=](hub::leave_atom, const std::string&, const caf::actor& m) { self->state.members.leave(m); },
    [=](hub::broadcast_atom, const hub::broadcast_ptr& b) { self->state.members.deliver(self, b); },
  };
}

TEST_CASE_METHOD(rooms_fixture, "actors: rooms an application serves go to its actor, which outlives its members",
                 "[actors][rooms]") {
  auto own = sys.spawn(served_room);
  auto served = std::make_shared<std::vector<std::string>>();  // rooms the provider was asked for
  server->serve_rooms("/t", "own:", [own, served](const std::string& room) -> caf::actor {
    served->push_back(room);
    return room == "own:a" ? own : caf::actor{};  // own:other falls back to the directory's
  });
  auto& a = member();
  auto& b = member();
  auto& other_nsp = member({"/u"});
  const auto base = running_actors();

  join(a, {"own:a"});
  join(b, {"own:a"});
  join(other_nsp, {"own:a"}, "/u");                     // another namespace: not served
  CHECK(running_actors() == base + 1);                  // only /u's room actor
  CHECK(*served == std::vector<std::string>{"own:a"});  // asked once, at the first join
  server->in("/t").to("own:a").emit("msg", json::array({"1"}));
  run();
  CHECK(a.take_texts() == texts{msg("/t", "1")});
  CHECK(b.take_texts() == texts{msg("/t", "1")});
  CHECK(other_nsp.take_texts().empty());

  // Emptied: the directory forgets the room but does not stop the application's actor.
  leave(a, {"own:a"});
  leave(b, {"own:a"});
  CHECK(running_actors() == base + 1);
  server->in("/t").to("own:a").emit("msg", json::array({"nobody"}));
  run();
  CHECK(a.take_texts().empty());
  join(b, {"own:a"});  // asked again, the same actor serves it
  server->in("/t").to("own:a").emit("msg", json::array({"2"}));
  run();
  CHECK(b.take_texts() == texts{msg("/t", "2")});
  CHECK(a.take_texts().empty());
  CHECK(*served == std::vector<std::string>{"own:a", "own:a"});

  // A room the provider declines gets a room actor of the directory's, as any other.
  join(a, {"own:other"});
  CHECK(running_actors() == base + 2);
  server->in("/t").to("own:other").emit("msg", json::array({"3"}));
  run();
  CHECK(a.take_texts() == texts{msg("/t", "3")});
  CHECK(b.take_texts().empty());
  leave(a, {"own:other"});
  CHECK(running_actors() == base + 1);

  caf::anon_send_exit(own, caf::exit_reason::user_shutdown);
  own = caf::actor{};
  run();
}

// Each room actor delivers on its own. A socket in several target rooms must get exactly
// one copy even when it leaves one of them while the broadcast is in flight: the first
// copy from a room it is still in is delivered, later ones are dropped.
TEST_CASE_METHOD(rooms_fixture,
                 "actors: leaving one of two target rooms while a broadcast is in flight still gives one copy",
                 "[actors][rooms][race]") {
  auto& a = member();
  join(a, {"r1", "r2"});
  auto* a_job = dynamic_cast<caf::resumable*>(caf::actor_cast<caf::abstract_actor*>(a.actor));
  REQUIRE(a_job != nullptr);
  REQUIRE(sched.jobs.empty());

  server->in("/t").to("r1").to("r2").emit("msg", json::array({"x"}));
  sched.run_once();  // the directory forwards to room r1, then room r2
  if (sched.jobs.size() != 2) {
    WARN("scenario not reached: expected two room jobs, got " << sched.jobs.size());
    FAIL("scenario not reached");
  }
  sched.run_once_lifo();  // room r2 delivers first
  a.enqueue(event("/t", R"(["leave","r1"])"));
  sched.run_jobs_filtered([&](caf::resumable* r) { return r == a_job; });  // drops r2's copy, leaves r1
  run();                                                                   // room r1 delivers
  CHECK(a.take_texts() == texts{msg("/t", "x")});
}
