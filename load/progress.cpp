#include "load/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace hub::load {

progress_line::progress_line() : tty_(::isatty(STDERR_FILENO) == 1), last_(std::chrono::steady_clock::now()) {}

void progress_line::update(const char* phase, std::chrono::steady_clock::duration elapsed, std::size_t connected,
                           std::size_t clients, std::uint64_t sent, std::uint64_t delivered, std::uint64_t p99_us,
                           std::uint64_t failures) {
  if (!tty_) return;
  auto now = std::chrono::steady_clock::now();
  double dt = std::chrono::duration<double>(now - last_).count();
  if (dt < 0.25) return;
  if (delivered >= last_delivered_) rate_ = static_cast<double>(delivered - last_delivered_) / dt;
  last_delivered_ = delivered;
  last_ = now;
  std::fprintf(stderr, "\r\x1b[K%6.1fs %-8s conn %zu/%zu  sent %llu  recv %llu (%.0f/s)  p99 %.2f ms  fail %llu",
               std::chrono::duration<double>(elapsed).count(), phase, connected, clients,
               static_cast<unsigned long long>(sent), static_cast<unsigned long long>(delivered), rate_,
               static_cast<double>(p99_us) / 1000.0, static_cast<unsigned long long>(failures));
  std::fflush(stderr);
  drawn_ = true;
}

void progress_line::finish() {
  if (tty_ && drawn_) std::fputs("\n", stderr);
}

}  // namespace hub::load
