// Message vocabulary of Project Hub's domain actors (chat rooms, user mailboxes).
#pragma once

#include "net/protocol/json_args.hpp"

#include <caf/all.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

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

// -- user mailbox --------------------------------------------------------------------------
using rate_take_atom = caf::atom_constant<caf::atom("rate_take")>;    // -> bool, int64 retry ms
using rate_refill_atom = caf::atom_constant<caf::atom("rate_fill")>;

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
  json reply_to;  // null when absent
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
inline std::string task_room(const std::string& task) { return "task:" + task; }
// Storage keys: a user's read marker in a room; the project a task belongs to.
inline std::string read_marker_key(const std::string& project, const std::string& user) {
  return "read/" + std::to_string(project.size()) + "/" + project + "/" + user;
}
inline std::string task_project_key(const std::string& task) { return "task/" + task; }

}  // namespace hub

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hub::chat_post_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hub::room_info_ptr)
