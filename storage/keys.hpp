// The whole storage layout in one place: the name of every log and key the server
// writes, each build function with its parse function beside it. docs/hub.md's "Data
// layout" table mirrors this file; change both together.
//
// These are the names the storage actor is given. On disk the store prefixes them
// (storage/store.cpp): "l/<escaped log name>/<8-byte seq>" for log entries, "k/<key>"
// for keys. Names that embed a project id put its length first ("<len>/<id>/..."),
// because ids may contain '/' and ':'.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hub::keys {

namespace detail {
inline std::string sized(const std::string& id) { return std::to_string(id.size()) + "/" + id; }
// `name` without `prefix`, or nullopt when it does not start with it or nothing follows.
inline std::optional<std::string> after(std::string_view name, std::string_view prefix) {
  if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix) return std::nullopt;
  return std::string(name.substr(prefix.size()));
}
inline std::optional<std::uint64_t> decimal(std::string_view text) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}
}  // namespace detail

// -- logs (durable streams) -----------------------------------------------------------------

// A project's chat: one entry per message, the message JSON without seq and id.
inline std::string room_log(const std::string& project) { return "room/" + project; }
inline std::optional<std::string> parse_room_log(std::string_view log) { return detail::after(log, "room/"); }

// A user's notification inbox: {"t":"n",...} (a notification) and {"t":"r",...} (read).
inline std::string inbox_log(const std::string& user) { return "inbox/" + user; }
inline std::optional<std::string> parse_inbox_log(std::string_view log) { return detail::after(log, "inbox/"); }

// The replies to one message: an index log of room seqs, written with each reply.
inline std::string thread_log(const std::string& project, std::uint64_t root) {
  return "thread/" + detail::sized(project) + "/" + std::to_string(root);
}

// -- keys -----------------------------------------------------------------------------------

// Who joined a project's chat at least once: one key per member (value "1"), so that
// nodes of a cluster add members without rewriting each other's list.
inline std::string members_prefix(const std::string& project) { return "member/" + detail::sized(project) + "/"; }
inline std::string member(const std::string& project, const std::string& user) {
  return members_prefix(project) + user;
}
// Before per-member keys: one JSON array of user ids (still read, never written).
inline std::string members(const std::string& project) { return "members/" + detail::sized(project); }

// Reactions to one message of a project: {emoji: [user ids]}. A scan of the prefix
// finds every reacted message; parse_reactions gives each key's seq.
inline std::string reactions_prefix(const std::string& project) { return "react/" + detail::sized(project) + "/"; }
inline std::string reactions(const std::string& project, std::uint64_t seq) {
  return reactions_prefix(project) + std::to_string(seq);
}
inline std::optional<std::uint64_t> parse_reactions(const std::string& project, std::string_view key) {
  auto seq = detail::after(key, reactions_prefix(project));
  return seq ? detail::decimal(*seq) : std::nullopt;
}

// A user's read marker in a project's chat (decimal seq).
inline std::string read_marker(const std::string& project, const std::string& user) {
  return "read/" + detail::sized(project) + "/" + user;
}

// The inbox seq up to which a connection of the user had it (offline push).
inline std::string inbox_delivered(const std::string& user) { return "inbox-delivered/" + user; }

// A session record of connection state recovery (docs/recovery.md), by private id.
inline std::string session(const std::string& pid) { return "sess/" + pid; }
inline std::optional<std::string> parse_session(std::string_view key) { return detail::after(key, "sess/"); }

// A user's chat message window in a shared engine (engine::rate_take).
inline std::string rate(const std::string& user) { return "rate/" + user; }

// A cluster node's heartbeat: the Unix ms of its last refresh (sio recovery_config::node).
inline std::string node_heartbeat(const std::string& uid) { return "node/" + uid; }

// The Unix second up to which a user's tokens are revoked (read at start).
inline constexpr std::string_view revoked_prefix = "revoked/";
inline std::string revoked(const std::string& user) { return std::string(revoked_prefix) + user; }
inline std::optional<std::string> parse_revoked(std::string_view key) { return detail::after(key, revoked_prefix); }

// The scan group of a key: the prefix scan() finds it by, or nullopt for a key nobody
// scans. Only these prefixes are scanned, so an engine without ordered keys (Redis)
// keeps each group in one hash (storage/redis_store.hpp).
inline std::optional<std::string> scan_group(std::string_view key) {
  if (key.substr(0, revoked_prefix.size()) == revoked_prefix) return std::string(revoked_prefix);
  // react/<len>/<project>/<seq> and member/<len>/<project>/<user>: the group ends after
  // the sized project id (which may hold '/', as may a user id).
  for (std::string_view family : {std::string_view("react/"), std::string_view("member/")}) {
    if (key.substr(0, family.size()) != family) continue;
    auto rest = key.substr(family.size());
    auto slash = rest.find('/');
    auto len = detail::decimal(rest.substr(0, slash == std::string_view::npos ? 0 : slash));
    if (!len || slash + 1 + *len >= rest.size() || rest[slash + 1 + *len] != '/') return std::nullopt;
    return std::string(key.substr(0, family.size() + slash + 1 + *len + 1));
  }
  return std::nullopt;
}

// This data directory's epoch (names its lifetime in recovery offsets).
inline std::string epoch() { return "meta/epoch"; }
// Development mode's signing secret (dev mode runs without JWT_SECRET).
inline std::string dev_jwt_secret() { return "meta/dev-jwt-secret"; }
// Written by the storage actor's recovery attempts after a write error.
inline std::string storage_probe() { return "meta/storage-probe"; }

}  // namespace hub::keys
