#include "sim/sim_redis.hpp"

#include "storage/keys.hpp"
#include "storage/sliding_window.hpp"

#include <algorithm>

namespace hub::sim {

// -- pub/sub -----------------------------------------------------------------------------------

class sim_pubsub::link final : public pubsub_link, public std::enable_shared_from_this<sim_pubsub::link> {
 public:
  link(std::shared_ptr<sim_pubsub> bus, int node) : bus_(std::move(bus)), node_(node) {}

  void subscribe(std::vector<std::string> channels, std::vector<std::string> patterns,
                 std::shared_ptr<pubsub_listener> listener) override {
    subs_ = pubsub_subscriptions{std::move(channels), std::move(patterns)};
    listener_ = std::move(listener);
  }
  void start() override {
    started_ = true;
    // Connected and subscribed one round trip later, as the Redis link reports it.
    if (!bus_->is_cut(node_)) tell_link(true);
  }
  void publish(std::string channel, std::string payload) override { bus_->publish(node_, channel, payload); }
  void count_subscribers(std::string channel, std::function<void(std::optional<std::size_t>)> done) override {
    std::optional<std::size_t> n;
    if (!bus_->is_cut(node_)) n = bus_->numsub(channel);
    // The answer comes back over the link, after a round trip.
    bus_->at_(bus_->now_() + ms(1), [done = std::move(done), n] { done(n); });
  }
  bool up() const override { return started_ && !bus_->is_cut(node_); }
  std::string describe() const override { return up() ? "up" : "down: simulated cut"; }

  bool hears(const std::string& channel) const { return started_ && listener_ && subs_.hears(channel); }
  bool subscribed_exactly(const std::string& channel) const { return started_ && subs_.exactly(channel); }
  void deliver(const std::string& channel, std::string payload) {
    if (listener_) listener_->on_message(channel, std::move(payload));
  }
  void tell_link(bool up) {
    std::weak_ptr<link> weak = shared_from_this();
    bus_->at_(bus_->now_() + ms(1), [weak, up] {
      if (auto l = weak.lock(); l && l->listener_ && l->bus_->is_cut(l->node_) != up) l->listener_->on_link(up);
    });
  }

 private:
  std::shared_ptr<sim_pubsub> bus_;
  int node_;
  pubsub_subscriptions subs_;
  std::shared_ptr<pubsub_listener> listener_;
  bool started_ = false;
};

pubsub_link_ptr sim_pubsub::make_link(int node) {
  auto l = std::make_shared<link>(shared_from_this(), node);
  links_[node] = l;
  return l;
}

void sim_pubsub::publish(int from_node, const std::string& channel, const std::string& payload) {
  if (is_cut(from_node)) {
    ++lost;
    return;
  }
  for (const auto& [node, weak] : links_) {
    auto l = weak.lock();
    if (!l || !l->hears(channel)) continue;
    if (is_cut(node)) {
      ++lost;
      continue;
    }
    // One connection per node: what it hears arrives in the order the bus took it.
    nanos t = std::max(now_() + ms(1) + static_cast<nanos>(rng_.below(static_cast<std::uint64_t>(ms(4)))), last_[node]);
    last_[node] = t;
    const int gen = generation_[node];
    std::weak_ptr<link> to = l;
    at_(t, [this, to, node, gen, channel, payload] {
      auto target = to.lock();
      // Cut in flight (and maybe healed since): the connection that carried it is gone.
      if (!target || generation_[node] != gen) {
        ++lost;
        return;
      }
      ++delivered;
      target->deliver(channel, payload);
    });
  }
}

void sim_pubsub::cut(int node) {
  if (cut_[node]++ > 0) return;
  ++generation_[node];
  if (auto l = links_[node].lock()) {
    std::weak_ptr<link> weak = l;
    at_(now_(), [weak] {
      if (auto x = weak.lock()) x->tell_link(false);
    });
  }
}

void sim_pubsub::heal(int node) {
  auto it = cut_.find(node);
  if (it == cut_.end() || --it->second > 0) return;
  cut_.erase(it);
  if (auto l = links_[node].lock()) l->tell_link(true);
}

std::size_t sim_pubsub::numsub(const std::string& channel) const {
  std::size_t n = 0;
  for (const auto& [node, weak] : links_)
    if (auto l = weak.lock(); l && !is_cut(node) && l->subscribed_exactly(channel)) ++n;
  return n;
}

// -- engine ------------------------------------------------------------------------------------

std::vector<std::uint64_t> sim_engine::commit(const std::vector<append_item>& items,
                                              const std::vector<kv_write>& writes) {
  auto seqs = db_->commit(items, writes);
  if (items.empty()) return seqs;
  // The script publishes in the same step: a stored entry is never left unpublished
  // (though a cut link loses the publication, as Redis pub/sub does).
  const auto epoch = db_->get(keys::epoch()).value_or(std::string{});
  for (std::size_t i = 0; i < items.size() && i < seqs.size(); ++i)
    bus_->publish(-1, feed_prefix_ + items[i].log, epoch + ":" + std::to_string(seqs[i]) + ":" + items[i].value);
  return seqs;
}

std::int64_t sim_engine::rate_take(const std::string& key, std::size_t limit, std::chrono::milliseconds window) {
  // On the one virtual clock, as Redis's TIME is one clock for every node.
  return storage::sliding_window_take(windows_[key], std::chrono::nanoseconds(now_()), limit, window);
}

}  // namespace hub::sim
