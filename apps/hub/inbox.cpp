#include "apps/hub/inbox.hpp"

#include <set>

namespace hub {
namespace {

// How much of a chat message a notification quotes.
constexpr std::size_t excerpt_bytes = 140;

// At most `n` bytes of `text`, not cutting a UTF-8 sequence in two.
std::string excerpt(const std::string& text, std::size_t n) {
  if (text.size() <= n) return text;
  std::size_t end = n;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end) + "…";
}

std::string chat_title(std::uint64_t count, const std::string& project) {
  if (count == 1) return "New message in " + project;
  return std::to_string(count) + " new messages in " + project;
}

}  // namespace

void inbox::apply(std::uint64_t seq, const json& entry) {
  last_seq_ = std::max(last_seq_, seq);
  if (!entry.is_object()) return;
  const auto kind = entry.value("t", std::string{});
  if (kind == "n" && entry.contains("n") && entry["n"].is_object()) {
    const json& n = entry["n"];
    auto id = n.value("id", std::string{});
    if (id.empty()) return;
    auto [it, fresh] = items_.try_emplace(id);
    if (!fresh) by_seq_.erase(it->second.seq);
    if (fresh || it->second.read) ++unread_;  // a new version is unread again
    it->second.n = n;
    it->second.read = false;
    it->second.seq = seq;
    by_seq_[seq] = id;
    if (n.value("type", std::string{}) == "chat" && n.contains("data") && n["data"].is_object())
      if (auto p = n["data"].find("projectId"); p != n["data"].end() && p->is_string())
        open_chat_[p->get<std::string>()] = id;
    return;
  }
  if (kind == "r") {
    if (entry.value("all", false)) {
      for (auto& [id, it] : items_) mark_read(it);
      return;
    }
    if (auto ids = entry.find("ids"); ids != entry.end() && ids->is_array())
      for (const auto& id : *ids)
        if (id.is_string())
          if (auto it = items_.find(id.get<std::string>()); it != items_.end()) mark_read(it->second);
  }
}

void inbox::mark_read(item& it) {
  if (it.read) return;
  it.read = true;
  --unread_;
  if (it.n.value("type", std::string{}) != "chat") return;
  const auto& data = it.n["data"];
  if (!data.is_object() || !data.contains("projectId") || !data["projectId"].is_string()) return;
  auto open = open_chat_.find(data["projectId"].get<std::string>());
  if (open != open_chat_.end() && open->second == it.n.value("id", std::string{})) open_chat_.erase(open);
}

json inbox::notification_entry(const std::string& id, const json& input, const std::string& created_at) {
  json n = json::object();
  n["id"] = id;
  n["title"] = input.value("title", std::string{});
  n["message"] = input.value("message", std::string{});
  n["type"] = input.value("type", std::string{});
  n["data"] = input.contains("data") && !input["data"].is_null() ? input["data"] : json::object();
  n["createdAt"] = created_at;
  return json{{"t", "n"}, {"n", std::move(n)}};
}

json inbox::chat_entry(const std::string& project, const json& message, const std::string& new_id,
                       const std::string& created_at) const {
  std::string id = new_id;
  std::uint64_t count = 1;
  if (auto open = open_chat_.find(project); open != open_chat_.end()) {
    const auto& current = items_.at(open->second).n;
    id = open->second;
    count = current["data"].value("count", std::uint64_t{0}) + 1;
  }
  const auto sender = message.value("senderName", std::string{});
  json data = json::object();
  data["projectId"] = project;
  data["count"] = count;
  data["messageId"] = message.value("id", std::string{});
  data["seq"] = message.value("seq", std::uint64_t{0});
  json input = json::object();
  input["title"] = chat_title(count, project);
  input["message"] = sender + ": " + excerpt(message.value("content", std::string{}), excerpt_bytes);
  input["type"] = "chat";
  input["data"] = std::move(data);
  return notification_entry(id, input, created_at);
}

std::optional<json> inbox::read_entry(const std::vector<std::string>& ids, bool all) const {
  if (all) {
    if (unread_ == 0) return std::nullopt;
    return json{{"t", "r"}, {"all", true}, {"unread", 0}};
  }
  json marked = json::array();
  std::set<std::string> seen;  // a request may name an id twice (up to 500 ids)
  for (const auto& id : ids) {
    auto it = items_.find(id);
    if (it == items_.end() || it->second.read || !seen.insert(id).second) continue;
    marked.push_back(id);
  }
  const std::size_t newly = marked.size();
  if (newly == 0) return std::nullopt;
  return json{{"t", "r"}, {"ids", std::move(marked)}, {"unread", unread_ - newly}};
}

json inbox::list(bool unread_only, std::size_t limit) const {
  json out = json::array();
  for (auto it = by_seq_.rbegin(); it != by_seq_.rend() && out.size() < limit; ++it) {
    const auto& item = items_.at(it->second);
    if (unread_only && item.read) continue;
    out.push_back(client_view(item.n, item.read));
  }
  return out;
}

std::vector<json> inbox::unread_after(std::uint64_t seq) const {
  std::vector<json> out;
  for (auto it = by_seq_.upper_bound(seq); it != by_seq_.end(); ++it) {
    const auto& item = items_.at(it->second);
    if (!item.read) out.push_back(client_view(item.n, false));
  }
  return out;
}

std::uint64_t inbox::trim(std::size_t keep) {
  if (items_.size() <= keep) return 0;
  while (items_.size() > keep) {
    auto oldest = by_seq_.begin();
    auto it = items_.find(oldest->second);
    mark_read(it->second);  // keeps unread_ and open_chat_ right
    items_.erase(it);
    by_seq_.erase(oldest);
  }
  return oldest_seq();
}

json inbox::client_view(const json& n, bool read) {
  json v = n;
  v["read"] = read;
  return v;
}

std::optional<std::pair<std::string, json>> inbox::replay_event(const json& entry) {
  if (!entry.is_object()) return std::nullopt;
  const auto kind = entry.value("t", std::string{});
  if (kind == "n" && entry.contains("n") && entry["n"].is_object())
    return std::make_pair(std::string("notification"), client_view(entry["n"], false));
  if (kind == "r") {
    json payload = json::object();
    if (entry.value("all", false))
      payload["all"] = true;
    else
      payload["ids"] = entry.value("ids", json::array());
    payload["unread"] = entry.value("unread", std::uint64_t{0});
    return std::make_pair(std::string("notifications-read"), std::move(payload));
  }
  return std::nullopt;
}

}  // namespace hub
