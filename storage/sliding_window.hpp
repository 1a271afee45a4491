// The sliding-window count behind engine::rate_take() for engines that keep the window
// in memory (storage/store.hpp on the steady clock, hub-sim's engine on the virtual
// one): `times` holds the events counted in the window, oldest first.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>

namespace hub::storage {

// Counts one event at `now` when fewer than `limit` were counted in the last `window`
// (returns 0); otherwise counts nothing and returns the ms until the oldest leaves the
// window (>= 1). `Time` is a clock's time_point or a duration since any fixed origin.
template <class Time>
std::int64_t sliding_window_take(std::deque<Time>& times, Time now, std::size_t limit, std::chrono::milliseconds window) {
  while (!times.empty() && times.front() + window <= now) times.pop_front();
  if (times.size() < limit) {
    times.push_back(now);
    return 0;
  }
  if (limit == 0) return std::max<std::int64_t>(1, window.count());
  return std::max<std::int64_t>(1, std::chrono::ceil<std::chrono::milliseconds>(times.front() + window - now).count());
}

}  // namespace hub::storage
