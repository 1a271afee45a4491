// Deterministic actor tests: CAF 0.17.6's test coordinator (scheduler.policy
// "testing"): one thread, FIFO, virtual clock starting at t = 0 (toolchain.md §6).
//
//   deterministic      the bare fixture (sim/deterministic.hpp, shared with hub-sim):
//                      run(), advance(d), elapsed(), drain()
//   sio_fixture        + a sio::server and connection actors wired to recorder
//                      outlets (sio_client), torn down in a safe order
//
// Do not use caf/test/dsl.hpp here: its checks crash outside CAF's test runner.
#pragma once

#include "sio/messages.hpp"
#include "sio/sio_server.hpp"
#include "sim/deterministic.hpp"
#include "tests/unit/support/recorder_outlet.hpp"

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hub::test {

using sim::deterministic;

// One Engine.IO session as the connection actor sees it: a recorder outlet and the
// actor. feed*() enqueue what the transport would and run the system.
class sio_client {
 public:
  sio_client(deterministic& env, const sio::server& srv, std::shared_ptr<const sio::handshake> hs)
    : out(std::make_shared<recorder_outlet>()), env_(env) {
    actor = srv.spawn_connection(out, std::move(hs));
    out->attach(actor);
    env_.run();
  }

  // `eio_text` is an Engine.IO message packet as on the wire: "4" + the Socket.IO
  // packet ("40", "42[\"hi\"]"); the transport hands the actor what follows the '4'.
  void enqueue(std::string_view eio_text) {
    if (eio_text.empty() || eio_text.front() != '4')
      throw std::invalid_argument("not an Engine.IO message packet: " + std::string(eio_text));
    caf::anon_send(actor, eio_text_atom::value, std::string(eio_text.substr(1)));
  }
  void feed(std::string_view eio_text) {
    enqueue(eio_text);
    env_.run();
  }
  void feed_binary(std::string bytes) {
    caf::anon_send(actor, eio_binary_atom::value, std::move(bytes));
    env_.run();
  }
  // The transport went away (client closed, ping timeout, ...).
  void transport_closed(close_reason why = close_reason::transport_close) {
    caf::anon_send(actor, eio_closed_atom::value, why);
    env_.run();
  }

  std::vector<std::string> take_texts() { return out->take_texts(); }
  std::vector<wire_packet_ptr> take() { return out->take(); }

  // Connects to `nsp` and returns the socket id from the CONNECT reply; the reply
  // and what the connection handler sent are consumed.
  std::string connect(const std::string& nsp = "/") {
    out->take();
    feed(nsp == "/" ? std::string("40") : "40" + nsp + ",");
    auto texts = take_texts();
    const std::string prefix = nsp == "/" ? std::string("40{\"sid\":\"") : "40" + nsp + ",{\"sid\":\"";
    if (texts.empty() || texts[0].rfind(prefix, 0) != 0)
      throw std::runtime_error("CONNECT to " + nsp +
                               " failed: " + (texts.empty() ? std::string("no reply") : texts[0]));
    return texts[0].substr(prefix.size(), texts[0].size() - prefix.size() - 2);
  }

  caf::actor actor;
  std::shared_ptr<recorder_outlet> out;

 private:
  deterministic& env_;
};

// A server plus connections. Teardown: close every session and drain while the
// server (which connection actors point to) is alive, then drop the server.
class sio_fixture : public deterministic {
 public:
  ~sio_fixture() { shutdown(); }

  sio::server& make_server(sio::server_config c = {}) {
    if (server) throw std::logic_error("server already made");
    server = std::make_unique<sio::server>(sys, c);
    run();
    return *server;
  }

  sio_client& client() {
    if (!server) make_server();
    auto hs = std::make_shared<sio::handshake>();
    hs->remote_address = "127.0.0.1";
    hs->url = "/socket.io/?EIO=4&transport=websocket";
    clients_.push_back(std::make_unique<sio_client>(*this, *server, std::move(hs)));
    return *clients_.back();
  }

  void shutdown() {
    for (auto& c : clients_)
      if (c->actor)
        caf::anon_send(c->actor, eio_closed_atom::value, close_reason::server_shutting_down);  // test teardown
    drain();
    for (auto& c : clients_) {
      c->out->detach();
      c->actor = caf::actor{};
    }
    drain();
    server.reset();
    drain();
  }

  std::unique_ptr<sio::server> server;

 private:
  std::vector<std::unique_ptr<sio_client>> clients_;
};

}  // namespace hub::test
