// The simulator's agenda: network deliveries, client actions and faults, ordered by
// virtual time and then by insertion (so equal times run in a deterministic order).
// CAF's own timers live in the test coordinator's clock; the main loop merges both.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <queue>
#include <vector>

namespace hub::sim {

using nanos = std::int64_t;  // virtual time since the start of the run
constexpr nanos ms(std::int64_t v) { return v * 1'000'000; }
constexpr nanos secs(std::int64_t v) { return v * 1'000'000'000; }
constexpr nanos never = std::numeric_limits<nanos>::max();

class event_queue {
 public:
  void at(nanos t, std::function<void()> fn) { q_.push(item{t, next_++, std::move(fn)}); }
  bool empty() const { return q_.empty(); }
  nanos next_time() const { return q_.empty() ? never : q_.top().t; }
  std::size_t size() const { return q_.size(); }
  // Removes and returns the earliest event's action.
  std::function<void()> pop() {
    auto fn = std::move(const_cast<item&>(q_.top()).fn);
    q_.pop();
    return fn;
  }

 private:
  struct item {
    nanos t;
    std::uint64_t seq;
    std::function<void()> fn;
    bool operator>(const item& o) const { return t != o.t ? t > o.t : seq > o.seq; }
  };
  std::priority_queue<item, std::vector<item>, std::greater<item>> q_;
  std::uint64_t next_ = 0;
};

}  // namespace hub::sim
