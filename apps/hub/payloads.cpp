#include "apps/hub/payloads.hpp"

namespace hub::app {

std::optional<std::string> id_from(const json& value, const char* key) {
  const json* v = &value;
  if (value.is_object()) {
    auto it = value.find(key);
    if (it == value.end()) return std::nullopt;
    v = &*it;
  }
  std::string id;
  if (v->is_string()) id = v->get<std::string>();
  else if (v->is_number_integer()) id = v->dump();
  else return std::nullopt;
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
  if (!bounded_string(field("title"), 1, 200) || !bounded_string(field("message"), 0, 2000) ||
      !bounded_string(field("type"), 1, 64))
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
  if (ids == value.end() || !ids->is_array() || ids->empty() || ids->size() > 500) return std::nullopt;
  for (const auto& id : *ids)
    if (!bounded_string(id, 1, 64)) return std::nullopt;
  return json{{"ids", *ids}};
}

bool valid_emoji(const json& value) {
  if (!bounded_string(value, 1, 32)) return false;
  for (unsigned char c : value.get_ref<const std::string&>())
    if (c <= 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace hub::app
