// The seam between the Engine.IO transport and whatever runs on top of it (the
// Socket.IO server), in both directions, owned by the transport (as engineioxide's
// handler trait is): the transport delivers a session's messages to a session_handler
// and accepts packets through an outlet. In hub-server an outlet is an Engine.IO
// session on Boost.Beast; in hub-sim a virtual link; in tests a recorder. Nothing here
// knows CAF or Beast, so the layers above and below meet only in this header.
#pragma once

#include "util/flat_fields.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hub {

// One outbound unit, already encoded for the wire: an Engine.IO text packet (type
// digit included, e.g. "42[\"hi\"]"; empty when there is none) followed by raw
// binary messages (a Socket.IO packet's attachments). Immutable once built, so that a
// broadcast encodes it once and shares the same buffer with every recipient.
struct wire_packet {
  std::string text;
  std::vector<std::string> binaries;

  std::size_t byte_size() const {
    std::size_t n = text.size();
    for (const auto& b : binaries) n += b.size();
    return n;
  }
};

using wire_packet_ptr = std::shared_ptr<const wire_packet>;

// A packet as one recipient gets it: the shared packet plus a small per-recipient
// `insert`, placed before the last character of its text (connection state recovery
// appends each client's own offset as an extra last argument, before an EVENT's closing
// ']'). A broadcast thus shares one encoded body among all recipients and carries only
// the few bytes that differ; the transport splices them in while it frames the write.
struct outbound {
  wire_packet_ptr packet;
  std::string insert;

  outbound() = default;
  outbound(wire_packet_ptr p) : packet(std::move(p)) {}               // NOLINT: implicit on purpose
  outbound(std::shared_ptr<wire_packet> p) : packet(std::move(p)) {}  // NOLINT: likewise
  outbound(wire_packet_ptr p, std::string ins) : packet(std::move(p)), insert(std::move(ins)) {}

  std::size_t text_size() const { return packet->text.size() + insert.size(); }
  std::size_t byte_size() const { return packet->byte_size() + insert.size(); }

  // The recipient's text, in two pieces around the insert point when there is an insert.
  std::string_view text_head() const {
    std::string_view t = packet->text;
    return insert.empty() || t.empty() ? t : t.substr(0, t.size() - 1);
  }
  std::string_view text_tail() const {
    std::string_view t = packet->text;
    return insert.empty() || t.empty() ? std::string_view{} : t.substr(t.size() - 1);
  }
  void append_text(std::string& out) const {
    out += text_head();
    out += insert;
    out += text_tail();
  }
  std::string text() const {
    std::string out;
    out.reserve(text_size());
    append_text(out);
    return out;
  }
};

class outlet {
 public:
  virtual ~outlet() = default;

  // Queues a packet for the peer. Thread-safe, never blocks. A peer whose queue
  // exceeds its bound is disconnected by the outlet (the actor then gets a close).
  virtual void send(outbound packet) = 0;

  // Ends the session after what is already queued has been written. Thread-safe.
  virtual void close() = 0;

  // The actor has handled one inbound message (eio_text / eio_bin) and sent what it
  // produced. A polling outlet holds its poll response until the inputs of one POST
  // are handled, so that their replies share one response (as Node answers within the
  // same tick). Thread-safe; a no-op by default.
  virtual void input_done() {}
};

using outlet_ptr = std::shared_ptr<outlet>;
using outlet_weak = std::weak_ptr<outlet>;

// -- what the transport delivers ----------------------------------------------------------

// What the transport knew about the client when the session opened. Kept for the
// connection's whole life: query and headers are packed (flat_fields).
struct handshake {
  std::string remote_address;
  std::string url;
  flat_fields query;    // decoded query parameters
  flat_fields headers;  // lower-case names
  std::chrono::system_clock::time_point issued;
};

// Why a session ended, as the transport saw it. Socket.IO hands these to disconnect
// handlers under the names to_string() gives (Node's reasons, protocol.md §2.5).
enum class close_reason : std::uint8_t {
  transport_close,       // the client closed it or its connection went away
  transport_error,       // a transport failure, or a send queue over its bound
  ping_timeout,          // no pong within pingInterval + pingTimeout
  parse_error,           // the client sent something that is not Engine.IO
  forced_close,          // the server ended it (outlet::close)
  server_shutting_down,  // the process is stopping
};
constexpr std::string_view to_string(close_reason r) {
  switch (r) {
    case close_reason::transport_close: return "transport close";
    case close_reason::transport_error: return "transport error";
    case close_reason::ping_timeout: return "ping timeout";
    case close_reason::parse_error: return "parse error";
    case close_reason::forced_close: return "forced close";
    case close_reason::server_shutting_down: return "server shutting down";
  }
  return "transport error";
}
// The reason to_string() names (a recorded trace's text); nullopt for any other text.
constexpr std::optional<close_reason> close_reason_from(std::string_view name) {
  for (auto r : {close_reason::transport_close, close_reason::transport_error, close_reason::ping_timeout,
                 close_reason::parse_error, close_reason::forced_close, close_reason::server_shutting_down})
    if (to_string(r) == name) return r;
  return std::nullopt;
}

// Receives one session's client messages, in order. Called from the transport's
// threads, so an implementation hands them on (the Socket.IO server posts each to the
// session's connection actor) and returns at once. After on_close nothing follows.
class session_handler {
 public:
  virtual ~session_handler() = default;
  virtual void on_text(std::string payload) = 0;
  virtual void on_binary(std::string bytes) = 0;
  virtual void on_close(close_reason why) = 0;
};
using session_handler_ptr = std::shared_ptr<session_handler>;

// Called once per new session, with its outlet and what the handshake carried.
using session_factory = std::function<session_handler_ptr(outlet_weak out, std::shared_ptr<const handshake> hs)>;

}  // namespace hub
