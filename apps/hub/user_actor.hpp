// One actor per user, the user's mailbox: the per-user rate limiter, and the
// notification inbox (a durable stream `inbox/<user>`, folded into `inbox` state) with
// its unread count, coalesced chat notifications and delivery to every connection of
// the user (the `user:<id>` room).
#pragma once

#include "storage/storage_actor.hpp"
#include "apps/hub/hub_messages.hpp"
#include "sio/messages.hpp"
#include "sio/sio_server.hpp"
#include "util/token_bucket.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>

namespace hub {

// Client events limited per user besides chat messages, each with its own bucket.
enum class limited_event : std::uint8_t {
  typing,     // typing, stop-typing: each a room broadcast and a timer
  reaction,   // react
  sync,       // sync: up to 500 rows from the one storage actor
  rooms,      // join-* and leave-*: each rewrites the session record
  mark_read,  // mark-read, mark-notifications-read: each a storage write
  count
};
inline constexpr std::size_t limited_event_count = static_cast<std::size_t>(limited_event::count);
const char* to_string(limited_event e);

using event_rates = std::array<rate_limit, limited_event_count>;
// Defaults: generous for a person at a keyboard, far below what a script can send.
inline constexpr event_rates default_event_rates{{
  {60, std::chrono::seconds(10)},  // typing
  {30, std::chrono::seconds(10)},  // reaction
  {20, std::chrono::seconds(10)},  // sync
  {60, std::chrono::seconds(10)},  // rooms
  {30, std::chrono::seconds(10)},  // mark_read
}};

struct user_config {
  rate_limit rate;  // chat messages (a sliding window, as the seed's limiter)
  event_rates events = default_event_rates;
  storage::storage_actor storage;                   // null: rate limiter only (no inbox)
  sio::broadcaster io{caf::actor{}, nullptr, "/"};  // the namespace of the user's room
  std::size_t inbox_keep = 500;                     // notifications kept per user (older ones are pruned)
  // A cluster: the storage is shared by the nodes. The chat message limit is counted in
  // it (rate_atom), one window per user for every node, instead of in this mailbox, and
  // the inbox folds the other nodes' appends too (from the log feed).
  bool shared_storage = false;
};

// A user mailbox's whole protocol; the compiler checks every send against it.
//
// Rate limiting: `rate_take` answers (true, 0) and counts one message, or (false,
// retry_after_ms) when the user already sent `count` messages in the last `window`.
// Each accepted message frees its slot `window` later (checked at each take; one actor
// timer per user and window drops the expired times, not one timer per message).
// `event_rate` answers the same for the other limited events (a limited_event): a token
// bucket each (util/token_bucket.hpp), held only once the user sent such an event.
//
// Inbox: all writes are serialised, one append in flight per user, so that each entry
// is built from the state it follows. Messages wait in the mailbox until the inbox is
// loaded from storage.
using user_actor =
  caf::typed_actor<caf::replies_to<rate_take_atom>::with<bool, std::int64_t>,
                   caf::replies_to<event_rate_atom, std::uint8_t>::with<bool, std::int64_t>,
                   // {title, message, type, data?} -> the notification as stored and pushed
                   caf::replies_to<notify_atom, json_ptr>::with<json_ptr>,
                   // (project, message): a chat message for a member who was not in the room (coalesced)
                   caf::reacts_to<chat_notify_atom, std::string, json_ptr>,
                   // ({ids} | {all:true}, except sid) -> unread count; the other connections are told
                   caf::replies_to<inbox_read_atom, json_ptr, std::string>::with<std::uint64_t>,
                   // (unread only, limit) -> {notifications, unread}
                   caf::replies_to<inbox_list_atom, bool, std::uint64_t>::with<json_ptr>,
                   caf::replies_to<inbox_unread_atom>::with<std::uint64_t>,
                   // (recovered) -> the notifications stored while the user was away and not yet pushed;
                   // empty for a recovered connection (its replay had them)
                   caf::replies_to<online_atom, bool>::with<json_ptr>, caf::reacts_to<offline_atom>,
                   // The user's `user:<id>` room: the mailbox serves it (sio::server::serve_rooms), so an
                   // online user costs one actor less; handled while the inbox loads too.
                   caf::reacts_to<join_atom, std::string, caf::actor>,
                   caf::reacts_to<leave_atom, std::string, caf::actor>, caf::reacts_to<broadcast_atom, broadcast_ptr>,
                   // internal: the rate window's timer, and the end of the inbox's load
                   caf::reacts_to<rate_refill_atom>, caf::reacts_to<inbox_loaded_atom>,
                   // a cluster: (epoch, seq, value) of the inbox log from the log feed, folded in
                   // seq order, once; a catch-up from the log after the feed's link came back
                   caf::reacts_to<log_entry_atom, std::string, std::uint64_t, std::string>,
                   caf::reacts_to<resync_atom>>;

user_actor spawn_user_actor(caf::actor_system& sys, std::string user, user_config cfg);
// The same, with a configuration shared by many users (one copy for all of them).
user_actor spawn_user_actor(caf::actor_system& sys, std::string user, std::shared_ptr<const user_config> cfg);
user_actor spawn_user_actor(caf::actor_system& sys, std::string user, rate_limit limit);

}  // namespace hub
