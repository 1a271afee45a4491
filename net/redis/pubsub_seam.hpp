// The seam between a node's cluster adapter (sio/cluster_adapter.hpp) and the shared
// pub/sub engine that links the nodes, owned by the network layer as the transport owns
// seam.hpp. In hub-server the link is Redis over Asio (net/redis/redis_link.hpp); in
// tests and hub-sim an in-memory bus. Nothing here knows CAF, Asio or Redis.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hub {

// Hears what the link receives. Called on the link's own thread, one call at a time, in
// the order Redis sent them; must not block (hand the work to an actor).
class pubsub_listener {
 public:
  virtual ~pubsub_listener() = default;
  // A message on a subscribed channel, or on a channel that matches a subscribed pattern.
  virtual void on_message(const std::string& channel, std::string payload) = 0;
  // The link is up (every subscription in place, again after a reconnect) or down.
  virtual void on_link(bool up) = 0;
};

// What a node's adapter may ask of the link. Thread-safe: any actor may call it.
class pubsub_link {
 public:
  virtual ~pubsub_link() = default;

  // The channels and patterns to subscribe to and who hears them; subscribed again on
  // every reconnect. Called once, before start().
  virtual void subscribe(std::vector<std::string> channels, std::vector<std::string> patterns,
                         std::shared_ptr<pubsub_listener> listener) = 0;
  // Connects (and keeps reconnecting, with backoff) until the link is destroyed.
  virtual void start() = 0;

  // Fire and forget, pipelined. A publication the link cannot hand to the engine (link
  // down, queue over its bound, connection lost with it unacknowledged) is counted as
  // lost (hub_cluster_publications_lost_total), never retried: pub/sub is at-most-once.
  virtual void publish(std::string channel, std::string payload) = 0;

  // PUBSUB NUMSUB `channel`: how many nodes subscribe to it (this one included), or
  // nullopt when the link is down or the engine refused. `done` runs on the link's thread.
  virtual void count_subscribers(std::string channel, std::function<void(std::optional<std::size_t>)> done) = 0;

  // The link is connected and subscribed (for /healthz).
  virtual bool up() const = 0;
  // A short description of the link's state for /healthz and logs, e.g.
  // "up", "down: connection refused (reconnecting in 800 ms)".
  virtual std::string describe() const = 0;
};

using pubsub_link_ptr = std::shared_ptr<pubsub_link>;

// What one connection subscribed to, and whether a publication on `channel` reaches it,
// as Redis matches it for the patterns the adapter uses (a prefix, then '*'). For the
// in-memory stand-ins of Redis (unit tests' memory bus, hub-sim's bus); the real link
// leaves the matching to Redis.
struct pubsub_subscriptions {
  std::vector<std::string> channels;  // SUBSCRIBE
  std::vector<std::string> patterns;  // PSUBSCRIBE

  // PUBSUB NUMSUB counts exact subscriptions only.
  bool exactly(const std::string& channel) const {
    return std::find(channels.begin(), channels.end(), channel) != channels.end();
  }
  bool hears(const std::string& channel) const {
    return exactly(channel) || std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
             return !p.empty() && p.back() == '*' && channel.compare(0, p.size() - 1, p, 0, p.size() - 1) == 0;
           });
  }
};

}  // namespace hub
