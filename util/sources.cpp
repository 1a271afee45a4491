#include "util/sources.hpp"

#include <utility>

namespace hub {
namespace detail {
// Read by random_id.cpp; empty means the CSPRNG.
std::function<std::string()>& id_source() {
  static std::function<std::string()> f;
  return f;
}
}  // namespace detail

namespace {
std::function<std::chrono::system_clock::time_point()>& clock_source() {
  static std::function<std::chrono::system_clock::time_point()> f;
  return f;
}
}  // namespace

std::chrono::system_clock::time_point wall_now() {
  auto& f = clock_source();
  return f ? f() : std::chrono::system_clock::now();
}

void set_wall_clock(std::function<std::chrono::system_clock::time_point()> source) {
  clock_source() = std::move(source);
}

void set_id_source(std::function<std::string()> source) { detail::id_source() = std::move(source); }

}  // namespace hub
