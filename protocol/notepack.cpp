#include "protocol/notepack.hpp"

#include <msgpack/null_visitor.hpp>
#include <msgpack/pack.hpp>
#include <msgpack/parse.hpp>
#include <msgpack/unpack.hpp>  // parse.hpp uses its definitions

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <utility>

namespace hub::notepack {
namespace {

// -- UTF-8 as the WHATWG decoder (and so Node's Buffer.toString) reads it -------------

struct utf8_sequence {
  std::size_t length;  // bytes taken: the whole sequence, or its maximal invalid subpart (>= 1)
  bool valid;
};

utf8_sequence utf8_sequence_at(std::string_view bytes, std::size_t i) {
  const auto b = static_cast<unsigned char>(bytes[i]);
  if (b < 0x80) return {1, true};
  // The sequence's length and the range its second byte must be in (the rest: 80..BF).
  std::size_t need = 0;
  unsigned lo = 0x80;
  unsigned hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    if (b == 0xE0) lo = 0xA0;  // no overlong forms
    if (b == 0xED) hi = 0x9F;  // no surrogates
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
  } else {
    return {1, false};
  }
  for (std::size_t k = 0; k < need; ++k) {
    const std::size_t j = i + 1 + k;
    if (j >= bytes.size()) return {j - i, false};
    const unsigned c = static_cast<unsigned char>(bytes[j]);
    if (c < (k == 0 ? lo : 0x80U) || c > (k == 0 ? hi : 0xBFU)) return {j - i, false};
  }
  return {need + 1, true};
}

std::size_t first_invalid_utf8(std::string_view bytes) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    const auto step = utf8_sequence_at(bytes, i);
    if (!step.valid) return i;
    i += step.length;
  }
  return std::string_view::npos;
}

// -- encoding ---------------------------------------------------------------------------

// msgpack-cxx's packer writes into anything with write(); it picks the smallest format
// for integers, strings, binaries, arrays and maps exactly as notepack does.
struct string_sink {
  std::string& out;
  void write(const char* data, std::size_t size) { out.append(data, size); }
};
using packer = msgpack::packer<string_sink>;

// 2^64 and -2^63 as doubles (both exact).
constexpr double two_to_64 = 18446744073709551616.0;
constexpr double minus_two_to_63 = -9223372036854775808.0;

// The JSON type of a number is not what notepack looks at: JS has one number type, and
// notepack writes an integral value as an integer whatever its JSON spelling. So numbers
// are walked by hand here; the packer only writes the format chosen.
void pack_number(packer& p, const json& v) {
  if (v.is_number_unsigned()) {
    p.pack_uint64(v.get<std::uint64_t>());
    return;
  }
  if (v.is_number_integer()) {
    p.pack_int64(v.get<std::int64_t>());  // non-negative values get uint formats, as in notepack
    return;
  }
  const double d = v.get<double>();
  const bool integral = std::isfinite(d) && std::floor(d) == d;
  if (integral && d >= 0 && d < two_to_64) {  // -0.0 included: notepack writes it as 0
    p.pack_uint64(static_cast<std::uint64_t>(d));
  } else if (integral && d < 0 && d >= minus_two_to_63) {
    p.pack_int64(static_cast<std::int64_t>(d));
  } else {
    p.pack_double(d);  // not an integer, or one notepack would wrap modulo 2^64 (see the header)
  }
}

void pack_string(packer& p, std::string_view s) {
  std::string replaced;
  if (first_invalid_utf8(s) != std::string_view::npos) {
    replaced = utf8_or_replacement(s);
    s = replaced;
  }
  p.pack_str(static_cast<std::uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

void pack_value(packer& p, const json& v) {
  switch (v.type()) {
    case json::value_t::null:
    case json::value_t::discarded: p.pack_nil(); return;
    case json::value_t::boolean:
      if (v.get<bool>()) {
        p.pack_true();
      } else {
        p.pack_false();
      }
      return;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: pack_number(p, v); return;
    case json::value_t::string: pack_string(p, v.get_ref<const std::string&>()); return;
    case json::value_t::binary: {
      const auto& bin = v.get_binary();
      p.pack_bin(static_cast<std::uint32_t>(bin.size()));
      p.pack_bin_body(reinterpret_cast<const char*>(bin.data()), static_cast<std::uint32_t>(bin.size()));
      return;
    }
    case json::value_t::array:
      p.pack_array(static_cast<std::uint32_t>(v.size()));
      for (const auto& element : v) pack_value(p, element);
      return;
    case json::value_t::object:
      p.pack_map(static_cast<std::uint32_t>(v.size()));
      for (const auto& member : js_key_order(v)) {
        pack_string(p, member.key());
        pack_value(p, member.value());
      }
      return;
  }
}

// -- decoding: what notepack makes of ext types ------------------------------------------

// Date's range: +-8.64e15 ms around the epoch.
constexpr double max_date_ms = 8.64e15;

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's civil_from_days).
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
}

std::string zero_padded(std::int64_t v, std::size_t width) {
  std::string digits = std::to_string(v);
  return digits.size() < width ? std::string(width - digits.size(), '0') + digits : digits;
}

// new Date(ms).toJSON(): the ISO text, or null for a date out of range.
json date_json(double ms) {
  if (!std::isfinite(ms) || std::fabs(ms) > max_date_ms) return nullptr;
  const auto t = static_cast<std::int64_t>(std::trunc(ms));  // TimeClip
  constexpr std::int64_t ms_per_day = 86'400'000;
  const std::int64_t days = floor_div(t, ms_per_day);
  const std::int64_t in_day = t - days * ms_per_day;
  std::int64_t year = 0;
  unsigned month = 0;
  unsigned day = 0;
  civil_from_days(days, year, month, day);
  // Years outside 0000..9999 take a sign and six digits (ISO 8601's expanded form, as JS).
  std::string text = year >= 0 && year <= 9999 ? zero_padded(year, 4)
                                               : (year < 0 ? "-" : "+") + zero_padded(year < 0 ? -year : year, 6);
  text += "-" + zero_padded(month, 2) + "-" + zero_padded(day, 2) + "T" + zero_padded(in_day / 3'600'000, 2) + ":" +
          zero_padded(in_day / 60'000 % 60, 2) + ":" + zero_padded(in_day / 1000 % 60, 2) + "." +
          zero_padded(in_day % 1000, 3) + "Z";
  return text;
}

std::uint32_t load_u32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) | (std::uint32_t{u[2]} << 8) | u[3];
}
std::int32_t load_i32(const char* p) { return static_cast<std::int32_t>(load_u32(p)); }

json binary_of(const char* data, std::size_t size) {
  const auto* u = reinterpret_cast<const std::uint8_t*>(data);
  return json::binary(json::binary_t::container_type(u, u + size));
}

// What an ext value decodes to: a value, notepack's undefined, or its [type, Buffer].
enum class ext_kind : std::uint8_t { value, undefined, tuple };

// `header` is how the ext was framed: 0xd4..0xd8 (fixext), 0xc7, or 0 for ext16/32.
// notepack 3.0.1's rules, in its decode.js order; false for a frame it misreads.
bool read_ext(unsigned header, std::int8_t type, std::string_view data, ext_kind& kind, json& value,
              std::string& error) {
  const bool fixed = header >= 0xd4 && header <= 0xd8;
  kind = ext_kind::value;
  if (type == 0) {
    if (!fixed) {
      value = binary_of(data.data(), data.size());  // legacy ArrayBuffer
      return true;
    }
    if (header == 0xd4) {
      kind = ext_kind::undefined;
      return true;
    }
    if (header == 0xd7) {  // legacy date: milliseconds, int64
      value = date_json(load_i32(data.data()) * 4294967296.0 + load_u32(data.data() + 4));
      return true;
    }
  } else if (type == -1) {
    if (header == 0xd6) {  // timestamp 32
      value = date_json(load_u32(data.data()) * 1e3);
      return true;
    }
    if (header == 0xd7) {  // timestamp 64: 30 bits of nanoseconds, 34 of seconds
      const std::uint32_t hi = load_u32(data.data());
      const double seconds = (hi & 0x3U) * 4294967296.0 + load_u32(data.data() + 4);
      value = date_json(seconds * 1e3 + (hi >> 2U) / 1e6);
      return true;
    }
    if (header == 0xc7) {  // timestamp 96: notepack reads 12 bytes whatever the length says
      if (data.size() != 12) {
        error = "msgpack timestamp ext of " + std::to_string(data.size()) + " bytes (must be 12)";
        return false;
      }
      const double seconds = load_i32(data.data() + 4) * 4294967296.0 + load_u32(data.data() + 8);
      value = date_json(seconds * 1e3 + load_u32(data.data()) / 1e6);
      return true;
    }
  }
  kind = ext_kind::tuple;
  value = json::array({type, binary_of(data.data(), data.size())});
  return true;
}

// -- decoding: the tree ------------------------------------------------------------------

// Builds the json tree from msgpack-cxx's parser events (its SAX-style visitor): no
// msgpack object tree in between, nothing sized from a declared length (a declared array
// of 2^32 elements allocates nothing), and every bound checked before a container opens.
class tree_builder : public msgpack::null_visitor {
 public:
  tree_builder(std::string_view input, const json_limits& limits) : input_(input), limits_(limits) {}

  std::string error;
  json root;

  bool visit_nil() { return deliver(nullptr); }
  bool visit_boolean(bool v) { return deliver(v); }
  bool visit_positive_integer(std::uint64_t v) {
    if (in_key_) return set_key(std::to_string(v));
    return deliver(v);
  }
  bool visit_negative_integer(std::int64_t v) {
    if (in_key_) return set_key(std::to_string(v));
    return deliver(v);
  }
  bool visit_float32(float v) { return visit_float64(static_cast<double>(v)); }
  bool visit_float64(double v) {
    if (in_key_) return set_key(js_number_text(v));
    return deliver(v);
  }
  bool visit_str(const char* v, std::uint32_t size) {
    std::string text = utf8_or_replacement(std::string_view(v, size));
    if (in_key_) return set_key(std::move(text));
    return deliver(std::move(text));
  }
  bool visit_bin(const char* v, std::uint32_t size) { return deliver(binary_of(v, size)); }
  bool visit_ext(const char* v, std::uint32_t size) {
    if (size == 0) return fail("msgpack ext without a type");
    const auto offset = static_cast<std::size_t>(v - input_.data());
    const std::size_t length = size - 1;
    auto at = [&](std::size_t back) { return offset >= back ? static_cast<unsigned char>(input_[offset - back]) : 0U; };
    // The parser hands over the type byte and data only; the framing (which notepack
    // reads differently) is in the bytes just before them.
    unsigned header = 0;
    constexpr std::array<std::size_t, 5> fixed_sizes{1, 2, 4, 8, 16};
    for (unsigned i = 0; i < fixed_sizes.size(); ++i) {
      if (length == fixed_sizes[i] && at(1) == 0xd4 + i) header = 0xd4 + i;
    }
    if (header == 0 && at(2) == 0xc7 && at(1) == length) header = 0xc7;
    ext_kind kind = ext_kind::value;
    json value;
    if (!read_ext(header, static_cast<std::int8_t>(v[0]), std::string_view(v + 1, length), kind, value, error)) {
      return false;
    }
    if (kind == ext_kind::undefined) return deliver_undefined();
    if (in_key_) return fail("msgpack map key is not a string or a number");
    if (kind == ext_kind::tuple && stack_.size() + 1 > limits_.max_depth) return fail("msgpack nested too deeply");
    return deliver(std::move(value));
  }

  bool start_array(std::uint32_t n) { return open(json::array(), n); }
  bool end_array() { return close(); }
  bool start_map(std::uint32_t n) {
    if (n > limits_.max_object_members) return fail("msgpack map with too many members");
    return open(json::object(), 2 * std::size_t{n});
  }
  bool start_map_key() {
    in_key_ = true;
    return true;
  }
  bool end_map_key() {
    in_key_ = false;
    return true;
  }
  bool end_map() { return close(); }

  // `error_offset` is that of the byte no msgpack value starts with (0xc1).
  void parse_error(std::size_t /*parsed_offset*/, std::size_t error_offset) {
    if (error.empty()) {
      const std::size_t at = error_offset;
      std::array<char, 64> buf{};
      std::snprintf(buf.data(), buf.size(), "invalid msgpack byte 0x%02x at offset %zu",
                    at < input_.size() ? static_cast<unsigned>(static_cast<unsigned char>(input_[at])) : 0U, at);
      error = buf.data();
    }
  }
  void insufficient_bytes(std::size_t /*parsed_offset*/, std::size_t /*error_offset*/) {
    if (error.empty()) error = "truncated msgpack";
  }

 private:
  struct frame {
    json value;
    std::string key;  // maps: the key whose value comes next
  };

  bool fail(std::string reason) {
    if (error.empty()) error = std::move(reason);
    return false;
  }

  bool set_key(std::string key) {
    stack_.back().key = std::move(key);
    return true;
  }

  bool open(json container, std::size_t children) {
    if (in_key_) return fail("msgpack map key is not a string or a number");
    if (stack_.size() + 1 > limits_.max_depth) return fail("msgpack nested too deeply");
    // Each element takes at least one byte of its own: a declared count beyond the
    // input's size is a lie, refused before anything is built for it.
    declared_ += children;
    if (declared_ > input_.size()) return fail("msgpack declares more elements than its bytes can hold");
    if (declared_ > max_values) return fail("msgpack message with more than " + std::to_string(max_values) + " values");
    stack_.push_back(frame{std::move(container), {}});
    return true;
  }

  bool close() {
    json done = std::move(stack_.back().value);
    stack_.pop_back();
    return deliver(std::move(done));
  }

  bool deliver(json v) {
    if (in_key_) return fail("msgpack map key is not a string or a number");
    if (stack_.empty()) {
      root = std::move(v);
    } else if (auto& top = stack_.back(); top.value.is_array()) {
      top.value.push_back(std::move(v));
    } else if (top.key != "__proto__") {
      top.value[top.key] = std::move(v);  // a repeated key: the last value, the first place (as JS)
    }
    return true;
  }

  // notepack's undefined: null in an array, no member in a map (JSON.stringify and
  // notepack.encode both leave such a member out; it may replace an earlier one).
  bool deliver_undefined() {
    if (in_key_) return fail("msgpack map key is not a string or a number");
    if (!stack_.empty() && stack_.back().value.is_object()) {
      stack_.back().value.erase(stack_.back().key);
      return true;
    }
    return deliver(nullptr);
  }

  std::string_view input_;
  const json_limits& limits_;
  std::vector<frame> stack_;
  bool in_key_ = false;
  std::size_t declared_ = 1;  // the root
};

}  // namespace

void append(std::string& out, const json& v) {
  string_sink sink{out};
  packer p(sink);
  pack_value(p, v);
}

void append_array_header(std::string& out, std::size_t n) {
  string_sink sink{out};
  packer(sink).pack_array(static_cast<std::uint32_t>(n));
}

void append_map_header(std::string& out, std::size_t n) {
  string_sink sink{out};
  packer(sink).pack_map(static_cast<std::uint32_t>(n));
}

std::string encode(const json& v) {
  std::string out;
  append(out, v);
  return out;
}

std::optional<json> decode(std::string_view bytes, const json_limits& limits, std::string* error) {
  auto refuse = [&](std::string reason) -> std::optional<json> {
    if (error) *error = std::move(reason);
    return std::nullopt;
  };
  try {
    tree_builder builder(bytes, limits);
    std::size_t offset = 0;
    if (!msgpack::parse(bytes.data(), bytes.size(), offset, builder)) {
      return refuse(builder.error.empty() ? "invalid msgpack" : builder.error);
    }
    if (offset != bytes.size()) return refuse(std::to_string(bytes.size() - offset) + " trailing bytes after the msgpack value");
    return std::move(builder.root);
  } catch (const std::exception& e) {
    return refuse(std::string("msgpack decode failed: ") + e.what());
  }
}

std::string js_number_text(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return "0";
  if (d < 0) return "-" + js_number_text(-d);
  // The shortest round-trip digits (as JS), then JS's layout (ECMA-262 Number::toString).
  std::array<char, 64> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), d, std::chars_format::scientific);
  const std::string_view sci(buf.data(), static_cast<std::size_t>(res.ptr - buf.data()));
  const std::size_t e_at = sci.find('e');
  std::string digits(sci.substr(0, 1));
  if (e_at > 2) digits.append(sci.substr(2, e_at - 2));
  int exponent = 0;
  std::from_chars(sci.data() + e_at + (sci[e_at + 1] == '+' ? 2 : 1), sci.data() + sci.size(), exponent);
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;
  if (k <= n && n <= 21) return digits + std::string(static_cast<std::size_t>(n - k), '0');
  if (0 < n && n <= 21) return digits.substr(0, static_cast<std::size_t>(n)) + "." + digits.substr(static_cast<std::size_t>(n));
  if (-6 < n && n <= 0) return "0." + std::string(static_cast<std::size_t>(-n), '0') + digits;
  const std::string e = (n - 1 >= 0 ? "e+" : "e-") + std::to_string(std::abs(n - 1));
  if (k == 1) return digits + e;
  return digits.substr(0, 1) + "." + digits.substr(1) + e;
}

std::string utf8_or_replacement(std::string_view bytes) {
  std::size_t i = first_invalid_utf8(bytes);
  if (i == std::string_view::npos) return std::string(bytes);
  static constexpr std::string_view replacement = "\xEF\xBF\xBD";
  std::string out(bytes.substr(0, i));
  out.reserve(bytes.size() + 2);
  while (i < bytes.size()) {
    const auto [length, valid] = utf8_sequence_at(bytes, i);
    // One U+FFFD for each maximal invalid subpart; the byte that broke it starts anew.
    if (valid) {
      out.append(bytes.substr(i, length));
    } else {
      out.append(replacement);
    }
    i += length;
  }
  return out;
}

bool is_array_index(std::string_view key) {
  if (key.empty() || key.size() > 10 || (key.size() > 1 && key[0] == '0')) return false;
  std::uint64_t value = 0;
  for (const char c : key) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value < 4294967295ULL;
}

std::vector<json::const_iterator> js_key_order(const json& object) {
  std::vector<json::const_iterator> members;
  members.reserve(object.size());
  for (auto it = object.cbegin(); it != object.cend(); ++it) members.push_back(it);
  auto index_of = [](const json::const_iterator& it) { return std::stoull(it.key()); };
  // Array indices first, ascending; the others keep their order.
  const auto others = std::stable_partition(members.begin(), members.end(),
                                            [](const json::const_iterator& it) { return is_array_index(it.key()); });
  std::sort(members.begin(), others, [&](const auto& a, const auto& b) { return index_of(a) < index_of(b); });
  return members;
}

}  // namespace hub::notepack
