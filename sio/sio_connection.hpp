// The connection actor: one per Engine.IO session. It owns the Socket.IO state of
// that session (namespaces joined, socket ids, acks both ways, connect timeout) and
// talks to the network only through its outlet.
#pragma once

#include "sio/sio_server.hpp"
#include "sio/cluster_ops.hpp"
#include "sio/recovery_codec.hpp"
#include "protocol/socketio_packet.hpp"

#include <map>
#include <memory>
#include <string>

namespace hub::sio {

class connection {
 public:
  // -- wiring (set once at spawn) -------------------------------------------------
  caf::event_based_actor* self = nullptr;
  const server* srv = nullptr;
  outlet_weak out;
  std::shared_ptr<const handshake> hs;

  // -- inputs -----------------------------------------------------------------------
  void on_text(std::string_view text);
  void on_binary(std::string bytes);
  void on_transport_closed(disconnect_reason why);
  // After each inbound message: what it produced may now go out as one poll response.
  void input_done();
  void on_connect_timeout();
  // A handler threw: closes this session (and only it) and runs its disconnect handlers.
  void on_internal_error(const std::string& what) noexcept;
  void on_ack_timeout(const std::string& nsp, const std::string& sid, std::uint64_t id);
  void on_deadline(const std::string& nsp, const std::string& sid, std::int64_t deadline_ms, const std::string& why);
  void on_deliver(const broadcast_ptr& b, const std::string& origin_key);
  // The cluster adapter's questions (cluster_ops.hpp): this connection's socket in a
  // namespace, if it matches (null otherwise); a broadcast with acks, if it matches.
  json on_describe(const describe_query& q);
  bool on_ack_emit(const broadcast_ptr& b);

  // -- used by socket -----------------------------------------------------------------
  socket* find_socket(const std::string& nsp, const std::string& sid);
  void send(outbound packet);
  // An EVENT for one socket: under recovery it gets the socket's offset as last argument,
  // durable-stream events are de-duplicated by seq, and events wait while a replay runs.
  void send_event(socket& s, wire_packet_ptr packet, const std::string& stream = {}, std::uint64_t seq = 0);
  void join(socket& s, const std::string& room);
  void leave(socket& s, const std::string& room);
  bool leave_room(socket& s, const std::string& room);  // membership only
  void server_disconnect(socket& s, bool close_connection);
  void arm_deadline(socket& s, const std::string& why);  // for socket::close_at
  // The actor clock (virtual under the test coordinator and hub-sim), in ms.
  std::int64_t clock_ms() const;

 private:
  void handle(packet&& p);
  void on_decoded(decoder::result&& r);
  // False (and the connection closing) for a message too large for a client that has
  // not connected to a namespace yet.
  bool within_preconnect_bound(std::size_t bytes);
  void handle_connect(packet&& p);
  void finish_connect(std::unique_ptr<socket> s);

  // -- connection state recovery (sio_recovery.cpp) -----------------------------------
  bool recovery_on(const socket& s) const;
  void persist(socket& s, std::optional<std::int64_t> disconnected_at_ms = std::nullopt);

 public:
  void on_persist(const std::string& nsp, const std::string& sid);

 private:
  void write_record(socket& s, std::optional<std::int64_t> disconnected_at_ms);
  void forget(socket& s);
  void start_recovery(std::unique_ptr<socket> s, const std::string& pid, const std::optional<std::string>& offset);
  void on_session_record(const std::string& nsp, bool found, const std::string& value,
                         const std::optional<std::string>& offset);
  // The recovery decision once the record (nullopt: none usable) and the time its
  // session was last known alive (`since`, Unix ms) are known.
  void resume_session(const std::string& nsp, std::optional<recovery::session_record> found, std::int64_t since,
                      const std::optional<std::string>& offset);
  void read_missed(const std::string& nsp, const std::string& sid, const std::string& stream, std::uint64_t after,
                   std::size_t budget);
  void finish_recovery(socket& s);
  void abort_recovery(socket& s, const char* why);
  void track_stream_join(socket& s, const std::string& room);
  // A position read by track_stream_join is back (`changed`: joined_at_ got it); the
  // record held back meanwhile is written once none is outstanding.
  void position_known(socket& s, bool changed);
  void handle_event(socket& s, packet&& p);
  void handle_ack(socket& s, packet&& p);
  // Ends the Engine.IO session (the transport then reports the close back to us).
  void close_transport(const std::string& why);
  void remove_socket(std::map<std::string, std::unique_ptr<socket>>::iterator it, disconnect_reason why);
  void send_packet(const packet& p);
  // -- rooms and selectors (Node's semantics: a socket's id is a room of its own) -----
  static bool in_room(const socket& s, const std::string& room);
  static bool excluded(const socket& s, const std::vector<std::string>& except_rooms);
  static bool matches(const socket& s, const std::vector<std::string>& rooms,
                      const std::vector<std::string>& except_rooms);
  // Carries out a broadcast on one matching socket.
  bool apply(socket& s, const broadcast& b);
  json describe(const socket& s) const;
  void register_own_room(const socket& s);
  void unregister_own_room(const socket& s);

  // What a connection needs only now and then, in one heap block that exists while any
  // of it is in use: an idle connection holds a null pointer instead of ~100 bytes.
  struct occasional {
    // Sockets removed while a handler may still hold a reference; freed on the next input.
    std::vector<std::unique_ptr<socket>> retired;
    // Multi-room broadcasts already delivered (weak: the list empties itself).
    std::vector<std::weak_ptr<const broadcast>> seen_multi_room;
    std::map<std::string, std::unique_ptr<socket>> pending_connects;  // looking up a session
    bool empty() const { return retired.empty() && seen_multi_room.empty() && pending_connects.empty(); }
  };
  occasional& occ() {
    if (!occ_) occ_ = std::make_unique<occasional>();
    return *occ_;
  }
  // At each input: frees the retired sockets, forgets finished broadcasts, and drops
  // the block when nothing is left in it.
  void tidy();

  decoder decoder_;
  std::map<std::string, std::unique_ptr<socket>> sockets_;  // by namespace
  bool closing_ = false;
  bool connected_once_ = false;  // the connect timeout only guards the first CONNECT
  std::unique_ptr<occasional> occ_;
};

}  // namespace hub::sio
