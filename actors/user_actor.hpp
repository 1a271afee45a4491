// One actor per user, the user's mailbox: the per-user rate limiter, and the
// notification inbox (a durable stream `inbox/<user>`, folded into `inbox` state) with
// its unread count, coalesced chat notifications and delivery to every connection of
// the user (the `user:<id>` room).
#pragma once

#include "actors/hub_messages.hpp"
#include "actors/sio_server.hpp"

#include <chrono>
#include <cstddef>
#include <memory>

namespace hub {

struct rate_limit {
  std::size_t count = 10;                    // accepted messages ...
  std::chrono::milliseconds window{60000};   // ... per window
};

struct user_config {
  rate_limit rate;
  caf::actor storage;  // null: rate limiter only (no inbox)
  sio::broadcaster io{caf::actor{}, "/"};  // the namespace of the user's room
  std::size_t inbox_keep = 500;  // notifications kept per user (older ones are pruned)
};

// Rate limiting: `rate_take` answers (true, 0) and counts one message, or (false,
// retry_after_ms) when the user already sent `count` messages in the last `window`.
// Each accepted message frees its slot `window` later (checked at each take; one actor
// timer per user and window drops the expired times, not one timer per message).
//
// Inbox (all writes are serialised: one append in flight per user, so each entry is
// built from the state it follows):
//   (notify_atom, json_ptr {title, message, type, data?}) -> json_ptr the notification
//   (chat_notify_atom, project, json_ptr message)          -> (nothing)
//   (inbox_read_atom, json_ptr {ids}|{all:true}, except_sid) -> std::uint64_t unread
//   (inbox_list_atom, bool unread_only, std::uint64_t limit) -> json_ptr {notifications, unread}
//   (inbox_unread_atom)                                     -> std::uint64_t
//   (online_atom, bool recovered) -> json_ptr [notifications stored while the user was
//        away and not yet pushed]; empty for a recovered connection (its replay had them)
//   (offline_atom)
// Messages wait in the mailbox until the inbox is loaded from storage.
caf::actor spawn_user_actor(caf::actor_system& sys, std::string user, user_config cfg);
// The same, with a configuration shared by many users (one copy for all of them).
caf::actor spawn_user_actor(caf::actor_system& sys, std::string user,
                            std::shared_ptr<const user_config> cfg);
caf::actor spawn_user_actor(caf::actor_system& sys, std::string user, rate_limit limit);

}  // namespace hub
