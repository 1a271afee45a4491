#include "sio/recovery_codec.hpp"

#include <charconv>

namespace hub::recovery {
namespace {

// Stream names are ids chosen by applications: escape the separators, and anything
// that would need escaping inside a JSON string, so the offset stays plain text.
bool plain(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '/' || c == ':';
}

void escape_append(std::string& out, const std::string& s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  for (char c : s) {
    if (plain(c)) {
      out += c;
    } else {
      auto u = static_cast<unsigned char>(c);
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::optional<std::string> unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

}  // namespace

std::string format_offset(const std::string& epoch, const std::map<std::string, std::uint64_t>& positions) {
  std::string out;
  append_offset(out, epoch, positions, {});
  return out;
}

std::string format_offset(const std::string& epoch, const std::map<std::string, std::uint64_t>& a,
                          const std::map<std::string, std::uint64_t>& b) {
  std::string out;
  append_offset(out, epoch, a, b);
  return out;
}

void append_offset(std::string& out, const std::string& epoch, const std::map<std::string, std::uint64_t>& a,
                   const std::map<std::string, std::uint64_t>& b) {
  out.reserve(out.size() + epoch.size() + (a.size() + b.size()) * 24);
  escape_append(out, epoch);
  auto put = [&out](const std::string& stream, std::uint64_t seq) {
    out += '~';
    escape_append(out, stream);
    out += '=';
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof digits, seq).ptr;
    out.append(digits, end);
  };
  // Both maps are sorted by stream: walk them together, as one sorted map would be.
  auto i = a.begin(), j = b.begin();
  while (i != a.end() || j != b.end()) {
    if (j == b.end() || (i != a.end() && i->first < j->first)) {
      put(i->first, i->second);
      ++i;
    } else if (i == a.end() || j->first < i->first) {
      put(j->first, j->second);
      ++j;
    } else {
      put(i->first, std::max(i->second, j->second));
      ++i;
      ++j;
    }
  }
}

bool raise_offset(std::string& text, std::string_view stream, std::uint64_t seq) {
  if (stream.empty()) return false;
  for (char c : stream)
    if (!plain(c)) return false;
  // "~<stream>=" ends at '=', and names hold no '~' or '=' (not plain): one match at most.
  std::size_t at = 0;
  for (;;) {
    at = text.find(stream, at);
    if (at == std::string::npos) return false;
    std::size_t end = at + stream.size();
    if (at > 0 && text[at - 1] == '~' && end < text.size() && text[end] == '=') break;
    ++at;
  }
  std::size_t digits = at + stream.size() + 1;
  std::size_t stop = text.find('~', digits);
  if (stop == std::string::npos) stop = text.size();
  std::uint64_t now = 0;
  auto [ptr, ec] = std::from_chars(text.data() + digits, text.data() + stop, now);
  if (ec != std::errc{} || ptr != text.data() + stop) return false;
  if (seq <= now) return true;
  char buf[24];
  auto len = static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, seq).ptr - buf);
  text.replace(digits, stop - digits, buf, len);
  return true;
}

std::optional<offset> parse_offset(const std::string& text) {
  offset o;
  std::string_view rest(text);
  auto next = [&rest]() {
    auto pos = rest.find('~');
    auto part = rest.substr(0, pos);
    rest = pos == std::string_view::npos ? std::string_view{} : rest.substr(pos + 1);
    return part;
  };
  auto epoch = unescape(next());
  if (!epoch || epoch->empty()) return std::nullopt;
  o.epoch = *epoch;
  while (!rest.empty()) {
    auto part = next();
    auto eq = part.rfind('=');
    if (eq == std::string_view::npos || eq == 0) return std::nullopt;
    auto stream = unescape(part.substr(0, eq));
    if (!stream) return std::nullopt;
    std::uint64_t seq = 0;
    auto digits = part.substr(eq + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
    if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty()) return std::nullopt;
    o.positions[*stream] = seq;
  }
  return o;
}

std::string encode_record(const session_record& r) {
  json j = json::object();
  j["sid"] = r.sid;
  j["pid"] = r.pid;
  j["nsp"] = r.nsp;
  j["rooms"] = r.rooms;
  json joins = json::object();
  for (const auto& [s, seq] : r.joined_at) joins[s] = seq;
  j["joinedAt"] = std::move(joins);
  j["data"] = r.data;
  j["updatedAt"] = r.updated_at_ms;
  if (r.disconnected_at_ms) j["disconnectedAt"] = *r.disconnected_at_ms;
  if (!r.node.empty()) j["node"] = r.node;
  return j.dump();
}

std::optional<session_record> decode_record(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  try {
    session_record r;
    r.sid = j.at("sid").get<std::string>();
    r.pid = j.at("pid").get<std::string>();
    r.nsp = j.at("nsp").get<std::string>();
    r.rooms = j.at("rooms").get<std::vector<std::string>>();
    for (const auto& [s, seq] : j.at("joinedAt").items()) r.joined_at[s] = seq.get<std::uint64_t>();
    r.data = j.value("data", json());
    r.updated_at_ms = j.at("updatedAt").get<std::int64_t>();
    if (j.contains("disconnectedAt")) r.disconnected_at_ms = j["disconnectedAt"].get<std::int64_t>();
    r.node = j.value("node", std::string{});
    return r;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

std::int64_t to_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace hub::recovery
