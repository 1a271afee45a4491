// The connection actor (sio/sio_connection.cpp) with the echo profile
// (apps/echo/echo_app.cpp), run deterministically on CAF's test coordinator with virtual
// time; output observed through recorder outlets. See tests/unit/support/.
#include "sio/sio_connection.hpp"
#include "sio/recovery_codec.hpp"
#include "sio/sio_server.hpp"
#include "storage/storage_actor.hpp"
#include "storage/store.hpp"
#include "apps/echo/echo_app.hpp"
#include "tests/unit/support/deterministic.hpp"
#include "tests/unit/support/recorder_outlet.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <tuple>
#include <vector>

using namespace std::chrono_literals;
using namespace std::string_literals;
using hub::json;
using hub::test::sio_client;
using hub::test::sio_fixture;
namespace sio = hub::sio;

namespace {

using log_ptr = std::shared_ptr<std::vector<std::string>>;

bool is_sid_reply(const std::string& text, const std::string& prefix) {
  static const std::regex sid_re(R"(\{"sid":"[A-Za-z0-9_-]{20}"\})");
  return text.rfind(prefix, 0) == 0 && std::regex_match(text.substr(prefix.size()), sid_re);
}

// A namespace that records what the application sees, to observe acks both ways and
// disconnects. The log is shared with the handlers (which the server owns and may
// call during teardown, after the test body's locals are gone).
log_ptr install_probe(sio::server& srv, const std::string& name = "/probe") {
  auto log = std::make_shared<std::vector<std::string>>();
  auto& nsp = srv.of(name);
  nsp.on_connection([log](sio::socket& s) { log->push_back("connect " + s.id()); });
  // ["ask", timeout_ms, ...args]: emit "question" with an ack request.
  nsp.on("ask", [log](sio::socket& s, sio::event& ev) {
    auto timeout = std::chrono::milliseconds(ev.args().at(0).get<long>());
    json rest = json::array();
    for (std::size_t i = 1; i < ev.args().size(); ++i) rest.push_back(ev.args()[i]);
    auto* self = s.self();
    s.emit_with_ack("question", rest, timeout, [log, self](std::optional<sio::event> reply) {
      auto t = std::chrono::duration_cast<std::chrono::milliseconds>(self->clock().now().time_since_epoch()).count();
      log->push_back("reply@" + std::to_string(t) + " " +
                     (reply ? "[" + std::string(reply->raw_args()) + "]" : "none"));
    });
  });
  nsp.on("kick", [](sio::socket& s, sio::event&) { s.disconnect(false); });
  nsp.on("kick-all", [](sio::socket& s, sio::event&) { s.disconnect(true); });
  nsp.on_disconnect(
    [log](sio::socket&, sio::disconnect_reason why) { log->push_back("disconnect " + std::string(to_string(why))); });
  return log;
}

}  // namespace

// -- CONNECT ----------------------------------------------------------------------------------

TEST_CASE_METHOD(sio_fixture, "actors: CONNECT to / replies with a sid and emits auth", "[actors][connection]") {
  hub::apps::install_echo(make_server());
  auto& a = client();
  auto& b = client();

  a.feed("40");
  auto ta = a.take_texts();
  REQUIRE(ta.size() == 2);
  CHECK(is_sid_reply(ta[0], "40"));
  CHECK(ta[1] == R"(42["auth",{}])");
  CHECK_FALSE(a.out->closed());

  b.feed("40");
  auto tb = b.take_texts();
  REQUIRE(tb.size() == 2);
  CHECK(is_sid_reply(tb[0], "40"));
  CHECK(tb[0] != ta[0]);  // socket ids are per socket
}

TEST_CASE_METHOD(sio_fixture, "actors: CONNECT auth payload is echoed in key order", "[actors][connection]") {
  hub::apps::install_echo(make_server());
  auto& c = client();
  c.feed(R"(40{"token":"abc","b":[1,2],"a":{"z":null}})");
  auto t = c.take_texts();
  REQUIRE(t.size() == 2);
  CHECK(is_sid_reply(t[0], "40"));
  CHECK(t[1] == R"(42["auth",{"token":"abc","b":[1,2],"a":{"z":null}}])");
}

TEST_CASE_METHOD(sio_fixture, "actors: auth() is the CONNECT payload in later handlers too", "[actors][connection]") {
  // The parsed payload is dropped once the connection handler has run (only its text is
  // kept): a later handler must still see the same object, or {} when there was none.
  auto& srv = make_server();
  auto& nsp = srv.of("/auth");
  nsp.on_connection([](sio::socket& s) { s.emit("first", json::array({s.auth()})); });
  nsp.on("again", [](sio::socket& s, sio::event&) {
    s.emit("again", json::array({s.auth()}));
    s.emit("again", json::array({s.auth()}));  // cached or not: the same
  });
  auto& c = client();
  c.feed(R"(40/auth,{"userId":"u1","n":[1,{"k":"v"}]})");
  auto t = c.take_texts();
  REQUIRE(t.size() == 2);
  CHECK(t[1] == R"(42/auth,["first",{"userId":"u1","n":[1,{"k":"v"}]}])");
  c.feed(R"(42/auth,["again"])");
  t = c.take_texts();
  REQUIRE(t.size() == 2);
  CHECK(t[0] == R"(42/auth,["again",{"userId":"u1","n":[1,{"k":"v"}]}])");
  CHECK(t[1] == t[0]);

  auto& d = client();
  d.feed("40/auth,");  // no payload: {}
  t = d.take_texts();
  REQUIRE(t.size() == 2);
  CHECK(t[1] == R"(42/auth,["first",{}])");
  d.feed(R"(42/auth,["again"])");
  t = d.take_texts();
  REQUIRE(t.size() == 2);
  CHECK(t[0] == R"(42/auth,["again",{}])");
}

TEST_CASE_METHOD(sio_fixture, "actors: CONNECT to /custom replies in that namespace", "[actors][connection]") {
  hub::apps::install_echo(make_server());
  auto& c = client();
  c.feed("40/custom,");
  auto t = c.take_texts();
  REQUIRE(t.size() == 2);
  CHECK(is_sid_reply(t[0], "40/custom,"));
  CHECK(t[1] == R"(42/custom,["auth",{}])");

  c.feed(R"(40{"k":1})");  // "/" on the same session: a second, independent socket
  t = c.take_texts();
  REQUIRE(t.size() == 2);
  CHECK(is_sid_reply(t[0], "40"));
  CHECK(t[1] == R"(42["auth",{"k":1}])");
  CHECK_FALSE(c.out->closed());
}

TEST_CASE_METHOD(sio_fixture, "actors: CONNECT to an unknown namespace is refused, session stays",
                 "[actors][connection]") {
  hub::apps::install_echo(make_server());
  auto& c = client();
  c.feed("40/nope,");
  CHECK(c.take_texts() == std::vector<std::string>{R"(44/nope,{"message":"Invalid namespace"})"});
  CHECK_FALSE(c.out->closed());
  // Still usable: a valid CONNECT works, and the refused one may be retried.
  c.feed("40");
  auto t = c.take_texts();
  REQUIRE(t.size() == 2);
  CHECK(is_sid_reply(t[0], "40"));
  c.feed("40/nope,");
  CHECK(c.take_texts() == std::vector<std::string>{R"(44/nope,{"message":"Invalid namespace"})"});
  CHECK_FALSE(c.out->closed());
}

TEST_CASE_METHOD(sio_fixture, "actors: middleware refusal sends connect_error with data", "[actors][connection]") {
  hub::apps::install_echo(make_server());
  auto& c = client();
  c.feed(R"(40{"reject":"x"})");
  CHECK(c.take_texts() == std::vector<std::string>{R"(44{"message":"not authorized","data":{"reason":"x"}})"});
  CHECK_FALSE(c.out->closed());
  // No socket was made: an event for "/" is a protocol error...
  SECTION("no socket after a refusal") {
    c.feed(R"(42["message",1])");
    CHECK(c.take_texts().empty());
    CHECK(c.out->closed());
  }
  // ...and the client may try again.
  SECTION("a later CONNECT succeeds") {
    c.feed(R"(40/custom,{"reject":{"why":[1]}})");
    CHECK(c.take_texts() ==
          std::vector<std::string>{R"(44/custom,{"message":"not authorized","data":{"reason":{"why":[1]}}})"});
    c.feed("40");
    auto t = c.take_texts();
    REQUIRE(t.size() == 2);
    CHECK(is_sid_reply(t[0], "40"));
    CHECK_FALSE(c.out->closed());
  }
}

// -- events and client acks ---------------------------------------------------------------

TEST_CASE_METHOD(sio_fixture, "actors: EVENT is dispatched and echoed with its raw text", "[actors][connection]") {
  hub::apps::install_echo(make_server());
  auto& c = client();
  c.connect();

  c.feed(R"(42["message",1,{"a":2}])");
  CHECK(c.take_texts() == std::vector<std::string>{R"(42["message-back",1,{"a":2}])"});

  // Number text, key order and inner whitespace are passed through, not re-encoded.
  c.feed(R"(42["message",1.0, {"b":1,"a":2},1e21,-0,"\u00e9"])");
  CHECK(c.take_texts() == std::vector<std::string>{R"(42["message-back",1.0, {"b":1,"a":2},1e21,-0,"\u00e9"])"});

  c.feed(R"(42["message"])");
  CHECK(c.take_texts() == std::vector<std::string>{R"(42["message-back"])"});

  // An event without a handler (the echo profile has no on_any) is dropped quietly.
  c.feed(R"(42["unknown",1])");
  CHECK(c.take_texts().empty());
  CHECK_FALSE(c.out->closed());

  c.connect("/custom");
  c.feed(R"(42/custom,["message","x"])");
  CHECK(c.take_texts() == std::vector<std::string>{R"(42/custom,["message-back","x"])"});
}

TEST_CASE_METHOD(sio_fixture, "actors: EVENT with an ack id is acked with the same arguments", "[actors][connection]") {
  hub::apps::install_echo(make_server());
  auto& c = client();
  c.connect();
  c.feed(R"(421["message-with-ack",1,{"a":2}])");
  CHECK(c.take_texts() == std::vector<std::string>{R"(431[1,{"a":2}])"});
  c.feed(R"(4218446744073709551615["message-with-ack"])");  // the largest ack id
  CHECK(c.take_texts() == std::vector<std::string>{R"(4318446744073709551615[])"});
  c.connect("/custom");
  c.feed(R"(42/custom,7["message-with-ack","x",null])");
  CHECK(c.take_texts() == std::vector<std::string>{R"(43/custom,7["x",null])"});
  CHECK_FALSE(c.out->closed());
}

TEST_CASE_METHOD(sio_fixture, "actors: BINARY_EVENT is reassembled and echoed with its binaries",
                 "[actors][connection]") {
  hub::apps::install_echo(make_server());
  auto& c = client();
  c.connect();
  const std::string bin0("\x00\x01\xff", 3);
  const std::string bin1 = "second";

  SECTION("event") {
    c.feed(R"(451-["message",{"_placeholder":true,"num":0},"t"])");
    CHECK(c.out->size() == 0);  // waits for its attachment
    c.feed_binary(bin0);
    auto ps = c.take();
    REQUIRE(ps.size() == 1);
    CHECK(ps[0]->text == R"(451-["message-back",{"_placeholder":true,"num":0},"t"])");
    CHECK(ps[0]->binaries == std::vector<std::string>{bin0});
  }
  SECTION("event with ack, two attachments, in order") {
    c.feed(R"(452-3["message-with-ack",{"x":{"_placeholder":true,"num":1}},{"_placeholder":true,"num":0}])");
    c.feed_binary(bin0);
    CHECK(c.out->size() == 0);
    c.feed_binary(bin1);
    auto ps = c.take();
    REQUIRE(ps.size() == 1);
    CHECK(ps[0]->text == R"(462-3[{"x":{"_placeholder":true,"num":1}},{"_placeholder":true,"num":0}])");
    CHECK(ps[0]->binaries == std::vector<std::string>{bin0, bin1});
  }
  SECTION("in a namespace") {
    c.connect("/custom");
    c.feed(R"(451-/custom,["message",{"_placeholder":true,"num":0}])");
    c.feed_binary(bin1);
    auto ps = c.take();
    REQUIRE(ps.size() == 1);
    CHECK(ps[0]->text == R"(451-/custom,["message-back",{"_placeholder":true,"num":0}])");
    CHECK(ps[0]->binaries == std::vector<std::string>{bin1});
  }
  CHECK_FALSE(c.out->closed());
}

// -- server -> client acks -----------------------------------------------------------------

TEST_CASE_METHOD(sio_fixture, "actors: emit-with-ack carries an ack id and the client's ack is emitted back",
                 "[actors][connection][ack]") {
  hub::apps::install_echo(make_server());
  auto& c = client();
  c.connect();

  c.feed(R"(42["emit-with-ack",1,"two"])");
  CHECK(c.take_texts() == std::vector<std::string>{R"(420["emit-with-ack",1,"two"])"});
  c.feed(R"(42["emit-with-ack",{"n":3}])");
  CHECK(c.take_texts() == std::vector<std::string>{R"(421["emit-with-ack",{"n":3}])"});

  // Acks answered out of order, each once.
  c.feed(R"(431["r1"])");
  CHECK(c.take_texts() == std::vector<std::string>{R"(42["emit-with-ack","r1"])"});
  c.feed(R"(430["r0",2.50])");
  CHECK(c.take_texts() == std::vector<std::string>{R"(42["emit-with-ack","r0",2.50])"});
  c.feed(R"(430["again"])");  // already answered: ignored
  c.feed(R"(4399[])");        // never asked: ignored
  CHECK(c.take_texts().empty());

  // A binary ack.
  c.feed(R"(42["emit-with-ack"])");
  CHECK(c.take_texts() == std::vector<std::string>{R"(422["emit-with-ack"])"});
  c.feed(R"(461-2[{"_placeholder":true,"num":0}])");
  c.feed_binary("bytes");
  auto ps = c.take();
  REQUIRE(ps.size() == 1);
  CHECK(ps[0]->text == R"(451-["emit-with-ack",{"_placeholder":true,"num":0}])");
  CHECK(ps[0]->binaries == std::vector<std::string>{"bytes"});
  CHECK_FALSE(c.out->closed());
}

TEST_CASE_METHOD(sio_fixture,
                 "actors: an ack that never comes times out after 20 s (virtual) and a late ack is ignored",
                 "[actors][connection][ack]") {
  hub::apps::install_echo(make_server());
  auto& c = client();
  c.connect();
  c.feed(R"(42["emit-with-ack","q"])");
  REQUIRE(c.take_texts() == std::vector<std::string>{R"(420["emit-with-ack","q"])"});

  SECTION("an ack just before the timeout is still taken") {
    advance(19999ms);
    c.feed(R"(430["in time"])");
    CHECK(c.take_texts() == std::vector<std::string>{R"(42["emit-with-ack","in time"])"});
  }
  SECTION("after the timeout nothing happens and the late ack is ignored") {
    advance(20000ms);
    CHECK(elapsed() == 20000ms);
    CHECK(c.take_texts().empty());
    CHECK_FALSE(c.out->closed());
    c.feed(R"(430["late"])");
    CHECK(c.take_texts().empty());
    CHECK_FALSE(c.out->closed());
    // The connection works on, and ack ids keep counting.
    c.feed(R"(42["emit-with-ack","q2"])");
    CHECK(c.take_texts() == std::vector<std::string>{R"(421["emit-with-ack","q2"])"});
  }
}

TEST_CASE_METHOD(sio_fixture, "actors: ack callbacks see the reply, the timeout (at its due time) or the disconnect",
                 "[actors][connection][ack]") {
  auto& srv = make_server();
  auto log = install_probe(srv);
  auto& c = client();
  c.connect("/probe");
  log->clear();

  c.feed(R"(42/probe,["ask",5000,"a"])");
  CHECK(c.take_texts() == std::vector<std::string>{R"(42/probe,0["question","a"])"});
  advance(1000ms);
  c.feed(R"(42/probe,["ask",5000,"b"])");
  CHECK(c.take_texts() == std::vector<std::string>{R"(42/probe,1["question","b"])"});
  c.feed(R"(43/probe,1["B",{"k":1}])");
  CHECK(*log == std::vector<std::string>{R"(reply@1000 ["B",{"k":1}])"});

  advance(3999ms);  // t = 4999: ack 0 still pending
  CHECK(log->size() == 1);
  advance(10s);  // fired exactly at t = 5000, once
  CHECK(*log == std::vector<std::string>{R"(reply@1000 ["B",{"k":1}])", "reply@5000 none"});
  c.feed(R"(43/probe,0["late"])");
  CHECK(log->size() == 2);

  // A pending ack is answered with nullopt when the socket goes away, and its timer
  // then finds nothing.
  c.feed(R"(42/probe,["ask",5000,"c"])");
  CHECK(c.take_texts() == std::vector<std::string>{R"(42/probe,2["question","c"])"});
  c.feed("41/probe,");
  CHECK(log->at(2) == "reply@14999 none");
  CHECK(log->at(3) == "disconnect client namespace disconnect");
  advance(10s);
  CHECK(log->size() == 4);
  CHECK_FALSE(c.out->closed());
}

// -- protocol errors ---------------------------------------------------------------------------

TEST_CASE_METHOD(sio_fixture, "actors: protocol errors close the connection", "[actors][connection][errors]") {
  hub::apps::install_echo(make_server());
  auto& c = client();
  const auto actors_before = running_actors();

  SECTION("duplicate CONNECT") {
    c.connect();
    c.feed("40");
    CHECK(c.take_texts().empty());
  }
  SECTION("duplicate CONNECT to a custom namespace") {
    c.connect("/custom");
    c.feed("40/custom,");
    CHECK(c.take_texts().empty());
  }
  SECTION("EVENT for a namespace not connected") {
    c.connect();
    c.feed(R"(42/custom,["message",1])");
    CHECK(c.take_texts().empty());
  }
  SECTION("EVENT before any CONNECT") {
    c.feed(R"(42["message",1])");
    CHECK(c.take_texts().empty());
  }
  SECTION("ACK for a namespace not connected") {
    c.connect();
    c.feed(R"(43/custom,0[])");
  }
  SECTION("DISCONNECT for a namespace not connected") {
    c.connect();
    c.feed("41/custom,");
  }
  SECTION("CONNECT_ERROR from the client") {
    c.connect();
    c.feed(R"(44{"message":"x"})");
  }
  SECTION("malformed packet (parse error)") {
    c.connect();
    auto bad = GENERATE(as<std::string>{}, R"(42["message")", "47", "4x", R"(42{"a":1})", "42[]", R"(42["connect"])",
                        "42[1", R"(43["no id"])", "45-[\"message\"]");
    CAPTURE(bad);
    c.feed(bad);
    CHECK(c.take_texts().empty());
  }
  SECTION("binary data when no attachment is expected") {
    c.connect();
    c.feed_binary("unexpected");
    CHECK(c.take_texts().empty());
  }
  SECTION("an attachment placeholder out of range") {
    c.connect();
    c.feed(R"(451-["message",{"_placeholder":true,"num":1}])");
    c.feed_binary("b");
    CHECK(c.take_texts().empty());
  }

  CHECK(c.out->close_calls() == 1);
  CHECK(c.out->sent_after_close() == 0);
  // The close came back as eio_close and the actor is gone: nothing answers any more.
  CHECK(running_actors() == actors_before - 1);
  c.feed("40");
  CHECK(c.take_texts().empty());
}

TEST_CASE_METHOD(sio_fixture, "actors: protocol errors leave the other sessions alone",
                 "[actors][connection][errors]") {
  hub::apps::install_echo(make_server());
  auto& bad = client();
  auto& good = client();
  bad.connect();
  good.connect();
  bad.feed("40");
  CHECK(bad.out->closed());
  CHECK_FALSE(good.out->closed());
  good.feed(R"(42["message","still here"])");
  CHECK(good.take_texts() == std::vector<std::string>{R"(42["message-back","still here"])"});
}

// -- connect timeout ---------------------------------------------------------------------------

TEST_CASE_METHOD(sio_fixture, "actors: a session that never CONNECTs is closed after connect_timeout",
                 "[actors][connection][timeout]") {
  sio::server_config cfg;
  cfg.connect_timeout = 1000ms;
  hub::apps::install_echo(make_server(cfg));
  const auto base = running_actors();

  SECTION("closed at exactly the timeout, not before") {
    auto& c = client();
    CHECK(running_actors() == base + 1);
    advance(999ms);
    CHECK_FALSE(c.out->closed());
    advance(1ms);
    CHECK(c.out->close_calls() == 1);
    CHECK(running_actors() == base);  // eio_close came back; the actor quit
    CHECK(c.out->size() == 0);
  }
  SECTION("the timer is per session, from its start") {
    advance(500ms);
    auto& late = client();
    advance(999ms);  // t = 1499
    CHECK_FALSE(late.out->closed());
    advance(1ms);
    CHECK(late.out->closed());
  }
  SECTION("refused CONNECTs do not count") {
    auto& c = client();
    c.feed("40/nope,");
    c.feed(R"(40{"reject":1})");
    CHECK(c.take_texts().size() == 2);
    advance(1000ms);
    CHECK(c.out->closed());
  }
  SECTION("a CONNECT just in time keeps the session") {
    auto& c = client();
    advance(999ms);
    c.connect();
    advance(1ms);
    CHECK_FALSE(c.out->closed());
    advance(1h);
    CHECK_FALSE(c.out->closed());
    c.feed(R"(42["message",1])");
    CHECK(c.take_texts() == std::vector<std::string>{R"(42["message-back",1])"});
  }
}

// Node's socket.io clears the connect timer on the first successful CONNECT
// (Client.doConnect): a client that connected and then left "/" before the timer fired
// stays open.
TEST_CASE_METHOD(sio_fixture, "actors: a session that connected once is not closed by the connect timeout",
                 "[actors][connection][timeout]") {
  sio::server_config cfg;
  cfg.connect_timeout = 1000ms;
  hub::apps::install_echo(make_server(cfg));
  auto& c = client();
  c.connect();
  c.feed("41");
  advance(1000ms);
  CHECK_FALSE(c.out->closed());
}

// -- client DISCONNECT and server disconnect -------------------------------------------------

TEST_CASE_METHOD(sio_fixture, "actors: client DISCONNECT removes the socket, the session stays",
                 "[actors][connection]") {
  hub::apps::install_echo(make_server());
  auto& c = client();
  c.connect();
  c.connect("/custom");

  c.feed("41");
  CHECK(c.take_texts().empty());
  CHECK_FALSE(c.out->closed());

  // The socket left the namespace-wide room: a broadcast to "/" no longer reaches it,
  // while /custom still works.
  server->in("/").emit("news", json::array({1}));
  server->in("/custom").emit("news", json::array({2}));
  run();
  CHECK(c.take_texts() == std::vector<std::string>{R"(42/custom,["news",2])"});

  SECTION("a later event for / closes the connection") {
    c.feed(R"(42["message",1])");
    CHECK(c.take_texts().empty());
    CHECK(c.out->closed());
  }
  SECTION("a new CONNECT to / makes a new socket") {
    c.feed("40");
    auto t = c.take_texts();
    REQUIRE(t.size() == 2);
    CHECK(is_sid_reply(t[0], "40"));
    c.feed(R"(42["message",1])");
    CHECK(c.take_texts() == std::vector<std::string>{R"(42["message-back",1])"});
    CHECK_FALSE(c.out->closed());
  }
}

TEST_CASE_METHOD(sio_fixture, "actors: server-side disconnect of a namespace or of the session",
                 "[actors][connection]") {
  auto& srv = make_server();
  hub::apps::install_echo(srv);
  auto log = install_probe(srv);
  auto& c = client();
  c.connect();
  c.connect("/probe");
  log->clear();

  SECTION("namespace only") {
    c.feed(R"(42/probe,["kick"])");
    CHECK(c.take_texts() == std::vector<std::string>{"41/probe,"});
    CHECK(*log == std::vector<std::string>{"disconnect server namespace disconnect"});
    CHECK_FALSE(c.out->closed());
    c.feed(R"(42["message",1])");
    CHECK(c.take_texts() == std::vector<std::string>{R"(42["message-back",1])"});
  }
  SECTION("whole session") {
    c.feed(R"(42/probe,["kick-all"])");
    auto t = c.take_texts();
    std::sort(t.begin(), t.end());
    CHECK(t == std::vector<std::string>{"41", "41/probe,"});
    CHECK(c.out->close_calls() == 1);
    // As in Node: the sockets go with "server namespace disconnect", before the close.
    CHECK(*log == std::vector<std::string>{"disconnect server namespace disconnect"});
  }
}

TEST_CASE_METHOD(sio_fixture, "actors: transport close removes every socket and ends the actor",
                 "[actors][connection]") {
  auto& srv = make_server();
  hub::apps::install_echo(srv);
  auto log = install_probe(srv);
  const auto base = running_actors();
  auto& c = client();
  c.connect();
  c.connect("/probe");
  c.feed(R"(42/probe,["ask",5000])");
  c.take();
  log->clear();
  CHECK(running_actors() > base);

  c.transport_closed(hub::close_reason::ping_timeout);
  CHECK(*log == std::vector<std::string>{"reply@0 none", "disconnect ping timeout"});
  CHECK_FALSE(c.out->closed());  // the transport closed itself; no close() asked
  // The connection and the namespace rooms it alone was in are gone.
  CHECK(running_actors() == base);
  advance(10s);
  CHECK(log->size() == 2);
}

// -- the engine echo actor ---------------------------------------------------------------------

TEST_CASE_METHOD(hub::test::deterministic, "actors: engine echo sends text and binary back unchanged",
                 "[actors][connection]") {
  auto out = std::make_shared<hub::test::recorder_outlet>();
  auto echo = hub::apps::spawn_engine_echo(sys, out);
  caf::anon_send(echo, hub::eio_text_atom::value, "hello"s);
  caf::anon_send(echo, hub::eio_binary_atom::value, std::string("\0b", 2));
  run();
  REQUIRE(out->size() == 2);
  CHECK(out->at(0).text == "4hello");
  CHECK(out->at(0).binaries.empty());
  CHECK(out->at(1).text.empty());
  CHECK(out->at(1).binaries == std::vector<std::string>{std::string("\0b", 2)});
  caf::anon_send(echo, hub::eio_closed_atom::value, hub::close_reason::transport_close);
  run();
  CHECK(running_actors() == 0);
  echo = caf::actor{};
}

// -- connection state recovery: the session record ----------------------------------------

namespace {

// A storage stand-in that answers stream positions and records the session writes.
struct record_log {
  std::vector<std::string> puts;  // values of kv_put, in order
  int erases = 0;
};

// A server config with connection state recovery on `storage` (a partial stand-in).
sio::server_config recovering_with(const caf::actor& storage) {
  sio::server_config cfg;
  cfg.recovery = sio::recovery_config{};
  cfg.recovery->storage = caf::actor_cast<hub::storage::storage_actor>(storage);
  cfg.recovery->epoch = "e1";
  return cfg;
}

// Recovery on `nsp` with streams named by `stream_of`, nothing to replay, no saved data.
void recover_streams(sio::namespace_def& nsp, std::function<std::optional<std::string>(const std::string&)> stream_of) {
  nsp.recovery(std::move(stream_of),
               [](const std::string&, std::uint64_t, const std::string&)
                 -> std::optional<std::pair<std::string, json>> { return std::nullopt; },
               [](sio::socket&) { return json(); }, [](sio::socket&, const json&) { return true; });
}

caf::behavior fake_storage(caf::event_based_actor*, std::shared_ptr<record_log> log) {
  namespace st = hub::storage;
  return {
    [](st::last_seq_atom, const std::string&) -> std::uint64_t { return 7; },
    [log](st::kv_put_atom, const std::string&, const std::string& value) {
      log->puts.push_back(value);
      return true;
    },
    [log](st::kv_erase_atom, const std::string&) {
      ++log->erases;
      return true;
    },
    [](st::kv_get_atom, const std::string&) { return std::make_tuple(false, std::string{}); },
  };
}

}  // namespace

TEST_CASE_METHOD(sio_fixture, "actors: a connect that joins a stream's room writes its session record once",
                 "[actors][connection][recovery]") {
  // The record waits for the stream position (joinedAt) instead of being written once
  // without it and again with it.
  auto log = std::make_shared<record_log>();
  auto storage = sys.spawn(fake_storage, log);
  auto& srv = make_server(recovering_with(storage));
  auto& nsp = srv.of("/");
  recover_streams(nsp, [](const std::string& room) -> std::optional<std::string> {
    if (room.rfind("s:", 0) == 0) return "log/" + room.substr(2);
    return std::nullopt;
  });
  nsp.on_connection([](sio::socket& s) {
    s.join("s:a");
    s.join("plain");
    s.join("s:b");
  });
  auto& c = client();
  c.feed("40");
  run();
  REQUIRE(log->puts.size() == 1);
  auto rec = json::parse(log->puts[0]);
  CHECK(rec["joinedAt"] == json({{"log/a", 7}, {"log/b", 7}}));
  CHECK(rec["rooms"].size() == 4);  // "", plain, s:a, s:b
  CHECK_FALSE(rec.contains("disconnectedAt"));

  // A later change is written as before; a transport close writes the disconnect time.
  c.transport_closed();
  run();
  REQUIRE(log->puts.size() == 2);
  CHECK(json::parse(log->puts[1]).contains("disconnectedAt"));
  caf::anon_send_exit(storage, caf::exit_reason::user_shutdown);
  run();
}

namespace {

// A cluster's storage stand-in for recovery: one session record, written by node "nB"
// while connected (no disconnect time: nB died, or the client left it), and nB's
// heartbeat key when `beat` is set.
struct cluster_store {
  std::string record;
  std::optional<std::string> beat;
};

caf::behavior fake_cluster_storage(caf::event_based_actor*, std::shared_ptr<cluster_store> st) {
  namespace hs = hub::storage;
  return {
    [](hs::last_seq_atom, const std::string&) -> std::uint64_t { return 0; },
    [](hs::kv_put_atom, const std::string&, const std::string&, std::uint64_t) { return true; },
    [](hs::kv_erase_atom, const std::string&) { return true; },
    [st](hs::kv_get_atom, const std::string& key) {
      if (key == "sess/P1") return std::make_tuple(true, st->record);
      if (key == "node/nB" && st->beat) return std::make_tuple(true, *st->beat);
      return std::make_tuple(false, std::string{});
    },
  };
}

std::string record_by_nB(std::chrono::system_clock::time_point updated) {
  hub::recovery::session_record r;
  r.sid = "S1";
  r.pid = "P1";
  r.nsp = "/";
  r.updated_at_ms = hub::recovery::to_ms(updated);
  r.node = "nB";
  return hub::recovery::encode_record(r);
}

}  // namespace

TEST_CASE_METHOD(sio_fixture, "actors: a session another node wrote is recovered by its heartbeat, or by its own write",
                 "[actors][connection][recovery][cluster]") {
  const auto now = std::chrono::system_clock::now();
  auto st = std::make_shared<cluster_store>();
  auto storage = sys.spawn(fake_cluster_storage, st);
  auto cfg = recovering_with(storage);
  cfg.recovery->node = "nA";
  cfg.recovery->window = 2min;
  auto& srv = make_server(cfg);
  recover_streams(srv.of("/"), [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
  auto connect = [&] {
    auto& c = client();
    c.feed(R"(40{"pid":"P1"})");
    run();
    auto texts = c.take_texts();
    REQUIRE_FALSE(texts.empty());
    return json::parse(texts[0].substr(2));
  };

  SECTION("nB's beat is current: the client moved here and keeps its session") {
    st->record = record_by_nB(now - 10min);  // an old write; the beat says nB lives
    st->beat = std::to_string(hub::recovery::to_ms(now));
    auto reply = connect();
    CHECK(reply["sid"] == "S1");
    CHECK(reply["pid"] == "P1");
  }
  SECTION("nB's beat stopped longer ago than the window: a fresh session") {
    st->record = record_by_nB(now - 10min);
    st->beat = std::to_string(hub::recovery::to_ms(now - 5min));
    auto reply = connect();
    CHECK(reply["sid"] != "S1");
    CHECK(reply["pid"] != "P1");
  }
  SECTION("nB's heartbeat key is gone (Redis lost it): the record's own write counts") {
    st->record = record_by_nB(now - 3s);
    auto reply = connect();
    CHECK(reply["sid"] == "S1");
    CHECK(reply["pid"] == "P1");
  }
  SECTION("heartbeat gone and the record older than the window: a fresh session") {
    st->record = record_by_nB(now - 10min);
    auto reply = connect();
    CHECK(reply["sid"] != "S1");
  }
  caf::anon_send_exit(storage, caf::exit_reason::user_shutdown);
  run();
}

// -- session deadlines and owed acks ------------------------------------------------------------

TEST_CASE_METHOD(sio_fixture, "actors: close_at ends the session at its deadline as a forced close, in steps",
                 "[actors][connection][deadline]") {
  auto& srv = make_server();
  auto log = std::make_shared<std::vector<std::string>>();
  auto& nsp = srv.of("/");
  // ["expire", seconds]: the socket's credentials end that far from now.
  nsp.on("expire", [](sio::socket& s, sio::event& ev) {
    s.close_at(hub::wall_now() + std::chrono::seconds(ev.args().at(0).get<long>()), "test deadline");
  });
  nsp.on_disconnect([log](sio::socket&, sio::disconnect_reason why) { log->push_back(std::string(to_string(why))); });
  auto& c = client();
  auto& other = client();
  c.connect();
  other.connect();
  c.take();

  SECTION("a far deadline (past one 5-minute step) is kept across steps") {
    c.feed(R"(42["expire",900])");
    advance(899s);
    CHECK_FALSE(c.out->closed());
    advance(2s);
    CHECK(c.out->close_calls() == 1);
    c.transport_closed(hub::close_reason::forced_close);  // what the transport reports after close()
    CHECK(*log == std::vector<std::string>{"forced close"});
  }
  SECTION("the latest deadline wins") {
    c.feed(R"(42["expire",10])");
    c.feed(R"(42["expire",60])");
    advance(30s);
    CHECK_FALSE(c.out->closed());
    advance(31s);
    CHECK(c.out->close_calls() == 1);
  }
  SECTION("a deadline already past closes at once") {
    c.feed(R"(42["expire",-5])");
    advance(1ms);
    CHECK(c.out->close_calls() == 1);
  }
  // Only that session.
  CHECK_FALSE(other.out->closed());
}

TEST_CASE_METHOD(sio_fixture, "actors: events past max_pending_acks are answered with the overload reply, unhandled",
                 "[actors][connection][ack]") {
  sio::server_config cfg;
  cfg.max_pending_acks = 2;
  auto& srv = make_server(cfg);
  auto held = std::make_shared<std::vector<sio::ack_sender>>();
  auto handled = std::make_shared<int>(0);
  // "hold" keeps its ack unanswered; "release" answers every held one.
  srv.of("/").on("hold", [held, handled](sio::socket&, sio::event& ev) {
    ++*handled;
    held->push_back(ev.ack);
  });
  srv.of("/").on("release", [held](sio::socket&, sio::event&) {
    for (auto& a : *held) a(json::array({"done"}));
    held->clear();
  });
  auto& c = client();
  c.connect();
  c.take();
  c.feed(R"(421["hold"])");
  c.feed(R"(422["hold"])");
  c.feed(R"(423["hold"])");  // a third one owed: refused
  c.feed(R"(42["hold"])");   // no ack asked: not counted, handled
  CHECK(*handled == 3);
  CHECK(c.take_texts() == std::vector<std::string>{R"(433[{"ok":false,"error":"too_many_pending_acks"}])"});
  // Answering frees the slots (the senders are gone once answered and dropped).
  c.feed(R"(42["release"])");
  CHECK(c.take_texts() == std::vector<std::string>{R"(431["done"])", R"(432["done"])"});
  c.feed(R"(425["hold"])");
  c.feed(R"(426["hold"])");
  CHECK(*handled == 5);
  CHECK(c.take_texts().empty());
}
