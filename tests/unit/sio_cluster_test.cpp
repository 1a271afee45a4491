// The cluster adapter (sio/cluster_adapter.cpp): two (or three) Socket.IO servers in one
// actor system, linked by an in-memory pub/sub bus with Redis's semantics
// (tests/unit/support/memory_pubsub.hpp), with the echo profile's cluster events
// (apps/echo/echo_app.cpp), run deterministically on CAF's test coordinator. The wire
// against real Redis, Node nodes and the emitter is tests/interop/6*-cluster-*.
#include "sio/sio_server.hpp"
#include "apps/echo/echo_app.hpp"
#include "protocol/cluster_messages.hpp"
#include "util/metrics.hpp"
#include "tests/unit/support/deterministic.hpp"
#include "tests/unit/support/memory_pubsub.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using hub::json;
using hub::test::memory_bus;
using hub::test::sio_client;
namespace sio = hub::sio;

namespace {

class cluster_fixture : public hub::sim::deterministic {
 public:
  ~cluster_fixture() {
    for (auto& c : clients_)
      if (c->actor) caf::anon_send(c->actor, hub::eio_closed_atom::value, hub::close_reason::server_shutting_down);
    drain();
    for (auto& c : clients_) {
      c->out->detach();
      c->actor = caf::actor{};
    }
    drain();
    nodes_.clear();
    drain();
  }

  sio::server& node(const std::string& uid, std::string prefix = "socket.io") {
    sio::server_config c;
    c.cluster.link = bus->make_link();
    c.cluster.uid = uid;
    c.cluster.prefix = std::move(prefix);
    nodes_.push_back(std::make_unique<sio::server>(sys, c));
    hub::apps::install_echo(*nodes_.back());
    nodes_.back()->start();
    run();
    return *nodes_.back();
  }

  // A client connected to "/" of `srv`; its sid in `sid`.
  sio_client& client(const sio::server& srv, std::string* sid = nullptr) {
    auto hs = std::make_shared<sio::handshake>();
    hs->remote_address = "127.0.0.1";
    hs->url = "/socket.io/?EIO=4&transport=websocket";
    hs->headers.add("user-agent", "catch2");
    clients_.push_back(std::make_unique<sio_client>(*this, srv, std::move(hs)));
    auto& c = *clients_.back();
    c.feed("40");
    auto t = c.take_texts();
    REQUIRE(t.size() == 2);  // CONNECT reply, echo's "auth"
    auto reply = json::parse(t[0].substr(2));
    if (sid) *sid = reply["sid"].get<std::string>();
    return c;
  }

  // Sends `event` with `arg` and an ack request; returns the ack's arguments.
  json call(sio_client& c, const std::string& event, const json& arg, std::chrono::milliseconds wait = 0ms) {
    const auto id = next_ack_++;
    c.feed("42" + std::to_string(id) + json::array({event, arg}).dump());
    if (wait.count() > 0) advance(wait);
    run();
    const auto prefix = "43" + std::to_string(id);
    std::optional<json> args;
    auto& kept = stash_[&c];
    for (auto& t : c.take_texts()) {
      if (!args && t.rfind(prefix, 0) == 0 && t.size() > prefix.size() && t[prefix.size()] == '[')
        args = json::parse(t.substr(prefix.size()));
      else
        kept.push_back(std::move(t));  // events that came with it, for events()
    }
    if (!args) FAIL("no ack " << id << " for " << event);
    return *args;
  }

  // The events `c` received since the last look (name and args).
  std::vector<json> events(sio_client& c) {
    std::vector<std::string> texts = std::move(stash_[&c]);
    stash_[&c].clear();
    for (auto& t : c.take_texts()) texts.push_back(std::move(t));
    std::vector<json> out;
    for (const auto& t : texts)
      if (t.rfind("42", 0) == 0) out.push_back(json::parse(t.substr(2)));
    return out;
  }

  std::shared_ptr<memory_bus> bus = memory_bus::make();

 private:
  std::vector<std::unique_ptr<sio::server>> nodes_;
  std::vector<std::unique_ptr<sio_client>> clients_;
  std::map<sio_client*, std::vector<std::string>> stash_;  // texts call() saw besides its ack
  int next_ack_ = 1;
};

}  // namespace

TEST_CASE_METHOD(cluster_fixture, "cluster: a room broadcast reaches the room on every node, once", "[cluster]") {
  auto& a = node("nodeAA");
  auto& b = node("nodeBB");
  std::string sid_b1;
  auto& a1 = client(a);
  auto& b1 = client(b, &sid_b1);
  auto& b2 = client(b);
  CHECK(call(a1, "join", "r") == json::array({true}));
  CHECK(call(b1, "join", "r") == json::array({true}));

  // From a1 on node A to room r: a1 itself (in r) and b1; not b2.
  CHECK(call(a1, "broadcast", {{"rooms", {"r"}}, {"event", "hi"}, {"args", {1, "x"}}}) == json::array({true}));
  CHECK(events(b1) == std::vector<json>{json::array({"hi", 1, "x"})});
  CHECK(events(b2).empty());
  CHECK(events(a1) == std::vector<json>{json::array({"hi", 1, "x"})});  // not twice from Redis

  // One room: published on the room's own channel.
  REQUIRE_FALSE(bus->published.empty());
  CHECK(bus->published.back().first == "socket.io#/#r#");

  // except a room, and except a socket by its id (its own room, as in Node).
  call(b2, "join", "r");
  call(b2, "join", "quiet");
  call(a1, "broadcast", {{"rooms", {"r"}}, {"except", {"quiet", sid_b1}}, {"event", "hi2"}});
  CHECK(events(b1).empty());
  CHECK(events(b2).empty());
  CHECK(events(a1).size() == 1);

  // broadcast: true leaves the sender out, not its room-mates elsewhere.
  call(a1, "broadcast", {{"rooms", {"r"}}, {"broadcast", true}, {"event", "hi3"}});
  CHECK(events(a1).empty());
  CHECK(events(b1).size() == 1);
  CHECK(events(b2).size() == 1);

  // local: true stays on this node.
  call(a1, "broadcast", {{"rooms", {"r"}}, {"local", true}, {"event", "hi4"}});
  CHECK(events(a1).size() == 1);
  CHECK(events(b1).empty());
  CHECK(events(b2).empty());

  // Two rooms, a socket in both: once; namespace-wide: everyone on every node.
  call(a1, "broadcast", {{"rooms", {"r", "quiet"}}, {"event", "two"}});
  CHECK(events(b2).size() == 1);
  CHECK(events(b1).size() == 1);
  CHECK(events(a1).size() == 1);
  call(a1, "broadcast", {{"event", "all"}});
  CHECK(events(a1).size() == 1);
  CHECK(events(b1).size() == 1);
  CHECK(events(b2).size() == 1);
  CHECK(bus->published.back().first == "socket.io#/#");
}

TEST_CASE_METHOD(cluster_fixture, "cluster: binary arguments cross nodes intact", "[cluster]") {
  auto& a = node("nodeAA");
  auto& b = node("nodeBB");
  auto& a1 = client(a);
  auto& b1 = client(b);
  // A binary event from a1: ["broadcast", {event, args: [<bin>, "t"]}] with one attachment.
  a1.feed(R"(451-1["broadcast",{"event":"bin","args":[{"_placeholder":true,"num":0},"t"]}])");
  a1.feed_binary(std::string("\x00\x01\xff", 3));
  run();
  auto got = b1.out->take();
  REQUIRE(got.size() == 1);
  CHECK(got[0]->text == R"(451-["bin",{"_placeholder":true,"num":0},"t"])");
  REQUIRE(got[0]->binaries.size() == 1);
  CHECK(got[0]->binaries[0] == std::string("\x00\x01\xff", 3));
}

TEST_CASE_METHOD(cluster_fixture, "cluster: fetchSockets, socketsJoin, socketsLeave, disconnectSockets span nodes",
                 "[cluster]") {
  auto& a = node("nodeAA");
  auto& b = node("nodeBB");
  std::string sid_a1;
  std::string sid_b1;
  auto& a1 = client(a, &sid_a1);
  auto& b1 = client(b, &sid_b1);
  call(b1, "join", "team");
  call(b1, "set-data", {{"user", "u1"}});

  auto all = call(a1, "fetch-sockets", json::object());
  REQUIRE(all.size() == 1);
  REQUIRE(all[0].size() == 2);
  auto ids = std::vector<std::string>{all[0][0]["id"], all[0][1]["id"]};
  CHECK(std::is_permutation(ids.begin(), ids.end(), std::vector<std::string>{sid_a1, sid_b1}.begin()));
  auto team = call(a1, "fetch-sockets", {{"rooms", {"team"}}});
  REQUIRE(team[0].size() == 1);
  CHECK(team[0][0]["id"] == sid_b1);
  CHECK(team[0][0]["data"] == json{{"user", "u1"}});
  auto team_rooms = team[0][0]["rooms"].get<std::vector<std::string>>();  // sorted by the echo profile
  CHECK(team_rooms == (sid_b1 < "team" ? std::vector<std::string>{sid_b1, "team"} : std::vector<std::string>{"team", sid_b1}));

  call(a1, "sockets-join", {{"rooms", {"team"}}, {"join", {"extra"}}});
  // Sorted by the echo profile; a socket's own id is among its rooms, as in Node.
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return json(v);
  };
  CHECK(call(b1, "rooms", json::object())[0] == sorted({sid_b1, "extra", "team"}));
  call(a1, "sockets-leave", {{"join", json::array()}, {"leave", {"team"}}});
  CHECK(call(b1, "rooms", json::object())[0] == sorted({sid_b1, "extra"}));

  call(a1, "disconnect-sockets", {{"rooms", {"extra"}}});
  auto texts = b1.take_texts();
  CHECK(std::find(texts.begin(), texts.end(), "41") != texts.end());
  CHECK(call(a1, "fetch-sockets", json::object())[0].size() == 1);
}

TEST_CASE_METHOD(cluster_fixture, "cluster: serverSideEmit with ack and a broadcast with acks collect every node",
                 "[cluster]") {
  auto& a = node("nodeAA");
  auto& b = node("nodeBB");
  auto& c = node("nodeCC");
  auto& a1 = client(a);
  auto& b1 = client(b);
  auto& c1 = client(c);
  CHECK(call(a1, "server-count", json::object()) == json::array({3}));

  auto r = call(a1, "server-side-emit", {{"event", "ping"}, {"args", {7}}, {"ack", true}});
  REQUIRE(r[0]["err"].is_null());
  std::vector<std::string> nodes;
  for (const auto& x : r[0]["responses"]) nodes.push_back(x["node"]);
  std::sort(nodes.begin(), nodes.end());
  CHECK(nodes == std::vector<std::string>{"nodeBB", "nodeCC"});  // not itself

  // The clients answer the broadcast's ack request with their own ids.
  const auto id = 99;
  a1.feed("42" + std::to_string(id) + json::array({"broadcast-with-ack", {{"event", "ask"}, {"timeout", 1000}}}).dump());
  run();
  for (auto* cl : {&a1, &b1, &c1}) {
    auto t = cl->take_texts();
    REQUIRE(t.size() == 1);
    // 42<ackid>["ask"]: answer it.
    auto open = t[0].find('[');
    cl->feed("43" + t[0].substr(2, open - 2) + "[\"ok\"]");
  }
  run();
  bool answered = false;
  for (const auto& t : a1.take_texts())
    if (t.rfind("4399", 0) == 0) {
      auto args = json::parse(t.substr(4));
      CHECK(args[0]["err"].is_null());
      CHECK(args[0]["responses"] == json::array({"ok", "ok", "ok"}));
      answered = true;
    }
  CHECK(answered);
}

TEST_CASE_METHOD(cluster_fixture, "cluster: a node that never answers times the request out, with what came",
                 "[cluster]") {
  auto& a = node("nodeAA");
  auto& b = node("nodeBB");
  // A third subscriber to the request channel that never answers: counted by NUMSUB.
  auto mute = bus->make_link();
  struct deaf final : hub::pubsub_listener {
    void on_message(const std::string&, std::string) override {}
    void on_link(bool) override {}
  };
  mute->subscribe({"socket.io-request#/#"}, {}, std::make_shared<deaf>());
  mute->start();
  std::string sid_b1;
  auto& a1 = client(a);
  client(b, &sid_b1);
  const auto id = 77;
  a1.feed("42" + std::to_string(id) + json::array({"server-side-emit", {{"event", "x"}, {"ack", true}}}).dump());
  run();
  CHECK(a1.take_texts().empty());  // waiting for the mute node
  advance(5s);
  auto t = a1.take_texts();
  REQUIRE(t.size() == 1);
  auto args = json::parse(t[0].substr(4));
  CHECK(args[0]["err"] == "timeout reached: only 1 responses received out of 2");
  CHECK(args[0]["responses"].size() == 1);
}

TEST_CASE_METHOD(cluster_fixture, "cluster: malformed messages on our channels are counted and ignored", "[cluster]") {
  auto& a = node("nodeAA");
  auto& b = node("nodeBB");
  auto& a1 = client(a);
  auto& b1 = client(b);
  const auto before = hub::metrics::global().cluster_bad_messages.load();
  for (const char* junk : {"", "\xc1", "{", "{\"type\":99}", "\x93\xa1x", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})
    for (const char* channel : {"socket.io#/#", "socket.io-request#/#", "socket.io-response#/#"})
      bus->publish(channel, junk);
  // Deeply nested msgpack: 100,000 nested one-element arrays.
  bus->publish("socket.io#/#", std::string(100000, '\x91'));
  run();
  CHECK(hub::metrics::global().cluster_bad_messages.load() > before);
  CHECK(events(b1).empty());
  // Both nodes still serve and still link.
  call(a1, "broadcast", {{"event", "after"}});
  CHECK(events(b1).size() == 1);
  CHECK(call(b1, "fetch-sockets", json::object())[0].size() == 2);
}

TEST_CASE_METHOD(cluster_fixture, "cluster: a different key prefix is a different cluster", "[cluster]") {
  auto& a = node("nodeAA", "hub-a");
  auto& b = node("nodeBB", "hub-b");
  auto& a1 = client(a);
  auto& b1 = client(b);
  call(a1, "broadcast", {{"event", "hello"}});
  CHECK(events(b1).empty());
  CHECK(bus->published.back().first == "hub-a#/#");
  CHECK(call(a1, "server-count", json::object()) == json::array({1}));
}

TEST_CASE_METHOD(cluster_fixture, "cluster: with the link down local delivery goes on, the loss is counted",
                 "[cluster]") {
  auto& a = node("nodeAA");
  auto& b = node("nodeBB");
  auto& a1 = client(a);
  auto& a2 = client(a);
  auto& b1 = client(b);
  bus->down = true;
  call(a1, "broadcast", {{"event", "during"}});
  CHECK(events(a2).size() == 1);
  CHECK(events(b1).empty());
  CHECK(bus->lost == 1);
  // fetchSockets answers with this node's sockets rather than wait on a dead link.
  CHECK(call(a1, "fetch-sockets", json::object())[0].size() == 2);
  bus->down = false;
  call(a1, "broadcast", {{"event", "after"}});
  CHECK(events(b1).size() == 1);
}
