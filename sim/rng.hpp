// The simulator's only source of randomness: SplitMix64, our own code so that a seed
// gives the same run on every standard library (std:: distributions are not portable).
#pragma once

#include <cstdint>

namespace hub::sim {

class rng {
 public:
  explicit rng(std::uint64_t seed) : s_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); n > 0. The modulo bias is irrelevant for a simulation.
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }
  // Uniform in [lo, hi].
  std::int64_t range(std::int64_t lo, std::int64_t hi) {
    return hi <= lo ? lo : lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo) + 1));
  }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return unit() < p; }
  // A child generator: components draw from their own stream, so adding a draw in one
  // does not shift every other component's choices.
  rng fork() { return rng(next()); }

 private:
  std::uint64_t s_;
};

}  // namespace hub::sim
