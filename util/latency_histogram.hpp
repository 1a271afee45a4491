// A latency histogram for /metrics in Prometheus' shape: fixed upper bounds, a count
// per bucket, a sum and a count. Recording is a few relaxed atomic increments (no lock),
// so it can sit on hot paths and be read from any thread; a scrape may see one sample's
// bucket before its sum, which monitoring tolerates.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hub::metrics {

// Upper bounds in microseconds: 50 µs to 10 s, about 2–2.5x apart. An fsync on a
// local SSD lands around 0.1–2 ms, a loaded disk in the tens of ms; a delivery on a
// quiet server in tens of µs. Past the last bound only +Inf counts it.
inline constexpr std::array<std::uint64_t, 16> latency_bounds_us{
  50,     100,    250,     500,     1'000,   2'500,     5'000,     10'000,
  25'000, 50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 10'000'000};

class latency_histogram {
 public:
  static constexpr std::size_t bucket_count = latency_bounds_us.size() + 1;  // + the +Inf bucket

  // The bucket a sample of `us` microseconds falls into: the first bound >= us
  // (Prometheus' `le`), or the +Inf bucket.
  static constexpr std::size_t bucket_of(std::uint64_t us) {
    std::size_t i = 0;
    while (i < latency_bounds_us.size() && us > latency_bounds_us[i]) ++i;
    return i;
  }

  void record_us(std::uint64_t us) {
    buckets_[bucket_of(us)].fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(us, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
  }

  template <class Rep, class Period>
  void record(std::chrono::duration<Rep, Period> d) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    record_us(us > 0 ? static_cast<std::uint64_t>(us) : 0);
  }

  // Samples in bucket i alone (not cumulative).
  std::uint64_t in_bucket(std::size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  std::uint64_t sum_us() const { return sum_us_.load(std::memory_order_relaxed); }
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<std::uint64_t>, bucket_count> buckets_{};
  std::atomic<std::uint64_t> sum_us_{0};
  std::atomic<std::uint64_t> count_{0};
};

// The histogram in Prometheus' text format, in seconds: HELP and TYPE lines, one
// cumulative `<name>_bucket{le="..."}` per bound and +Inf, then `_sum` and `_count`.
std::string prometheus_text(std::string_view name, std::string_view help, const latency_histogram& h);

}  // namespace hub::metrics
