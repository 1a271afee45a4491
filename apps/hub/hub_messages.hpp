// Message vocabulary of Project Hub's domain actors (chat rooms, user mailboxes).
#pragma once

#include "protocol/json_args.hpp"

#include <caf/all.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace hub {

// -- chat room ---------------------------------------------------------------------------
using post_atom = caf::atom_constant<caf::atom("post")>;              // chat_post_ptr
using typing_atom = caf::atom_constant<caf::atom("typing")>;          // user, name
using stop_typing_atom = caf::atom_constant<caf::atom("stop_typ")>;   // user
using typing_expire_atom = caf::atom_constant<caf::atom("typ_exp")>;  // user, generation
using present_atom = caf::atom_constant<caf::atom("present")>;        // user, name
using absent_atom = caf::atom_constant<caf::atom("absent")>;          // user
using room_info_atom = caf::atom_constant<caf::atom("room_info")>;    // -> room_info_ptr
using sweep_atom = caf::atom_constant<caf::atom("ret_sweep")>;        // retention by age
using mark_read_atom = caf::atom_constant<caf::atom("mark_read")>;   // user, seq -> (ok, last read seq)
using presence_expire_atom = caf::atom_constant<caf::atom("pres_exp")>;  // user, generation
using react_atom = caf::atom_constant<caf::atom("react")>;  // user, seq, emoji -> (ok, action|error)
using history_atom = caf::atom_constant<caf::atom("history")>;  // after, limit, thread seq -> json_ptr

// -- user mailbox --------------------------------------------------------------------------
using rate_take_atom = caf::atom_constant<caf::atom("rate_take")>;    // -> bool, int64 retry ms
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
  std::string error;       // "storage", ... when !ok
  json message;            // the stored message when ok
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

struct room_info {
  std::uint64_t last_seq = 0;
  json online = json::array();  // [{userId, userName}]
  std::uint64_t last_read_seq = 0;  // of the user who asked (0 when none was named)
};
using room_info_ptr = std::shared_ptr<const room_info>;

// Names of the Socket.IO rooms a chat room and a user broadcast to.
inline std::string group_room(const std::string& project) { return "group:" + project; }
inline std::string user_room(const std::string& user) { return "user:" + user; }
inline std::string room_log(const std::string& project) { return "room/" + project; }
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
inline std::optional<task_room_name> parse_task_room(std::string_view room) {
  static constexpr std::string_view prefix = "task:";
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
// Storage keys: a user's read marker in a room.
inline std::string read_marker_key(const std::string& project, const std::string& user) {
  return "read/" + std::to_string(project.size()) + "/" + project + "/" + user;
}
// A user's notification inbox (a durable stream) and how far it was delivered.
inline std::string inbox_log(const std::string& user) { return "inbox/" + user; }
inline std::string inbox_delivered_key(const std::string& user) { return "inbox-delivered/" + user; }
// Who joined a project's chat at least once (JSON array of user ids).
inline std::string members_key(const std::string& project) {
  return "members/" + std::to_string(project.size()) + "/" + project;
}
// Reactions to one message: {emoji: [user ids]}.
inline std::string reactions_prefix(const std::string& project) {
  return "react/" + std::to_string(project.size()) + "/" + project + "/";
}
inline std::string reactions_key(const std::string& project, std::uint64_t seq) {
  return reactions_prefix(project) + std::to_string(seq);
}
// The replies to one message: an index log of room seqs, written with each reply.
inline std::string thread_log(const std::string& project, std::uint64_t root) {
  return "thread/" + std::to_string(project.size()) + "/" + project + "/" + std::to_string(root);
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
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hub::json_ptr)
