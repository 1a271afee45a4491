// One actor per project chat room: appends messages to the room's durable log (through
// the storage actor) and broadcasts them in seq order, exactly once (in a cluster, each
// node's room actor delivers the shared log to its own sockets, filling gaps from it), keeps who is present and who
// is typing, and expires typing on an actor timer so that no ghost "is typing" stays.
#pragma once

#include "storage/storage_actor.hpp"
#include "apps/hub/hub_messages.hpp"
#include "apps/hub/user_actor.hpp"
#include "sio/sio_server.hpp"

#include <chrono>
#include <functional>

namespace hub {

struct chat_room_config {
  std::chrono::milliseconds typing_timeout{3000};
  // `user-left` waits this long after a user's last connection leaves, so that a reload
  // or a recovered reconnect does not flap (0: at once).
  std::chrono::milliseconds presence_grace{5000};
  // Retention of the room's log: what is older (by count or by age) is pruned, and
  // readers that need it are told ("gap") rather than silently skipped.
  std::uint64_t retention_count = 100000;
  std::chrono::milliseconds retention_age{30LL * 24 * 3600 * 1000};
  // The mailbox actor of a user, for chat notifications to members who are not in the
  // room when a message arrives (empty: no notifications).
  std::function<user_actor(const std::string&)> user_mailbox;
  // Different emoji on one message; a new one past it is refused (too_many_reactions).
  std::size_t max_distinct_reactions = 20;
  // The log is shared by a cluster's nodes (log_feed.hpp): `new-message` goes to this
  // node's sockets only, as every node delivers the room's log itself, in seq order.
  bool shared_log = false;
  // Told of each member this room stored (a cluster tells the other nodes' rooms).
  std::function<void(const std::string& project, const std::string& user)> member_added;
  // A cluster (shared_log): presence and typing span the nodes. Each node announces
  // user-joined / user-left / typing to its own sockets only, from this node's
  // connections plus what the other nodes' rooms said: `tell_peers` sends them
  // [project, kind, node, user, name] (kind: online, away, offline, typing, stop), and
  // `ask_peers` asks them who is present (answers: [[node, [[user, name], ...]], ...]):
  // at spawn, and again when this node's cluster link came back (peers_ask_atom), since
  // pub/sub dropped whatever was told meanwhile; then `share_present` also tells them
  // who is present here ([[user, name], ...]), which replaces what they had heard from
  // this node. A node whose heartbeat stops is dropped (node_gone_atom).
  std::string node;
  std::function<void(json event)> tell_peers;
  std::function<void(const std::string& project, std::function<void(json answers)> done)> ask_peers;
  std::function<void(const std::string& project, json here)> share_present;
};

// Largest thread listed at once.
inline constexpr std::uint64_t max_thread_replies = 10000;

// Where a read after `after` stands against retention: the oldest entry still kept when
// entries after `after` were pruned, else nullopt.
std::optional<std::uint64_t> pruned_gap(std::uint64_t after, std::uint64_t first_seq, std::uint64_t last_seq);

// A chat room's whole protocol; the compiler checks every send against it.
using chat_room_actor = caf::typed_actor<
  // Append to the log, then broadcast `new-message`; the outcome goes to post->done.
  caf::reacts_to<post_atom, chat_post_ptr>,
  // (user, seq, emoji) -> the user's reaction toggled, or why not
  caf::replies_to<react_atom, std::string, std::uint64_t, std::string>::with<react_result>,
  // (after, limit, 0) lists the room; (after, limit, root seq) the replies to that
  // message, adding `root`: {ok:true, messages, hasMore} with each message's
  // `replyCount` and `reactions` ({emoji: count}), or {ok:false, error:"gap", oldestSeq}
  // when messages after `after` were pruned.
  caf::replies_to<history_atom, std::uint64_t, std::uint64_t, std::uint64_t>::with<json_ptr>,
  caf::reacts_to<typing_atom, std::string, std::string>,   // user, name
  caf::reacts_to<stop_typing_atom, std::string>,           // user
  caf::reacts_to<present_atom, std::string, std::string>,  // user, name: one more connection
  caf::reacts_to<absent_atom, std::string>,                // user: one connection fewer
  // (user, seq) -> (stored, the user's last read seq); false when seq does not exist yet
  caf::replies_to<mark_read_atom, std::string, std::uint64_t>::with<bool, std::uint64_t>,
  // (user) -> the room for that user's join: answered once the user is durably a member
  caf::replies_to<room_info_atom, std::string>::with<room_info_ptr>,
  caf::replies_to<room_info_atom>::with<room_info_ptr>,
  // internal timers: a typing or a presence grace that ends, the retention sweep
  caf::reacts_to<typing_expire_atom, std::string, std::uint64_t>,
  caf::reacts_to<presence_expire_atom, std::string, std::uint64_t>, caf::reacts_to<sweep_atom>,
  // (epoch, seq, stored value): an entry of the room's log from the log feed, delivered
  // here in seq order, once; and a catch-up from the log after the feed's link came back
  caf::reacts_to<log_entry_atom, std::string, std::uint64_t, std::string>, caf::reacts_to<resync_atom>,
  // (user): another node stored this member
  caf::reacts_to<member_atom, std::string>,
  // a cluster's presence and typing (chat_room_config::tell_peers): another node's
  // event (kind, node, user, name); the end of a remote typist's timeout; a node that
  // died; who is present here (-> [[user, name], ...]); the peers' state (their answers at
  // spawn or to an ask again after pub/sub lost events, or a node's own snapshot: it
  // replaces what they had said); ask again after this node's link came back
  caf::reacts_to<room_peer_atom, std::string, std::string, std::string, std::string>,
  caf::reacts_to<peer_typing_expire_atom, std::string, std::uint64_t>, caf::reacts_to<node_gone_atom, std::string>,
  caf::replies_to<who_atom>::with<json_ptr>, caf::reacts_to<peers_present_atom, json_ptr>,
  caf::reacts_to<peers_ask_atom>>;

// `io` targets the Socket.IO namespace the room broadcasts in.
chat_room_actor spawn_chat_room(caf::actor_system& sys, std::string project, storage::storage_actor storage,
                                sio::broadcaster io, chat_room_config cfg);

// ISO-8601 UTC with milliseconds, as JavaScript's Date.toISOString().
std::string iso8601(std::chrono::system_clock::time_point t);

// The message object clients see: {id, seq, projectId, senderId, senderName, content,
// createdAt, replyTo?}, from a log entry (seq + stored value). The id is derived
// ("<projectId>:<seq>"), so it is not stored.
json message_from_log(std::uint64_t seq, const std::string& stored);

}  // namespace hub
