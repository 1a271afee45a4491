// A token bucket of `count` tokens refilled evenly over `window`, kept as one time point
// (the generic cell rate algorithm: the bucket is full once `tat` is in the past). Pure:
// the caller passes the time, so actors use their own (virtual under the simulator) clock.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace hub {

struct rate_limit {
  std::size_t count = 10;                   // accepted at most (the burst) ...
  std::chrono::milliseconds window{60000};  // ... per window
};

class token_bucket {
 public:
  using clock = std::chrono::steady_clock;

  // Takes a token: 0 when there was one, otherwise the milliseconds until there is (the
  // bucket is unchanged by a refusal).
  std::int64_t take(clock::time_point now, const rate_limit& limit) {
    auto wait = wait_ms(now, limit);
    if (wait == 0) tat_ = std::max(tat_, now) + interval(limit);
    return wait;
  }

  // What take() would answer, without taking.
  std::int64_t wait_ms(clock::time_point now, const rate_limit& limit) const {
    auto tolerance = std::chrono::duration_cast<clock::duration>(limit.window) - interval(limit);
    auto tat = std::max(tat_, now);
    if (tat - now <= tolerance) return 0;
    auto wait = std::chrono::ceil<std::chrono::milliseconds>(tat - now - tolerance).count();
    return std::max<std::int64_t>(wait, 1);
  }

  // Full again (nothing to remember about this client).
  bool full(clock::time_point now) const { return tat_ <= now; }

 private:
  static clock::duration interval(const rate_limit& limit) {
    return std::chrono::duration_cast<clock::duration>(limit.window) / std::max<std::size_t>(limit.count, 1);
  }
  clock::time_point tat_{};  // theoretical arrival time of the next token
};

}  // namespace hub
