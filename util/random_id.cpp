#include "util/random_id.hpp"

#include <openssl/rand.h>

#include <functional>

#include <array>
#include <stdexcept>

namespace hub {
namespace detail {
std::function<std::string()>& id_source();  // util/sources.cpp
}

std::string random_id() {
  if (auto& src = detail::id_source()) return src();  // hub-sim: seeded
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::array<unsigned char, 15> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  std::string out;
  out.reserve(20);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    unsigned v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  return out;
}

}  // namespace hub
