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
    if (!r->is_string() && !r->is_number_integer()) return std::nullopt;
    p.reply_to = *r;
  }
  return p;
}

}  // namespace hub::app
