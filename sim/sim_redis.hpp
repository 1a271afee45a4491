// The simulated Redis of a hub-sim cluster (--nodes N): what the nodes share, behind the
// same two seams hub-server's Redis sits behind, so the real actors run unchanged.
//   - sim_pubsub: pub/sub between the nodes (net/redis/pubsub_seam.hpp). Each node's
//     link hears the channels and patterns it subscribed, after a latency, in the order
//     the bus took the publications (one Redis connection per node). A link can be cut
//     (the node's connection to Redis lost): it hears nothing, what it publishes is lost,
//     its listener is told the link went down, and when it heals that it is up again.
//   - sim_engine: the durable state (storage/engine.hpp), one RocksDB store for every
//     node (Redis with appendfsync always: an acknowledged write stays), whose commit
//     publishes each appended entry as redis_store's Lua script does
//     (`<prefix>-log#<log>`, `<epoch>:<seq>:<value>`, in the same step, from inside
//     Redis: the committing node's own pub/sub link plays no part), and whose rate
//     limit counts on the one virtual clock (Redis's TIME).
// Only time and these two are simulated; the nodes' code is hub-server's.
#pragma once

#include "net/redis/pubsub_seam.hpp"
#include "sim/event_queue.hpp"
#include "sim/rng.hpp"
#include "storage/engine.hpp"
#include "storage/store.hpp"

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace hub::sim {

class sim_pubsub : public std::enable_shared_from_this<sim_pubsub> {
 public:
  // `at(t, fn)` runs fn at virtual time t; `now()` is the virtual time.
  sim_pubsub(std::function<void(nanos, std::function<void()>)> at, std::function<nanos()> now, rng r)
    : at_(std::move(at)), now_(std::move(now)), rng_(r) {}

  // A new link for `node` (a node process starting). The node's earlier link, if any,
  // belongs to a process that is gone.
  pubsub_link_ptr make_link(int node);

  // From a node's link (from_node), or by Redis itself (from_node -1: a script's PUBLISH,
  // sent to every link that is up whatever the state of the committing node's link).
  void publish(int from_node, const std::string& channel, const std::string& payload);
  // The node's connection to Redis is lost (cut) or back (heal).
  void cut(int node);
  void heal(int node);
  bool is_cut(int node) const { return cut_.count(node) > 0; }

  std::uint64_t delivered = 0;
  std::uint64_t lost = 0;  // publications a cut link did not send or hear

 private:
  class link;
  friend class link;
  std::function<void(nanos, std::function<void()>)> at_;
  std::function<nanos()> now_;
  rng rng_;
  std::map<int, std::weak_ptr<link>> links_;  // node -> its current process's link
  std::map<int, nanos> last_;                 // node -> last delivery time (FIFO)
  std::map<int, int> cut_;                    // node -> generation of its cut
  std::map<int, int> generation_;

  std::size_t numsub(const std::string& channel) const;
};

class sim_engine final : public storage::engine {
 public:
  // `feed_prefix`: where commits publish (app::log_feed_prefix(<key prefix>)).
  sim_engine(std::shared_ptr<storage::store> db, std::shared_ptr<sim_pubsub> bus, std::string feed_prefix,
             std::function<nanos()> now)
    : db_(std::move(db)), bus_(std::move(bus)), feed_prefix_(std::move(feed_prefix)), now_(std::move(now)) {}


  std::string describe() const override { return "simulated redis over " + db_->describe(); }
  std::vector<std::uint64_t> commit(const std::vector<append_item>& items, const std::vector<kv_write>& writes) override;
  page read_page(const std::string& log, std::uint64_t after, std::size_t limit) const override {
    return db_->read_page(log, after, limit);
  }
  page read_seqs_page(const std::string& log, const std::vector<std::uint64_t>& seqs) const override {
    return db_->read_seqs_page(log, seqs);
  }
  std::vector<entry> read_last(const std::string& log, std::size_t n) const override { return db_->read_last(log, n); }
  std::uint64_t last_seq(const std::string& log) const override { return db_->last_seq(log); }
  std::vector<std::uint64_t> last_seqs(const std::vector<std::string>& logs) const override {
    return db_->last_seqs(logs);
  }
  std::uint64_t first_seq(const std::string& log) const override { return db_->first_seq(log); }
  std::size_t prune_before(const std::string& log, std::uint64_t keep_from) override {
    return db_->prune_before(log, keep_from);
  }
  std::optional<std::string> get(const std::string& key) const override { return db_->get(key); }
  std::vector<std::pair<std::string, std::string>> scan(const std::string& prefix) const override {
    return db_->scan(prefix);
  }
  std::int64_t rate_take(const std::string& key, std::size_t limit, std::chrono::milliseconds window) override;
  std::optional<std::string> recover() override { return db_->recover(); }
  void inject_write_faults(bool on) override { db_->inject_write_faults(on); }

 private:
  std::shared_ptr<storage::store> db_;
  std::shared_ptr<sim_pubsub> bus_;
  std::string feed_prefix_;
  std::function<nanos()> now_;
  std::map<std::string, std::deque<std::chrono::nanoseconds>> windows_;
};

}  // namespace hub::sim
