// A node's place in a cluster of Socket.IO servers, on the wire of Socket.IO's own
// Redis adapter (@socket.io/redis-adapter 8.x; docs/cluster.md): broadcasts go out to
// `<prefix>#<nsp>#[<room>#]` and come in from every other node (ours, Node's, the
// emitter), and every request type on `<prefix>-request#<nsp>#` is answered on
// `<prefix>-response#<nsp>#` within the adapter's 5 s.
//
// Two paths, by cost. A broadcast is the hot one: published on the caller's thread (one
// encode, one publish, whatever the number of recipients) and, when one arrives,
// decoded once on the link's thread and handed to the directory as one shared packet.
// Requests and responses, which need state and timers, go through the adapter actor.
// Without a link the same actor carries out the operations on this node alone.
#pragma once

#include "sio/cluster_ops.hpp"
#include "net/redis/pubsub_seam.hpp"
#include "protocol/cluster_messages.hpp"
#include "protocol/json_limits.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hub::sio {

class server;

// Every namespace's channels, by namespace: made once when the node starts, read-only
// afterwards, shared by the node, its adapter actor and the link's listener.
using channel_table = std::map<std::string, cluster::channels, std::less<>>;

struct cluster_config {
  pubsub_link_ptr link;              // null: this node alone
  std::string prefix = "socket.io";  // the adapter's `key` option
  std::string uid;                   // this node's id on the wire; random when empty
  // The adapter's requestsTimeout: how long a request waits for every node's answer.
  std::chrono::milliseconds requests_timeout{5000};
  // Bounds on what other nodes send (anyone who can reach Redis can publish).
  json_limits limits;
};

// An application's own publications beside the adapter's (Project Hub's log feed,
// apps/hub/log_feed.hpp): every message on a channel that starts with `prefix` goes to
// `on_message(the rest of the channel, payload)`, and `on_link(up)` hears the link come
// back (every subscription in place again) or go. Both run on the link's thread, one
// call at a time: they must not block (hand the work to an actor).
struct cluster_feed {
  std::string prefix;
  std::function<void(std::string_view rest, std::string payload)> on_message;
  std::function<void(bool up)> on_link;
};

class cluster_node {
 public:
  cluster_node(const server& srv, cluster_config cfg, caf::actor directory);
  ~cluster_node();
  cluster_node(const cluster_node&) = delete;
  cluster_node& operator=(const cluster_node&) = delete;

  // Subscribes for every namespace the server has, spawns the adapter actor and starts
  // the link. Once, after the application defined its namespaces.
  void start();
  // Stops the adapter actor; the link stops when the last reference to it goes.
  void stop();
  // Subscribes `feed` too (with a link; ignored alone). Before start().
  void add_feed(cluster_feed feed);

  const std::string& uid() const { return cfg_.uid; }
  bool clustered() const { return static_cast<bool>(cfg_.link); }
  const cluster_config& config() const { return cfg_; }
  const caf::actor& adapter() const { return adapter_; }

  // Tells the other nodes of a broadcast this node carries out locally too (an emit,
  // or socketsJoin / socketsLeave / disconnectSockets). No-op alone. An emit's `data`
  // ([event, ...args], binaries in place) when the caller has it; otherwise it is
  // decoded from the broadcast's packet.
  void publish(const broadcast& b, const json* data = nullptr) const;
  // Hands an operation that needs answers to the adapter actor.
  void call(cluster_call_ptr c) const;

 private:
  class listener;
  // The namespace's channels: from the table (no copy on the hot path), or made anew
  // into `scratch` for one defined after start().
  const cluster::channels& channels_of(const std::string& nsp, cluster::channels& scratch) const;

  const server& srv_;
  cluster_config cfg_;
  caf::actor directory_;
  caf::actor adapter_;
  std::shared_ptr<listener> listener_;
  std::vector<cluster_feed> feeds_;
  std::shared_ptr<const channel_table> channels_;
};

}  // namespace hub::sio
