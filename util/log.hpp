// Minimal leveled logging to stderr. CAF's own logger is compiled out in Debian's
// build, and the server's log volume is small, so a line-buffered stderr suffices.
#pragma once

#include <sstream>
#include <string_view>

namespace hub::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

void set_level(level l);
level current_level();
bool parse_level(std::string_view text, level& out);
void write(level l, std::string_view message);

template <class... Ts>
void emit(level l, const Ts&... parts) {
  if (l < current_level()) return;
  std::ostringstream os;
  (os << ... << parts);
  write(l, os.str());
}

template <class... Ts>
void debug(const Ts&... p) {
  emit(level::debug, p...);
}
template <class... Ts>
void info(const Ts&... p) {
  emit(level::info, p...);
}
template <class... Ts>
void warn(const Ts&... p) {
  emit(level::warn, p...);
}
template <class... Ts>
void error(const Ts&... p) {
  emit(level::error, p...);
}

}  // namespace hub::log
