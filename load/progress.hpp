// The live progress line on stderr, drawn only when stderr is a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstddef>

namespace hub::load {

class progress_line {
 public:
  progress_line();
  void update(const char* phase, std::chrono::steady_clock::duration elapsed, std::size_t connected,
              std::size_t clients, std::uint64_t sent, std::uint64_t delivered, std::uint64_t p99_us,
              std::uint64_t failures);
  void finish();

 private:
  bool tty_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_;
  std::uint64_t last_delivered_ = 0;
  double rate_ = 0;
};

}  // namespace hub::load
