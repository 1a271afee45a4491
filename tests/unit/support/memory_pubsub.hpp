// An in-memory stand-in for Redis pub/sub behind the cluster seam
// (net/redis/pubsub_seam.hpp), for deterministic tests of the cluster adapter: every
// link made from one bus hears what any of them publishes on a channel it subscribed
// to (exactly, or by a pattern ending in '*', as the adapter's patterns do), and
// PUBSUB NUMSUB counts exact subscriptions as Redis does. Delivery is synchronous, on
// the publisher's thread; under the test coordinator the listeners only enqueue
// messages, which the test then runs. The bus can be taken down: publications are
// then lost and counted, as the Redis link counts them.
#pragma once

#include "net/redis/pubsub_seam.hpp"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace hub::test {

class memory_bus : public std::enable_shared_from_this<memory_bus> {
 public:
  class link final : public pubsub_link {
   public:
    explicit link(std::shared_ptr<memory_bus> bus) : bus_(std::move(bus)) {}

    void subscribe(std::vector<std::string> channels, std::vector<std::string> patterns,
                   std::shared_ptr<pubsub_listener> listener) override {
      subs_ = pubsub_subscriptions{std::move(channels), std::move(patterns)};
      listener_ = std::move(listener);
    }
    void start() override {
      started_ = true;
      if (listener_) listener_->on_link(!bus_->down);
    }
    void publish(std::string channel, std::string payload) override { bus_->publish(channel, payload); }
    void count_subscribers(std::string channel, std::function<void(std::optional<std::size_t>)> done) override {
      if (bus_->down) return done(std::nullopt);
      done(bus_->numsub(channel));
    }
    bool up() const override { return started_ && !bus_->down; }
    std::string describe() const override { return up() ? "up" : "down: memory bus is down"; }

    bool hears(const std::string& channel) const { return started_ && listener_ && subs_.hears(channel); }
    bool subscribed_exactly(const std::string& channel) const { return started_ && subs_.exactly(channel); }
    pubsub_listener* listener() const { return listener_.get(); }

   private:
    std::shared_ptr<memory_bus> bus_;
    pubsub_subscriptions subs_;
    std::shared_ptr<pubsub_listener> listener_;
    bool started_ = false;
  };

  static std::shared_ptr<memory_bus> make() { return std::shared_ptr<memory_bus>(new memory_bus()); }

  std::shared_ptr<link> make_link() {
    auto l = std::make_shared<link>(shared_from_this());
    links_.push_back(l);
    return l;
  }

  void publish(const std::string& channel, const std::string& payload) {
    if (down) {
      ++lost;
      return;
    }
    published.emplace_back(channel, payload);
    for (const auto& w : links_)
      if (auto l = w.lock(); l && l->hears(channel)) l->listener()->on_message(channel, payload);
  }

  std::size_t numsub(const std::string& channel) const {
    std::size_t n = 0;
    for (const auto& w : links_)
      if (auto l = w.lock(); l && l->subscribed_exactly(channel)) ++n;
    return n;
  }

  bool down = false;
  std::size_t lost = 0;
  std::vector<std::pair<std::string, std::string>> published;  // channel, payload

 private:
  memory_bus() = default;
  std::vector<std::weak_ptr<link>> links_;
};

}  // namespace hub::test
