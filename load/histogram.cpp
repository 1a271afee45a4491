#include "load/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace hub::load {
namespace {
constexpr std::size_t sub = 32;  // sub-buckets per power of two
constexpr std::size_t bucket_count = sub * 60;
}  // namespace

histogram::histogram() : buckets_(bucket_count, 0) {}

std::size_t histogram::index(std::uint64_t v) {
  if (v < 2 * sub) return static_cast<std::size_t>(v);
  unsigned msb = 63 - static_cast<unsigned>(std::countl_zero(v));
  unsigned e = msb - 5;  // v >> e lands in [32, 64)
  return std::min<std::size_t>(sub * e + (v >> e), bucket_count - 1);
}

std::uint64_t histogram::low(std::size_t i) {
  if (i < 2 * sub) return i;
  std::size_t e = i / sub - 1;
  return static_cast<std::uint64_t>(i - sub * e) << e;
}

std::uint64_t histogram::high(std::size_t i) { return i + 1 < bucket_count ? low(i + 1) - 1 : low(i); }

void histogram::record(std::uint64_t us) {
  ++buckets_[index(us)];
  ++count_;
  max_ = std::max(max_, us);
}

void histogram::merge(const histogram& o) {
  for (std::size_t i = 0; i < bucket_count; ++i) buckets_[i] += o.buckets_[i];
  count_ += o.count_;
  max_ = std::max(max_, o.max_);
}

void histogram::clear() {
  std::fill(buckets_.begin(), buckets_.end(), 0);
  count_ = 0;
  max_ = 0;
}

std::uint64_t histogram::quantile(double q) const {
  if (count_ == 0) return 0;
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::min(high(i), max_);
  }
  return max_;
}

std::string histogram::csv() const {
  std::string out = "low_us,high_us,count,cumulative\n";
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    if (!buckets_[i]) continue;
    seen += buckets_[i];
    out += std::to_string(low(i)) + "," + std::to_string(high(i)) + "," + std::to_string(buckets_[i]) + "," +
           std::to_string(static_cast<double>(seen) / static_cast<double>(count_)) + "\n";
  }
  return out;
}

}  // namespace hub::load
