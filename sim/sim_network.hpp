// The simulated network between virtual clients and the server's connection actors,
// behind the seam hub-server uses: each link is an `outlet` for its connection actor
// (as an eio_session is) and feeds it eio_text / eio_close messages. Engine.IO itself
// (heartbeats, polling, upgrade) is below the seam and not simulated; its observable
// effect, the ping timeout, is: a link that cannot carry pongs for ping_interval +
// ping_timeout is closed on both sides with "ping timeout".
//
// Per link: one-way latency + jitter, FIFO in each direction (like TCP). Faults:
// drop (transport dies: in-flight packets lost both ways), partition (packets held,
// delivered at heal, or the link times out), slow periods, server crash.
#pragma once

#include "net/transport/seam.hpp"
#include "sim/event_queue.hpp"

#include <caf/actor.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace hub::sim {

class simulation;

class sim_link final : public outlet, public std::enable_shared_from_this<sim_link> {
 public:
  sim_link(simulation& sim, std::uint64_t id, int client, int node, int incarnation)
    : sim_(sim), id(id), client(client), node(node), incarnation(incarnation) {}

  // -- outlet (called by the connection actor) -----------------------------------------------
  void send(outbound packet) override;
  void close() override;

  simulation& sim_;
  const std::uint64_t id;
  const int client;
  const int node;         // the node whose connection actor this link feeds
  const int incarnation;  // which lifetime of the rate limiter answers its sends
  caf::actor actor;  // held like an eio_session holds its actor; dropped once told of the close
  bool open = true;
  nanos last_s2c = 0;  // FIFO: no delivery before the previous one
  nanos last_c2s = 0;
  struct held {
    std::string text;
    nanos sent;       // when the server wrote it
    int incarnation;  // which server process wrote it
  };
  std::deque<held> held_s2c;  // during a partition
  void forward(held h);       // towards the client, after the link's delay
  std::deque<std::string> held_c2s;
};

class sim_network {
 public:
  explicit sim_network(simulation& sim) : sim_(sim) {}

  // A new transport for `client` (WebSocket handshake + Engine.IO open): the
  // connection actor is spawned; the client learns it is open one round trip later.
  std::shared_ptr<sim_link> open(int client);
  // The client writes one Engine.IO text packet ("40...", "42[...]").
  void client_send(const std::shared_ptr<sim_link>& l, std::string eio_text);
  // The client closes its transport on purpose (after sending "41").
  void client_close(const std::shared_ptr<sim_link>& l);
  // The transport dies under both ends: what is in flight is lost; each side learns it
  // after one latency (`reason` for the server: "transport close" or "ping timeout").
  void drop(const std::shared_ptr<sim_link>& l, const std::string& reason);

  // The one-way delay for `client` now (latency + jitter + slow-period extra).
  nanos delay(int client);

  // Partitions: the client's links hold packets until healed.
  void partition(int client);
  void heal(int client);

  // A paused client answers no pings: the server times it out like a partitioned one.
  void pause_started(int client);
  void pause_ended(int client);

  // A node's crash: its links die; returns the connection actors to kill.
  std::vector<caf::actor> crash(int node);
  // End of run: every remaining connection actor hears "transport close".
  void close_all();

  std::shared_ptr<sim_link> link_of(int client) const;
  std::size_t open_links() const { return links_.size(); }

  // Called when a packet reaches the server (for the checker) and the actor.
  void deliver_to_server(const std::shared_ptr<sim_link>& l, const std::string& eio_text);

 private:
  friend class sim_link;
  simulation& sim_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::shared_ptr<sim_link>> links_;  // open links, by id
  std::map<int, std::uint64_t> current_;                      // client -> its open link
  // Links whose actor has not been told of the close yet (open ones included): a
  // crash must kill these actors, which point to the server about to go.
  std::map<std::uint64_t, std::shared_ptr<sim_link>> holders_;
  std::map<int, std::uint64_t> silent_gen_;  // client -> generation of its silence
  std::map<int, int> silent_;                // client -> reasons it is silent
  void silence(int client);
  void unsilence(int client);
  void forget(const std::shared_ptr<sim_link>& l);
  void notify_server_closed(const std::shared_ptr<sim_link>& l, const std::string& reason, nanos when);
};

}  // namespace hub::sim
