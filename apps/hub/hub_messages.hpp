// Message vocabulary of Project Hub's domain actors (chat rooms, user mailboxes). The
// typed interfaces that say which atom carries what are chat_room_actor (in
// chat_room_actor.hpp) and user_actor (in user_actor.hpp).
#pragma once

#include "apps/hub/error_code.hpp"
#include "protocol/json_args.hpp"
#include "storage/keys.hpp"

#include <caf/all.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace hub {

// -- chat room ---------------------------------------------------------------------------
using post_atom = caf::atom_constant<caf::atom("post")>;                 // chat_post_ptr
using typing_atom = caf::atom_constant<caf::atom("typing")>;             // user, name
using stop_typing_atom = caf::atom_constant<caf::atom("stop_typ")>;      // user
using typing_expire_atom = caf::atom_constant<caf::atom("typ_exp")>;     // user, generation
using present_atom = caf::atom_constant<caf::atom("present")>;           // user, name
using absent_atom = caf::atom_constant<caf::atom("absent")>;             // user
using room_info_atom = caf::atom_constant<caf::atom("room_info")>;       // -> room_info_ptr
using sweep_atom = caf::atom_constant<caf::atom("ret_sweep")>;           // retention by age
using mark_read_atom = caf::atom_constant<caf::atom("mark_read")>;       // user, seq -> (ok, last read seq)
using presence_expire_atom = caf::atom_constant<caf::atom("pres_exp")>;  // user, generation
using react_atom = caf::atom_constant<caf::atom("react")>;               // user, seq, emoji -> react_result
using history_atom = caf::atom_constant<caf::atom("history")>;           // after, limit, thread seq -> json_ptr
using log_entry_atom = caf::atom_constant<caf::atom("log_entry")>;       // seq, stored value (log feed)
using resync_atom = caf::atom_constant<caf::atom("resync")>;             // catch up from the log
using member_atom = caf::atom_constant<caf::atom("member")>;             // user: a member another node stored
using room_peer_atom = caf::atom_constant<caf::atom("room_peer")>;       // kind, node, user, name (another node)
using peer_typing_expire_atom = caf::atom_constant<caf::atom("ptyp_exp")>;  // user, generation
using node_gone_atom = caf::atom_constant<caf::atom("node_gone")>;      // node uid whose heartbeat stopped
using who_atom = caf::atom_constant<caf::atom("who")>;                  // -> json_ptr [[user, name], ...] here
using peers_present_atom = caf::atom_constant<caf::atom("peers_pre")>;  // json_ptr: hub:who's answers
using peers_ask_atom = caf::atom_constant<caf::atom("peers_ask")>;      // this node's link came back: resync presence

// -- user mailbox --------------------------------------------------------------------------
using rate_take_atom = caf::atom_constant<caf::atom("rate_take")>;  // -> bool, int64 retry ms
using rate_refill_atom = caf::atom_constant<caf::atom("rate_fill")>;
using event_rate_atom = caf::atom_constant<caf::atom("ev_rate")>;     // uint8 kind -> bool, int64 retry ms
using notify_atom = caf::atom_constant<caf::atom("notify")>;          // json_ptr -> json_ptr stored
using chat_notify_atom = caf::atom_constant<caf::atom("chat_note")>;  // project, json_ptr message
using inbox_list_atom = caf::atom_constant<caf::atom("inbox_ls")>;    // unread only, limit -> json_ptr
using inbox_read_atom = caf::atom_constant<caf::atom("inbox_rd")>;    // json_ptr, except sid -> unread
using inbox_unread_atom = caf::atom_constant<caf::atom("inbox_un")>;  // -> unread
using online_atom = caf::atom_constant<caf::atom("online")>;          // recovered -> json_ptr to push
using offline_atom = caf::atom_constant<caf::atom("offline")>;
using inbox_loaded_atom = caf::atom_constant<caf::atom("inbox_ld")>;  // internal

// JSON documents travel between actors behind an immutable shared pointer.
using json_ptr = std::shared_ptr<const json>;
inline json_ptr make_json(json j) { return std::make_shared<const json>(std::move(j)); }

// The outcome of posting a chat message, handed to the poster's callback.
struct post_result {
  bool ok = false;
  app::error_code error{};  // when !ok: invalid_reply_target, storage
  json message;             // the stored message when ok
};

// A message to append to a room's log and broadcast. `done` runs in the room actor's
// context, so it may only do thread-safe things (ack senders and responders are).
struct chat_post {
  std::string user_id;
  std::string user_name;
  std::string content;
  json reply_to;  // a message id of the same room, or null
  std::function<void(const post_result&)> done;
};
using chat_post_ptr = std::shared_ptr<const chat_post>;

// The answer to react: the user's reaction toggled, or why not.
struct react_result {
  bool ok = false;
  bool added = false;       // when ok: added, else removed
  app::error_code error{};  // when !ok: not_found, too_many_reactions, storage
};

struct room_info {
  std::uint64_t last_seq = 0;
  json online = json::array();      // [{userId, userName}]
  std::uint64_t last_read_seq = 0;  // of the user who asked (0 when none was named)
};
using room_info_ptr = std::shared_ptr<const room_info>;

// -- Socket.IO room names ----------------------------------------------------------------
// Each build function has its parse function beside it; nothing else takes a name apart.

// A project's chat room: its members' sockets get its messages, typing and presence.
inline std::string group_room(const std::string& project) { return "group:" + project; }
inline std::optional<std::string> parse_group_room(std::string_view room) {
  static constexpr std::string_view prefix = "group:";
  if (room.size() <= prefix.size() || room.substr(0, prefix.size()) != prefix) return std::nullopt;
  return std::string(room.substr(prefix.size()));
}
// Every socket of one user (notifications, revocation).
inline constexpr std::string_view user_room_prefix = "user:";
inline std::string user_room(const std::string& user) { return std::string(user_room_prefix) + user; }
inline std::optional<std::string> parse_user_room(std::string_view room) {
  static constexpr std::string_view prefix = user_room_prefix;
  if (room.size() <= prefix.size() || room.substr(0, prefix.size()) != prefix) return std::nullopt;
  return std::string(room.substr(prefix.size()));
}
// A task's room is named after its project too, so that a task event reaches only the
// project's members: joining is checked against the project, an event for the task in
// another project (a task nobody had seen, or one that moved) goes to another room, and
// recovery re-checks the project like group: rooms. The project's length comes first
// because ids may contain ':'.
inline std::string task_room(const std::string& project, const std::string& task) {
  return "task:" + std::to_string(project.size()) + ":" + project + ":" + task;
}
struct task_room_name {
  std::string project, task;
};
inline constexpr std::string_view task_room_prefix = "task:";
inline bool is_task_room(std::string_view room) { return room.substr(0, task_room_prefix.size()) == task_room_prefix; }
inline std::optional<task_room_name> parse_task_room(std::string_view room) {
  static constexpr std::string_view prefix = task_room_prefix;
  if (room.substr(0, prefix.size()) != prefix) return std::nullopt;
  room.remove_prefix(prefix.size());
  auto colon = room.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 4) return std::nullopt;
  std::size_t length = 0;
  for (char c : room.substr(0, colon)) {
    if (c < '0' || c > '9') return std::nullopt;
    length = length * 10 + static_cast<std::size_t>(c - '0');
  }
  room.remove_prefix(colon + 1);
  if (length == 0 || room.size() < length + 2 || room[length] != ':') return std::nullopt;
  return task_room_name{std::string(room.substr(0, length)), std::string(room.substr(length + 1))};
}
// Message ids are "<projectId>:<seq>": unique (seqs are never reused) and checkable
// against the room without an index.
inline std::string message_id(const std::string& project, std::uint64_t seq) {
  return project + ":" + std::to_string(seq);
}
// The seq of a message id of `project`, or nullopt when it names another room or
// is not an id at all.
std::optional<std::uint64_t> message_seq(const std::string& project, const json& id);

}  // namespace hub

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hub::chat_post_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hub::room_info_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hub::react_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hub::json_ptr)
