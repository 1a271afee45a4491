// Failed authentications per source address (a token bucket each): once an address has
// failed `limit.count` times within `limit.window`, its handshakes are refused before any
// token is checked, so a token cannot be guessed at line rate. Shared by every connection
// actor and the HTTP API: a mutex, and a bounded table (addresses whose bucket is full
// again are forgotten; past `max_addresses` the oldest half of the table goes).
#pragma once

#include "util/token_bucket.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace hub::app {

class address_limiter {
 public:
  using clock = token_bucket::clock;

  explicit address_limiter(rate_limit limit, std::size_t max_addresses = 65536) : limit_(limit), max_(max_addresses) {}

  // Milliseconds until `address` may try again; 0 when it may now.
  std::int64_t blocked_ms(const std::string& address, clock::time_point now = clock::now()) const;
  // Counts one failure of `address`.
  void failed(const std::string& address, clock::time_point now = clock::now());

  std::size_t tracked() const;

 private:
  void tidy(clock::time_point now);  // under mutex_

  rate_limit limit_;
  std::size_t max_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, token_bucket> buckets_;
};

}  // namespace hub::app
