// Message vocabulary between the transport, connection actors and rooms.
// CAF 0.17 atoms are at most 10 characters.
#pragma once

#include "net/transport/seam.hpp"
#include "protocol/json_limits.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hub {

// -- transport -> connection actor ---------------------------------------------------
using eio_text_atom = caf::atom_constant<caf::atom("eio_text")>;     // std::string payload
using eio_binary_atom = caf::atom_constant<caf::atom("eio_bin")>;    // std::string bytes
using eio_closed_atom = caf::atom_constant<caf::atom("eio_close")>;  // close_reason

// -- connection actor timers -----------------------------------------------------------
using connect_timeout_atom = caf::atom_constant<caf::atom("conn_tout")>;
using ack_timeout_atom = caf::atom_constant<caf::atom("ack_tout")>;  // nsp, socket id, ack id
using persist_atom = caf::atom_constant<caf::atom("sio_pers")>;      // nsp, socket id
using deadline_atom = caf::atom_constant<caf::atom("sio_dline")>;    // nsp, socket id, deadline ms, why

// -- rooms -------------------------------------------------------------------------------
using join_atom = caf::atom_constant<caf::atom("join")>;              // room key, member
using leave_atom = caf::atom_constant<caf::atom("leave")>;            // room key, member
using broadcast_atom = caf::atom_constant<caf::atom("bcast")>;        // broadcast_ptr
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;        // broadcast_ptr, room key
using serve_rooms_atom = caf::atom_constant<caf::atom("serve_rms")>;  // room_provider_ptr (room_members.hpp)
// A socket's own room, named by its id (Node's socket.join(socket.id)): the directory
// maps it to the connection actor itself, without a room actor.
using own_join_atom = caf::atom_constant<caf::atom("own_join")>;    // nsp, sid, member
using own_leave_atom = caf::atom_constant<caf::atom("own_leave")>;  // nsp, sid
// Queries of the directory (cluster adapter): -> std::vector<caf::actor> (the
// connections with a socket in nsp), std::vector<std::string> (room names of nsp),
// caf::actor (the connection of nsp's socket sid; invalid when not here).
using list_sockets_atom = caf::atom_constant<caf::atom("dir_socks")>;  // nsp
using list_rooms_atom = caf::atom_constant<caf::atom("dir_rooms")>;    // nsp
using find_socket_atom = caf::atom_constant<caf::atom("dir_find")>;    // nsp, sid
// Asks a connection about its socket in a namespace (cluster adapter): see cluster_ops.hpp.
using describe_atom = caf::atom_constant<caf::atom("sio_desc")>;   // describe_query_ptr -> json (null: no match)
using ack_emit_atom = caf::atom_constant<caf::atom("sio_aemit")>;  // broadcast_ptr -> bool (sent to a socket)

// A packet for every socket of `nsp` in any of `rooms` (all of the namespace when
// `rooms` is empty), except sockets in any of `except_rooms` (a socket's id is a room of
// its own, so this leaves out single sockets too).
// Each socket receives it once even when it is in several of the rooms.
struct broadcast {
  std::string nsp;
  std::vector<std::string> rooms;
  std::vector<std::string> except_rooms;
  wire_packet_ptr packet;
  std::string stream;  // durable stream this event is entry `seq` of; empty if none
  std::uint64_t seq = 0;
  // When the application accepted what this broadcast announces (e.g. a chat room got
  // the message), for hub_delivery_seconds; unset (epoch) when not measured.
  std::chrono::steady_clock::time_point accepted{};
  // What the matching sockets do with it: get the packet, or (Node's socketsJoin,
  // socketsLeave, disconnectSockets) join or leave `op_rooms`, or be disconnected by
  // the server (the client gets a DISCONNECT and does not reconnect on its own; with
  // `close`, its whole Engine.IO session ends too).
  enum class operation : std::uint8_t { emit, join, leave, disconnect };
  operation op = operation::emit;
  std::vector<std::string> op_rooms;
  bool close = false;
  // A broadcast with acks (Node's io.timeout(t).emit(..., cb)): each recipient gets the
  // event with an ack id of its own, and its first ack argument goes to `acks`.
  std::shared_ptr<struct broadcast_acks> acks;
};

// Where the acks of a broadcast with acks go. Called from the recipients' connection
// actors, so thread-safe; `on_ack` gets the client's first ack argument (null when none).
struct broadcast_acks {
  std::string event;
  json args = json::array();
  std::chrono::milliseconds timeout{0};
  std::function<void(json first_arg)> on_ack;
};
using broadcast_ptr = std::shared_ptr<const broadcast>;

// Rooms are scoped to a namespace; the key joins both. The empty room name stands for
// "every socket of the namespace".
inline std::string room_key(const std::string& nsp, const std::string& room) {
  std::string key;
  key.reserve(nsp.size() + 1 + room.size());
  key += nsp;
  key += '\n';
  key += room;
  return key;
}

// The transport's side of the seam for an actor: each client message becomes a message
// to `actor` (eio_text / eio_bin / eio_close), in order.
class actor_session final : public session_handler {
 public:
  explicit actor_session(caf::actor actor) : actor_(std::move(actor)) {}
  void on_text(std::string payload) override { caf::anon_send(actor_, eio_text_atom::value, std::move(payload)); }
  void on_binary(std::string bytes) override { caf::anon_send(actor_, eio_binary_atom::value, std::move(bytes)); }
  void on_close(close_reason why) override { caf::anon_send(actor_, eio_closed_atom::value, why); }
  const caf::actor& actor() const { return actor_; }

 private:
  caf::actor actor_;
};

}  // namespace hub

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hub::close_reason)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hub::wire_packet_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hub::broadcast_ptr)
