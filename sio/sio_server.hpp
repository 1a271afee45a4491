// The Socket.IO server-side API that applications are written against: namespaces,
// middlewares, event handlers, acks both ways, rooms and broadcasts.
//
// Handlers run inside the connection actor that owns the socket, one message at a
// time, so they may touch the socket freely; a handler that needs another actor uses
// `socket::self()` (request/then) and answers later through the copied `ack`.
#pragma once

#include "storage/storage_actor.hpp"
#include "sio/messages.hpp"
#include "sio/cluster_adapter.hpp"
#include "sio/cluster_ops.hpp"
#include "net/transport/seam.hpp"
#include "protocol/json_args.hpp"
#include "protocol/json_limits.hpp"
#include "util/flat_fields.hpp"
#include "util/sources.hpp"

#include <caf/all.hpp>

#include <any>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hub::sio {

// What the transport knew about the client (net/transport/seam.hpp).
using handshake = hub::handshake;

// Why a socket left its namespace, as disconnect handlers get it. to_string() gives
// Node's names (what a log or a handler written for Node expects); the wire never
// carries them.
enum class disconnect_reason : std::uint8_t {
  transport_close,
  transport_error,
  ping_timeout,
  parse_error,
  forced_close,  // the server closed the transport (socket::close_at, ...)
  server_shutting_down,
  server_namespace_disconnect,  // socket::disconnect()
  client_namespace_disconnect,  // the client's DISCONNECT packet
  server_error,                 // a handler threw; the session is closed
};

constexpr disconnect_reason from_transport(close_reason r) {
  switch (r) {
    case close_reason::transport_close: return disconnect_reason::transport_close;
    case close_reason::transport_error: return disconnect_reason::transport_error;
    case close_reason::ping_timeout: return disconnect_reason::ping_timeout;
    case close_reason::parse_error: return disconnect_reason::parse_error;
    case close_reason::forced_close: return disconnect_reason::forced_close;
    case close_reason::server_shutting_down: return disconnect_reason::server_shutting_down;
  }
  return disconnect_reason::transport_error;
}

constexpr std::string_view to_string(disconnect_reason r) {
  switch (r) {
    case disconnect_reason::server_namespace_disconnect: return "server namespace disconnect";
    case disconnect_reason::client_namespace_disconnect: return "client namespace disconnect";
    case disconnect_reason::server_error: return "server error";
    case disconnect_reason::transport_close: return to_string(close_reason::transport_close);
    case disconnect_reason::transport_error: return to_string(close_reason::transport_error);
    case disconnect_reason::ping_timeout: return to_string(close_reason::ping_timeout);
    case disconnect_reason::parse_error: return to_string(close_reason::parse_error);
    case disconnect_reason::forced_close: return to_string(close_reason::forced_close);
    case disconnect_reason::server_shutting_down: return to_string(close_reason::server_shutting_down);
  }
  return "server error";
}

// Node's RECOVERABLE_DISCONNECT_REASONS: the transport went away, not the client, so
// connection state recovery keeps the session.
constexpr bool recoverable(disconnect_reason r) {
  return r == disconnect_reason::transport_close || r == disconnect_reason::transport_error ||
         r == disconnect_reason::ping_timeout || r == disconnect_reason::forced_close ||
         r == disconnect_reason::server_shutting_down;
}

// A middleware's refusal of a CONNECT: the client gets connect_error(message, data).
struct connect_refusal {
  std::string message;
  std::optional<json> data;
};

// Encodes an EVENT packet ready for any transport: ["name", ...args] with binaries
// moved out into attachments. `args` must be an array.
wire_packet_ptr encode_event(const std::string& nsp, std::string_view name, json args,
                             std::optional<std::uint64_t> ack_id = std::nullopt);

// An EVENT's data array, [name, ...args] (a non-array `args` is one argument).
json event_data(std::string_view name, json args);
// Encodes an EVENT from its data array (binaries as json::binary, moved out into
// attachments); what encode_event does once it has built the array.
wire_packet_ptr encode_event_data(const std::string& nsp, json data,
                                  std::optional<std::uint64_t> ack_id = std::nullopt);

// Same, from the raw JSON text of the arguments (elements joined by ',', no brackets)
// and their attachments; the text is passed through unchanged.
wire_packet_ptr encode_event_raw(const std::string& nsp, std::string_view name, std::string_view raw_args,
                                 std::vector<std::string> attachments,
                                 std::optional<std::uint64_t> ack_id = std::nullopt);

// Answers a client's ack request. Copyable, so it can be kept until an asynchronous
// result (a durable write, say) is ready; thread-safe; meant to be called once.
class ack_sender {
 public:
  ack_sender() = default;
  // `in_flight`: released when the last copy of this sender is gone (answered or
  // dropped), which is what --max-pending-acks counts.
  ack_sender(outlet_weak out, std::string nsp, std::uint64_t id, std::shared_ptr<void> in_flight = {})
    : out_(std::move(out)), nsp_(std::move(nsp)), id_(id), valid_(true), in_flight_(std::move(in_flight)) {}

  explicit operator bool() const { return valid_; }
  // `results` is the ack's argument list (an array; a non-array is sent as one arg).
  void operator()(json results) const;
  void raw(std::string_view raw_args, std::vector<std::string> attachments) const;

 private:
  outlet_weak out_;
  std::string nsp_;
  std::uint64_t id_ = 0;
  bool valid_ = false;
  std::shared_ptr<void> in_flight_;
};

// One received EVENT.
class event {
 public:
  event(std::string name, std::string raw_args, std::vector<std::string> attachments, ack_sender ack)
    : ack(std::move(ack)),
      name_(std::move(name)),
      raw_args_(std::move(raw_args)),
      attachments_(std::move(attachments)) {}

  const std::string& name() const { return name_; }
  // The arguments after the name, parsed, with binaries in place (json::binary).
  const json& args();
  // Raw JSON text of the arguments after the name, elements joined by ','.
  std::string_view raw_args() const { return raw_args_; }
  const std::vector<std::string>& attachments() const { return attachments_; }
  bool wants_ack() const { return static_cast<bool>(ack); }

  ack_sender ack;  // empty when the client asked for no ack

 private:
  std::string name_;
  std::string raw_args_;
  std::vector<std::string> attachments_;
  std::optional<json> args_;
};

class server;
class socket;

// Targets a broadcast: rooms to include and rooms/sockets to leave out (Node's
// BroadcastOperator). With --redis every operation spans the cluster unless local().
class broadcaster {
 public:
  broadcaster(caf::actor directory, std::shared_ptr<const cluster_node> cluster, std::string nsp)
    : directory_(std::move(directory)), cluster_(std::move(cluster)), nsp_(std::move(nsp)) {}

  broadcaster& to(std::string room) {
    rooms_.push_back(std::move(room));
    return *this;
  }
  broadcaster& except(std::string room) {
    except_rooms_.push_back(std::move(room));
    return *this;
  }
  // A socket's id is a room of its own (as in Node): the same as except(sid).
  broadcaster& except_socket(std::string sid) {
    except_rooms_.push_back(std::move(sid));
    return *this;
  }
  // This node's sockets only (Node's .local).
  broadcaster& local() {
    local_ = true;
    return *this;
  }
  // Marks the broadcast as entry `seq` of durable `stream` (for recovery and dedup).
  broadcaster& from_stream(std::string stream, std::uint64_t seq) {
    stream_ = std::move(stream);
    seq_ = seq;
    return *this;
  }

  // Measures delivery latency from `t` to each recipient's transport (hub_delivery_seconds).
  broadcaster& accepted_at(std::chrono::steady_clock::time_point t) {
    accepted_ = t;
    return *this;
  }

  void emit(std::string_view name, json args = json::array()) const;
  void emit_raw(std::string_view name, std::string_view raw_args, std::vector<std::string> attachments = {}) const;
  void send(wire_packet_ptr packet) const;
  // Node's io.timeout(t).emit(name, ...args, cb): every matching client (on every node)
  // is asked for an ack; `done` gets their first ack arguments once all answered, or
  // "operation has timed out" with those that did.
  void emit_with_ack(std::string_view name, json args, std::chrono::milliseconds timeout,
                     ack_result_callback done) const;
  // Server-side disconnect of every matching socket (Node's disconnectSockets(close)):
  // each gets a DISCONNECT, its disconnect handlers run, and its client does not
  // reconnect by itself ("io server disconnect"); with `close` its session ends too.
  void disconnect_sockets(bool close = false) const;
  // Node's socketsJoin / socketsLeave: every matching socket joins / leaves `rooms`.
  void sockets_join(std::vector<std::string> rooms) const;
  void sockets_leave(std::vector<std::string> rooms) const;
  // Node's fetchSockets(): every matching socket as {id, handshake, rooms, data}.
  void fetch_sockets(fetch_callback done) const;

 private:
  std::shared_ptr<broadcast> make(broadcast::operation op) const;
  std::shared_ptr<broadcast> make_emit() const;
  void carry_out(std::shared_ptr<broadcast> b) const;

  caf::actor directory_;
  std::shared_ptr<const cluster_node> cluster_;
  std::string nsp_;
  std::vector<std::string> rooms_;
  std::vector<std::string> except_rooms_;
  bool local_ = false;
  std::string stream_;
  std::uint64_t seq_ = 0;
  std::chrono::steady_clock::time_point accepted_{};
};

// Emits to one socket from any thread (e.g. a callback run by another actor). Holds
// only the outlet, so it outlives neither the connection nor its socket's meaning.
class direct_emitter {
 public:
  direct_emitter(outlet_weak out, std::string nsp) : out_(std::move(out)), nsp_(std::move(nsp)) {}
  void emit(std::string_view name, json args = json::array()) const;

 private:
  outlet_weak out_;
  std::string nsp_;
};

// Finds a socket again later in the same connection actor (inside a request's `then`):
// null when it has gone since. Only valid in that actor's context.
class socket_ref {
 public:
  socket* get() const;

 private:
  friend class socket;
  class connection* conn_ = nullptr;
  std::string nsp_;
  std::string sid_;
};

using middleware = std::function<std::optional<connect_refusal>(socket&)>;
using connection_handler = std::function<void(socket&)>;
using event_handler = std::function<void(socket&, event&)>;
using disconnect_handler = std::function<void(socket&, disconnect_reason why)>;

// A namespace's handlers. Configured before the server starts; read-only afterwards.
class namespace_def {
 public:
  explicit namespace_def(std::string name) : name_(std::move(name)) {}

  namespace_def& use(middleware m) {
    middlewares_.push_back(std::move(m));
    return *this;
  }
  namespace_def& on_connection(connection_handler h) {
    on_connection_ = std::move(h);
    return *this;
  }
  namespace_def& on(std::string event, event_handler h) {
    handlers_[std::move(event)] = std::move(h);
    return *this;
  }
  // -- connection state recovery -------------------------------------------------------
  // The durable stream (log) a room's broadcasts come from, if any.
  using stream_fn = std::function<std::optional<std::string>(const std::string& room)>;
  // A stream's log entry as the event it was broadcast as: (name, args array).
  using replay_fn = std::function<std::optional<std::pair<std::string, json>>(
    const std::string& stream, std::uint64_t seq, const std::string& value)>;
  // Application state kept with a session, and its restoration (false refuses).
  using save_fn = std::function<json(socket&)>;
  using restore_fn = std::function<bool(socket&, const json& saved)>;
  namespace_def& recovery(stream_fn streams, replay_fn replay, save_fn save, restore_fn restore) {
    stream_of_ = std::move(streams);
    replay_ = std::move(replay);
    save_ = std::move(save);
    restore_ = std::move(restore);
    return *this;
  }
  bool recoverable() const { return static_cast<bool>(stream_of_); }

  // Called for events with no handler of their own.
  namespace_def& on_any(event_handler h) {
    on_any_ = std::move(h);
    return *this;
  }
  // Runs while the socket still has its rooms; it leaves them right after.
  namespace_def& on_disconnect(disconnect_handler h) {
    on_disconnect_ = std::move(h);
    return *this;
  }
  // Server-side emits from other nodes (Node's io.of(nsp).on(event, ...)); runs in the
  // cluster adapter's actor.
  namespace_def& on_server_side(server_side_handler h) {
    on_server_side_ = std::move(h);
    return *this;
  }
  const server_side_handler& server_side() const { return on_server_side_; }

  const std::string& name() const { return name_; }

 private:
  friend class connection;
  std::string name_;
  std::vector<middleware> middlewares_;
  connection_handler on_connection_;
  std::unordered_map<std::string, event_handler> handlers_;
  event_handler on_any_;
  disconnect_handler on_disconnect_;
  server_side_handler on_server_side_;
  stream_fn stream_of_;
  replay_fn replay_;
  save_fn save_;
  restore_fn restore_;
};

// Connection state recovery (protocol.md §2.6), backed by the storage actor so that it
// survives restarts. See docs/recovery.md.
struct recovery_config {
  // maxDisconnectionDuration; Node's default, and --recovery-window's.
  static constexpr std::chrono::milliseconds default_window{120000};
  std::chrono::milliseconds window = default_window;
  storage::storage_actor storage;  // kv for session records, logs for replay
  std::string epoch;               // names the data directory's lifetime
  // Sessions persisted without a disconnect time (the process died) count as
  // disconnected at this process's start.
  std::chrono::system_clock::time_point started = wall_now();
  // In a cluster: this node's uid (cluster_config::uid). Records name the node that
  // wrote them, and each node keeps a heartbeat key alive (spawn_node_heartbeat), so a
  // record left by a node that died is told from a session still connected elsewhere.
  std::string node;
};

// How often a cluster node refreshes its heartbeat key, and how long that key outlives
// the last refresh beyond the recovery window (a crashed node's sessions stay
// recoverable for the window, then its key is gone).
inline constexpr std::chrono::milliseconds heartbeat_interval{1000};
inline constexpr std::chrono::milliseconds heartbeat_slack{5000};
// Session records in a shared engine expire on their own (kv TTL): a disconnected one
// after the window (+ slack), a connected one this long after its last write (a node
// that dies writes no disconnect).
inline constexpr std::chrono::hours connected_record_ttl{24};

// Keeps `node`'s heartbeat key (keys::node_heartbeat) at the current time, with a TTL
// of the window + slack, every heartbeat_interval, until the actor is stopped.
caf::actor spawn_node_heartbeat(caf::actor_system& sys, const recovery_config& rc);

struct server_config {
  std::chrono::milliseconds connect_timeout{45000};
  std::optional<recovery_config> recovery;  // off when empty
  json_limits payload_limits;               // every packet's JSON (--max-json-depth, --max-json-members)
  // Before a namespace CONNECT has succeeded (the handshake auth, attachments waiting in
  // the decoder) a client is unauthenticated: it gets a much smaller bound than
  // maxHttpBufferSize.
  std::size_t max_preconnect_bytes = 8 * 1024;
  // Events from one socket that asked for an ack and are not answered yet. Past it an
  // event is not handled: its ack is answered at once with `overload_reply`.
  std::size_t max_pending_acks = 256;
  json overload_reply = json{{"ok", false}, {"error", "too_many_pending_acks"}};
  // Other nodes through Redis (--redis); without a link this node is alone.
  cluster_config cluster;
};

class server {
 public:
  server(caf::actor_system& sys, server_config cfg);
  ~server();  // stops the room directory (and so every room)

  // Creates (or returns) a namespace. Only before the server starts accepting.
  namespace_def& of(const std::string& name);
  const namespace_def* find(std::string_view name) const;

  // Rooms of `nsp` whose names start with `prefix` are served by the actor `serve`
  // returns for each (see room_members.hpp) instead of one the directory spawns and
  // stops: an application whose actor already exists per room (Project Hub's user
  // mailbox for `user:<id>`) saves an actor per room. Only before the server accepts.
  void serve_rooms(std::string nsp, std::string prefix, std::function<caf::actor(const std::string& room)> serve);

  // io.of(nsp).to(room)... from anywhere (actors, HTTP handlers).
  broadcaster in(std::string nsp) const { return broadcaster(directory_, cluster_, std::move(nsp)); }

  // Joins the cluster (with a link in the config): subscribes for every namespace
  // defined so far. After the application defined its namespaces, before accepting.
  void start();
  // Node's io.of(nsp).serverSideEmit(event, ...args[, cb]): to the other nodes' handlers
  // (namespace_def::on_server_side), not this node's. With `done`, their answers.
  void server_side_emit(const std::string& nsp, std::string event, json args) const;
  void server_side_emit_with_ack(const std::string& nsp, std::string event, json args,
                                 std::chrono::milliseconds timeout, ack_result_callback done) const;
  // Node's serverCount(): the nodes subscribed to the namespace's request channel.
  void server_count(const std::string& nsp, std::function<void(std::size_t)> done) const;
  const cluster_node& cluster() const { return *cluster_; }
  // An application's own channels on the cluster's link (cluster_feed). Before start().
  void add_feed(cluster_feed feed) { cluster_->add_feed(std::move(feed)); }
  std::vector<std::string> namespace_names() const;

  // Spawns the actor for a new Engine.IO session: it receives eio_text/eio_bin/
  // eio_close messages and answers through `out`.
  caf::actor spawn_connection(outlet_weak out, std::shared_ptr<const handshake> hs) const;
  // The same, as the transport's session factory wants it (seam.hpp).
  session_handler_ptr open_session(outlet_weak out, std::shared_ptr<const handshake> hs) const;

  caf::actor_system& system() const { return sys_; }
  const caf::actor& directory() const { return directory_; }
  const server_config& config() const { return cfg_; }

 private:
  caf::actor_system& sys_;
  server_config cfg_;
  caf::actor directory_;
  std::shared_ptr<cluster_node> cluster_;
  std::map<std::string, namespace_def, std::less<>> namespaces_;
};

// One client's membership in one namespace. Lives inside the connection actor.
class socket {
 public:
  const std::string& id() const { return id_; }
  const std::string& nsp() const { return nsp_; }
  // Private session id (connection state recovery); empty when recovery is off.
  const std::string& pid() const { return pid_; }
  // True when this socket is a recovered session (same sid, rooms restored).
  bool recovered() const { return recovered_; }
  // The CONNECT packet's payload (an object; {} when absent or not an object). Parsed
  // on first use; the parsed copy is dropped once the connection handler has run (only
  // the text is kept for the connection's life).
  const json& auth() const;
  const handshake& handshake_info() const { return *handshake_; }
  // Application state attached by middlewares or the connection handler.
  std::any& state() { return state_; }
  // Node's socket.data: what fetch_sockets() shows of this socket to any node.
  json& data() {
    if (data_.is_null()) data_ = json::object();
    return data_;
  }
  const sio::server& io() const;

  void emit(std::string_view name, json args = json::array());
  void emit_raw(std::string_view name, std::string_view raw_args, std::vector<std::string> attachments = {});
  // The client's ack arrives as `on_reply(reply)` (its arguments: reply->args(), or
  // raw_args()); nullopt on timeout or disconnect.
  using ack_callback = std::function<void(std::optional<event>)>;
  void emit_with_ack(std::string_view name, json args, std::chrono::milliseconds timeout, ack_callback on_reply);
  void emit_raw_with_ack(std::string_view name, std::string_view raw_args, std::vector<std::string> attachments,
                         std::chrono::milliseconds timeout, ack_callback on_reply);

  // For callbacks that run outside this connection's actor.
  direct_emitter emitter() const;
  // For callbacks that run later in this connection's actor.
  socket_ref ref() const;

  void join(const std::string& room);
  void leave(const std::string& room);
  const std::set<std::string>& rooms() const { return rooms_; }

  // Broadcasts that leave this socket out (Node's socket.to(room) / socket.broadcast).
  broadcaster to(std::string room) const;
  broadcaster broadcast() const;

  // Server-side disconnect of this namespace; with `close_connection` the whole
  // Engine.IO session ends too.
  void disconnect(bool close_connection = false);

  // Ends this socket's Engine.IO session at `when` (wall clock) as a transport close
  // ("forced close", recoverable): the client reconnects by itself, authenticates
  // afresh, and recovers what it missed. For credentials that expire. The latest call
  // wins; `why` is logged.
  void close_at(std::chrono::system_clock::time_point when, const std::string& why);

  caf::event_based_actor* self() const { return self_; }

 private:
  friend class connection;
  struct pending_ack {
    ack_callback on_reply;
  };
  void track_ack(std::uint64_t id, std::chrono::milliseconds timeout, ack_callback on_reply);

  caf::event_based_actor* self_ = nullptr;
  class connection* conn_ = nullptr;
  const namespace_def* def_ = nullptr;
  std::string id_;
  std::string nsp_;
  std::string pid_;
  bool recovered_ = false;
  // -- recovery bookkeeping ---------------------------------------------------------------
  std::map<std::string, std::uint64_t> delivered_;  // stream -> last seq sent to the client
  std::map<std::string, std::uint64_t> joined_at_;  // stream -> its last seq when joined
  // The client's offset as last formatted from the two maps above, kept up to date per
  // delivery (recovery::raise_offset); empty: format anew. Cleared when they change otherwise.
  std::string offset_text_;
  bool recovering_ = false;  // replay in progress: hold live events
  struct held_event {
    wire_packet_ptr packet;
    std::string stream;
    std::uint64_t seq = 0;
  };
  // Only while a session is being recovered (recovering_): an idle socket holds none.
  struct replay_state {
    std::vector<held_event> held;
    std::map<std::string, std::vector<std::pair<std::uint64_t, std::string>>> missed;
    std::size_t pending_reads = 0;
    json saved_data;  // application state of the session being recovered
  };
  std::unique_ptr<replay_state> replay_;
  bool persist_pending_ = false;          // a record write is queued (coalesces changes)
  bool persist_after_positions_ = false;  // a write waits for the position reads
  std::uint32_t positions_pending_ = 0;   // stream positions being read (joined_at_)
  std::string auth_text_;                 // the CONNECT payload as received
  mutable std::optional<json> auth_;      // parsed from auth_text_ on demand
  const handshake* handshake_ = nullptr;
  std::any state_;
  json data_;  // null until data() is first used
  std::set<std::string> rooms_;
  std::uint64_t next_ack_id_ = 0;
  std::unordered_map<std::uint64_t, pending_ack> pending_acks_;
  // Client events awaiting our ack (shared with their ack_senders, which may run on
  // other actors); allocated at the first one.
  std::shared_ptr<std::atomic<std::uint32_t>> acks_owed_;
  std::int64_t close_at_ms_ = 0;  // close_at() deadline on the actor clock (connection::clock_ms); 0: none
};

}  // namespace hub::sio
