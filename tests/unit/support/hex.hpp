// Bytes as lower-case hex, for comparing wire bytes with golden vectors recorded from
// Node (`buf.toString('hex')`).
#pragma once

#include <string>
#include <string_view>

namespace hub::test {

inline std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    out.push_back(digits[static_cast<unsigned char>(c) >> 4U]);
    out.push_back(digits[static_cast<unsigned char>(c) & 0xFU]);
  }
  return out;
}

}  // namespace hub::test
