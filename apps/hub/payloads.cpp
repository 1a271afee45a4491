#include "apps/hub/payloads.hpp"

#include "protocol/ws_frame.hpp"

namespace hub::app {

std::optional<std::string> id_from(const json& value, const char* key) {
  const json* v = &value;
  if (value.is_object()) {
    auto it = value.find(key);
    if (it == value.end()) return std::nullopt;
    v = &*it;
  }
  std::string id;
  if (v->is_string())
    id = v->get<std::string>();
  else if (v->is_number_integer())
    id = v->dump();
  else
    return std::nullopt;
  if (id.empty() || id.size() > max_id_length) return std::nullopt;
  return id;
}

std::optional<send_message_payload> parse_send_message(const json& value, std::size_t max_content) {
  if (!value.is_object()) return std::nullopt;
  auto project = id_from(value.contains("projectId") ? value["projectId"] : json(), "projectId");
  if (!project) return std::nullopt;
  auto content = value.find("content");
  if (content == value.end() || !content->is_string()) return std::nullopt;
  const auto& text = content->get_ref<const std::string&>();
  if (text.size() > max_content) return std::nullopt;
  if (text.find_first_not_of(" \t\r\n\f\v") == std::string::npos) return std::nullopt;
  send_message_payload p;
  p.project = std::move(*project);
  p.content = text;
  if (auto r = value.find("replyTo"); r != value.end() && !r->is_null()) {
    if (!r->is_string()) return std::nullopt;  // a message id; the room checks it exists
    p.reply_to = *r;
  }
  return p;
}

namespace {

bool bounded_string(const json& v, std::size_t min, std::size_t max) {
  if (!v.is_string()) return false;
  auto n = v.get_ref<const std::string&>().size();
  return n >= min && n <= max;
}

}  // namespace

std::optional<notification_payload> parse_notification(const json& value) {
  if (!value.is_object()) return std::nullopt;
  auto user = id_from(value.contains("userId") ? value["userId"] : json(), "userId");
  if (!user) return std::nullopt;
  auto field = [&](const char* key) { return value.contains(key) ? value[key] : json(); };
  if (!bounded_string(field("title"), 1, max_title_bytes) ||
      !bounded_string(field("message"), 0, max_notification_text_bytes) ||
      !bounded_string(field("type"), 1, max_type_bytes))
    return std::nullopt;
  notification_payload p;
  p.user = std::move(*user);
  p.input = json::object();
  p.input["title"] = value["title"];
  p.input["message"] = value["message"];
  p.input["type"] = value["type"];
  p.input["data"] = value.contains("data") && !value["data"].is_null() ? value["data"] : json::object();
  return p;
}

std::optional<json> parse_mark_notifications(const json& value) {
  if (!value.is_object()) return std::nullopt;
  if (auto all = value.find("all"); all != value.end()) {
    if (*all != true) return std::nullopt;
    return json{{"all", true}};
  }
  auto ids = value.find("ids");
  if (ids == value.end() || !ids->is_array() || ids->empty() || ids->size() > max_mark_read_ids) return std::nullopt;
  for (const auto& id : *ids)
    if (!bounded_string(id, 1, max_notification_id_bytes)) return std::nullopt;
  return json{{"ids", *ids}};
}

namespace {

// The next code point of valid UTF-8 (ws::valid_utf8 ran first: no overlongs, no
// surrogates, nothing truncated).
char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto b = static_cast<unsigned char>(s[i]);
  const std::size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
  char32_t c = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
  for (std::size_t k = 1; k < n; ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += n;
  return c;
}

// Code points that make up emoji (Unicode's emoji-data, coarsened to its blocks):
// pictographs, symbols and dingbats, regional indicators, plus what joins and modifies
// them (ZWJ, variation selectors, keycap, tags). Skin tones (1F3FB..1F3FF) lie inside
// the 1F000 block.
bool emoji_base(char32_t c) {
  return (c >= 0x1F000 && c <= 0x1FAFF) || (c >= 0x2600 && c <= 0x27BF) || (c >= 0x2300 && c <= 0x23FF) ||
         (c >= 0x2B00 && c <= 0x2BFF) || (c >= 0x2190 && c <= 0x21FF) || (c >= 0x25A0 && c <= 0x25FF) ||
         (c >= 0x2900 && c <= 0x297F) || c == 0x00A9 || c == 0x00AE || c == 0x203C || c == 0x2049 || c == 0x2122 ||
         c == 0x2139 || c == 0x24C2 || c == 0x3030 || c == 0x303D || c == 0x3297 || c == 0x3299;
}

bool emoji_joiner(char32_t c) {
  return c == 0x200D || c == 0xFE0F || c == 0xFE0E || c == 0x20E3 || (c >= 0xE0020 && c <= 0xE007F);
}

}  // namespace

bool valid_emoji(const json& value) {
  if (!bounded_string(value, 1, max_emoji_bytes)) return false;
  const std::string& s = value.get_ref<const std::string&>();
  if (!ws::valid_utf8(s)) return false;
  // One emoji, possibly a ZWJ sequence or a keycap (#, *, 0-9 + FE0F? + 20E3): starts
  // with a base, and contains nothing but bases and joiners.
  std::size_t i = 0;
  bool first = true;
  std::size_t points = 0;
  while (i < s.size()) {
    const char32_t c = next_code_point(s, i);
    ++points;
    const bool keycap_base = first && (c == '#' || c == '*' || (c >= '0' && c <= '9'));
    if (keycap_base) {
      if (s.find("\xE2\x83\xA3") == std::string::npos) return false;  // U+20E3 must follow
    } else if (!(emoji_base(c) || (!first && emoji_joiner(c)))) {
      return false;
    }
    first = false;
  }
  return points <= max_emoji_code_points;
}

}  // namespace hub::app
