// Name/value pairs (HTTP headers, query parameters) packed into one string: one
// allocation for all of them instead of a std::map node (~110 bytes with malloc's
// overhead) per pair. Kept for the whole life of a connection (sio::handshake), looked
// up rarely, so lookups scan. Insertion order is kept; a name may repeat (find returns
// the first).
#pragma once

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace hub {

class flat_fields {
 public:
  flat_fields() = default;
  flat_fields(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs) {
    for (const auto& [k, v] : pairs) add(k, v);
  }
  // From any map-like range of (name, value) pairs, packed to its exact size.
  template <class Range>
  static flat_fields from(const Range& pairs) {
    flat_fields out;
    std::size_t bytes = 0;
    for (const auto& [k, v] : pairs) bytes += 2 * sizeof(std::uint32_t) + k.size() + v.size();
    out.data_.reserve(bytes);
    for (const auto& [k, v] : pairs) out.add(k, v);
    return out;
  }

  void add(std::string_view name, std::string_view value) {
    put_size(name.size());
    data_.append(name);
    put_size(value.size());
    data_.append(value);
  }

  std::optional<std::string_view> find(std::string_view name) const {
    std::optional<std::string_view> found;
    for_each([&](std::string_view k, std::string_view v) {
      if (found || k != name) return;
      found = v;
    });
    return found;
  }
  std::string_view at(std::string_view name) const {
    if (auto v = find(name)) return *v;
    throw std::out_of_range("flat_fields: no " + std::string(name));
  }
  std::size_t count(std::string_view name) const { return find(name) ? 1 : 0; }
  bool empty() const { return data_.empty(); }
  std::size_t size() const {
    std::size_t n = 0;
    for_each([&](std::string_view, std::string_view) { ++n; });
    return n;
  }

  // f(name, value) for each pair in insertion order.
  template <class F>
  void for_each(F&& f) const {
    std::size_t at = 0;
    while (at < data_.size()) {
      std::string_view k = take(at);
      std::string_view v = take(at);
      f(k, v);
    }
  }

 private:
  void put_size(std::size_t n) {
    auto n32 = static_cast<std::uint32_t>(n);
    char b[sizeof n32];
    std::memcpy(b, &n32, sizeof n32);
    data_.append(b, sizeof b);
  }
  std::string_view take(std::size_t& at) const {
    std::uint32_t n = 0;
    std::memcpy(&n, data_.data() + at, sizeof n);
    at += sizeof n;
    std::string_view s(data_.data() + at, n);
    at += n;
    return s;
  }

  std::string data_;
};

}  // namespace hub
