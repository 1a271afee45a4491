#include "protocol/socketio_packet.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <charconv>
#include <cmath>

namespace hub::sio {
namespace {

constexpr std::array<std::string_view, 6> reserved_event_names = {
  "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
};

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }

constexpr bool is_binary_type(packet_type t) { return t == packet_type::binary_event || t == packet_type::binary_ack; }

// One pass over the JSON payload with nlohmann's SAX parser: validates the syntax
// without building a DOM, and records what the payload rules need (the root's kind,
// the kind and text of an array's first element) and, for binary packets, whether a
// placeholder is out of range. Placeholders follow socket.io-parser's
// reconstructPacket: an object whose "_placeholder" is `true` must have a "num" that is
// a number in [0, n); the contents of a placeholder object are not looked at.
class payload_scanner {
 public:
  using json = nlohmann::json;
  enum class kind : std::uint8_t { none, other, number, string, array, object };

  payload_scanner(bool check_placeholders, std::size_t attachments, const json_limits& limits)
    : check_placeholders_(check_placeholders), attachments_(attachments), limits_(limits) {}

  // Why the parse stopped early, when it stopped on a limit rather than on bad syntax.
  const char* limit_error() const { return limit_error_; }
  decode_error::bound exceeded() const { return exceeded_; }

  kind root() const { return root_; }
  std::size_t root_size() const { return root_size_; }
  kind first() const { return first_; }
  const std::string& first_string() const { return first_string_; }
  bool bad_placeholder() const { return bad_placeholder_; }

  // The SAX interface.
  bool null() { return on_value(kind::other); }
  bool boolean(bool b) { return on_value(kind::other, b); }
  bool number_integer(json::number_integer_t v) {
    return on_value(kind::number, false, v >= 0 && static_cast<std::uint64_t>(v) < attachments_);
  }
  bool number_unsigned(json::number_unsigned_t v) { return on_value(kind::number, false, v < attachments_); }
  bool number_float(json::number_float_t v, const json::string_t& /*text*/) {
    return on_value(kind::number, false, v >= 0 && v < static_cast<double>(attachments_) && std::floor(v) == v);
  }
  bool string(json::string_t& s) {
    if (depth_ == 1 && root_ == kind::array && root_size_ == 0) first_string_ = s;
    return on_value(kind::string);
  }
  bool binary(json::binary_t& /*b*/) { return on_value(kind::other); }
  bool start_object(std::size_t /*size*/) {
    on_value(kind::object);
    return open(true);
  }
  bool key(json::string_t& k) {
    if (++members_.back() > limits_.max_object_members) {
      limit_error_ = "JSON object with too many members";
      exceeded_ = decode_error::bound::members;
      return false;
    }
    if (check_placeholders_) {
      frames_.back().pending = k == "_placeholder" ? member::placeholder : k == "num" ? member::num : member::other;
    }
    return true;
  }
  bool end_object() { return close(); }
  bool start_array(std::size_t /*size*/) {
    on_value(kind::array);
    return open(false);
  }
  bool end_array() { return close(); }
  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& /*ex*/) {
    return false;
  }

 private:
  enum class member : std::uint8_t { other, placeholder, num };
  struct frame {
    bool is_object = false;
    member pending = member::other;  // which member the next value belongs to
    bool placeholder_true = false;   // "_placeholder": true
    bool num_valid = false;          // "num": an integer in [0, n)
    bool bad_inside = false;         // an invalid placeholder somewhere below
  };

  bool on_value(kind k, bool is_true = false, bool valid_num = false) {
    if (depth_ == 0) {
      root_ = k;
    } else if (depth_ == 1 && root_ == kind::array) {
      if (root_size_++ == 0) first_ = k;
    }
    if (check_placeholders_ && !frames_.empty() && frames_.back().is_object) {
      frame& f = frames_.back();
      // Last one wins for a repeated key, as in JSON.parse.
      if (f.pending == member::placeholder) {
        f.placeholder_true = is_true;
      } else if (f.pending == member::num) {
        f.num_valid = valid_num;
      }
      f.pending = member::other;
    }
    return true;
  }

  bool open(bool is_object) {
    // Checked here, while scanning: a tree this deep would later be copied and
    // destroyed recursively (a 100k-deep event overflowed the stack).
    if (depth_ + 1 > limits_.max_depth) {
      limit_error_ = "JSON nested too deeply";
      exceeded_ = decode_error::bound::depth;
      return false;
    }
    ++depth_;
    members_.push_back(0);
    if (check_placeholders_) frames_.push_back(frame{is_object});
    return true;
  }

  bool close() {
    --depth_;
    members_.pop_back();
    if (check_placeholders_) {
      const frame f = frames_.back();
      frames_.pop_back();
      const bool bad = f.is_object && f.placeholder_true ? !f.num_valid : f.bad_inside;
      if (frames_.empty()) {
        bad_placeholder_ = bad;
      } else {
        frames_.back().bad_inside |= bad;
      }
    }
    return true;
  }

  const bool check_placeholders_;
  const std::size_t attachments_;
  const json_limits& limits_;
  const char* limit_error_ = nullptr;
  decode_error::bound exceeded_ = decode_error::bound::none;
  std::vector<std::uint32_t> members_;  // keys seen so far, per open container
  std::size_t depth_ = 0;
  kind root_ = kind::none;
  std::size_t root_size_ = 0;
  kind first_ = kind::none;
  std::string first_string_;
  bool bad_placeholder_ = false;
  std::vector<frame> frames_;
};

// Parses the text part of a packet ([sio-parser] decodeString plus isPayloadValid).
// Returns an error reason, or nullptr on success.
const char* parse_header(std::string_view s, packet& p, std::size_t& attachments, bool& bad_placeholder,
                         const json_limits& limits, decode_error::bound& exceeded) {
  if (s.empty()) return "empty packet";
  if (s[0] < '0' || s[0] > '6') return "unknown packet type";
  p.type = static_cast<packet_type>(s[0] - '0');
  std::size_t i = 1;

  attachments = 0;
  if (is_binary_type(p.type)) {
    const std::size_t start = i;
    std::size_t n = 0;
    for (; i < s.size() && is_digit(s[i]); ++i) {
      if (n <= max_attachments) n = n * 10 + static_cast<std::size_t>(s[i] - '0');
    }
    if (i == start || i == s.size() || s[i] != '-') return "illegal attachments";
    if (n > max_attachments) return "too many attachments";
    attachments = n;
    ++i;  // the '-'
  }

  if (i < s.size() && s[i] == '/') {
    const std::size_t comma = s.find(',', i);
    if (comma == std::string_view::npos) {
      p.nsp.assign(s.substr(i));
      i = s.size();
    } else {
      p.nsp.assign(s.substr(i, comma - i));
      i = comma + 1;
    }
  } else {
    p.nsp = "/";
  }

  if (i < s.size() && is_digit(s[i])) {
    const std::size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    std::uint64_t id = 0;
    const auto [end, ec] = std::from_chars(s.data() + start, s.data() + i, id);
    if (ec != std::errc{} || end != s.data() + i) return "invalid ack id";
    p.id = id;
  }

  const std::string_view data = s.substr(i);
  using kind = payload_scanner::kind;
  payload_scanner scan(is_binary_type(p.type), attachments, limits);
  if (!data.empty()) {
    if (!nlohmann::json::sax_parse(data.begin(), data.end(), &scan)) {
      exceeded = scan.exceeded();
      return scan.limit_error() ? scan.limit_error() : "invalid JSON payload";
    }
  }

  switch (p.type) {
    case packet_type::connect:
      if (!data.empty() && scan.root() != kind::object) return "invalid payload";
      break;
    case packet_type::disconnect:
      if (!data.empty()) return "invalid payload";
      break;
    case packet_type::event:
    case packet_type::binary_event:
      if (scan.root() != kind::array || scan.root_size() == 0) return "invalid payload";
      if (scan.first() == kind::string) {
        if (is_reserved_event_name(scan.first_string())) return "reserved event name";
      } else if (scan.first() != kind::number) {
        return "invalid payload";
      }
      break;
    case packet_type::ack:
    case packet_type::binary_ack:
      if (scan.root() != kind::array) return "invalid payload";
      if (!p.id) return "ack without an id";
      break;
    case packet_type::connect_error:
      if (scan.root() != kind::object && scan.root() != kind::string) return "invalid payload";
      break;
  }

  p.data.assign(data);
  bad_placeholder = scan.bad_placeholder();
  return nullptr;
}

}  // namespace

bool is_reserved_event_name(std::string_view name) {
  for (auto reserved : reserved_event_names) {
    if (name == reserved) return true;
  }
  return false;
}

void encode_append(std::string& out, const packet& p) {
  packet_type type = p.type;
  const std::size_t n = p.attachments.size();
  if (n > 0 && type == packet_type::event) type = packet_type::binary_event;
  if (n > 0 && type == packet_type::ack) type = packet_type::binary_ack;
  const bool has_nsp = !p.nsp.empty() && p.nsp != "/";

  // type + "<n>-" + "nsp," + id (at most 20 digits) + data
  out.reserve(out.size() + 1 + (is_binary_type(type) ? 21 : 0) + (has_nsp ? p.nsp.size() + 1 : 0) + (p.id ? 20 : 0) +
              p.data.size());

  out += static_cast<char>('0' + static_cast<std::uint8_t>(type));
  std::array<char, 24> digits{};
  if (is_binary_type(type)) {
    const auto r = std::to_chars(digits.data(), digits.data() + digits.size(), n);
    out.append(digits.data(), r.ptr);
    out += '-';
  }
  // Like socket.io-parser: a namespace other than "/" is always followed by a comma,
  // even when nothing comes after it ("1/chat,"). A namespace must not hold a comma.
  if (has_nsp) {
    out += p.nsp;
    out += ',';
  }
  if (p.id) {
    const auto r = std::to_chars(digits.data(), digits.data() + digits.size(), *p.id);
    out.append(digits.data(), r.ptr);
  }
  out += p.data;
}

std::string encode(const packet& p) {
  std::string out;
  encode_append(out, p);
  return out;
}

void decoder::reset() {
  pending_.reset();
  expected_ = 0;
  bad_placeholder_ = false;
}

decoder::result decoder::feed_text(std::string_view text, const json_limits& limits) {
  if (pending_) {
    reset();
    return decode_error{"got text data while waiting for binary attachments"};
  }
  packet p;
  std::size_t attachments = 0;
  bool bad_placeholder = false;
  auto exceeded = decode_error::bound::none;
  if (const char* error = parse_header(text, p, attachments, bad_placeholder, limits, exceeded)) {
    return decode_error{error, exceeded};
  }
  if (is_binary_type(p.type) && attachments > 0) {
    p.attachments.reserve(attachments);
    pending_ = std::make_unique<packet>(std::move(p));
    expected_ = attachments;
    bad_placeholder_ = bad_placeholder;
    return std::nullopt;
  }
  if (bad_placeholder) return decode_error{"illegal attachments"};  // "50-" with a placeholder
  return p;
}

decoder::result decoder::feed_binary(std::string bytes) {
  if (!pending_) {
    reset();
    return decode_error{"got binary data when not reconstructing a packet"};
  }
  pending_->attachments.push_back(std::move(bytes));
  if (pending_->attachments.size() < expected_) return std::nullopt;
  const bool bad = bad_placeholder_;
  packet p = std::move(*pending_);
  reset();
  if (bad) return decode_error{"illegal attachments"};
  return p;
}

}  // namespace hub::sio
