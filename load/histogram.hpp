// A log-linear latency histogram in microseconds (32 sub-buckets per power of two,
// about 3% resolution), cheap to record into and to merge.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hub::load {

class histogram {
 public:
  histogram();
  void record(std::uint64_t us);
  void merge(const histogram& other);
  void clear();

  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return max_; }
  // The value at quantile q in [0, 1] (the bucket's upper edge, capped at max()).
  std::uint64_t quantile(double q) const;
  // CSV: bucket_low_us,bucket_high_us,count,cumulative_fraction (non-empty buckets).
  std::string csv() const;

 private:
  static std::size_t index(std::uint64_t v);
  static std::uint64_t low(std::size_t i);
  static std::uint64_t high(std::size_t i);
  std::vector<std::uint64_t> buckets_;
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace hub::load
