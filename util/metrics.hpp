// Process-wide counters for /metrics. Relaxed atomic increments: cheap on the hot path,
// exact enough for monitoring.
#pragma once

#include <atomic>
#include <cstdint>

namespace hub::metrics {

struct counters {
  std::atomic<std::uint64_t> packets_in{0};           // Socket.IO packets decoded
  std::atomic<std::uint64_t> packets_out{0};          // packets sent to one client
  std::atomic<std::uint64_t> broadcasts{0};           // broadcasts issued
  std::atomic<std::uint64_t> fanout_deliveries{0};    // broadcast copies handed to clients
  std::atomic<std::uint64_t> chat_messages{0};        // chat messages stored
  std::atomic<std::uint64_t> rate_limited{0};         // messages refused by the rate limit
  std::atomic<std::uint64_t> notifications{0};        // notifications stored (incl. coalesced updates)
  std::atomic<std::uint64_t> protocol_errors{0};      // sessions closed for bad input
  std::atomic<std::uint64_t> ws_writes_through{0};    // WebSocket frames written on the sender's thread
  std::atomic<std::uint64_t> ws_write_through_rest{0};  // ...of which the socket took only part
};

inline counters& global() {
  static counters c;
  return c;
}

inline void add(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) {
  c.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace hub::metrics
