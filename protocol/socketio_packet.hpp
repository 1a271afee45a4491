// Socket.IO v5 packets: encoding, and a decoder that reassembles binary attachments.
// Pure: no I/O. The JSON payload is kept as raw text so that it can be passed through
// unchanged (key order and number text); see json_args.hpp to take it apart.
#pragma once

#include "protocol/json_limits.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace hub::sio {

enum class packet_type : std::uint8_t {
  connect = 0,
  disconnect = 1,
  event = 2,
  ack = 3,
  connect_error = 4,
  binary_event = 5,
  binary_ack = 6,
};

// EVENT or BINARY_EVENT / ACK or BINARY_ACK: the decoder keeps the type as received,
// so callers that do not care whether attachments came along test with these.
inline constexpr bool is_event(packet_type t) { return t == packet_type::event || t == packet_type::binary_event; }
inline constexpr bool is_ack(packet_type t) { return t == packet_type::ack || t == packet_type::binary_ack; }

// Node's socket.io-parser refuses packets announcing more attachments than this.
inline constexpr std::size_t max_attachments = 10;

struct packet {
  packet_type type = packet_type::event;
  std::string nsp = "/";
  std::optional<std::uint64_t> id;  // ack id
  std::string data;                 // raw JSON text; empty when the packet has none
  // Binary attachments in placeholder order ({"_placeholder":true,"num":i}).
  std::vector<std::string> attachments;

  friend bool operator==(const packet&, const packet&) = default;
};

// Encodes the text part of a packet (without Engine.IO's leading '4'). An `event` or
// `ack` with attachments is written as `binary_event`/`binary_ack` "<type><n>-...";
// the attachments follow as separate Engine.IO binary messages. The namespace is
// omitted when it is "/".
std::string encode(const packet& p);

// Same, appended to `out` (used to put Engine.IO's '4' in front without a copy).
void encode_append(std::string& out, const packet& p);

struct decode_error {
  std::string reason;  // human-readable; the connection is closed with "parse error"
  // Set when the payload was well-formed so far but broke a json_limits bound.
  enum class bound : std::uint8_t { none, depth, members } exceeded = bound::none;
};

// Reassembles packets from Engine.IO messages: a text message starts a packet; a
// binary_event/binary_ack then waits for its attachments as binary messages.
// A decoded packet keeps the type it was received with: "5..."/"6..." come out as
// binary_event/binary_ack (with `attachments` filled and `data` still holding the
// placeholders), "2..."/"3..." as event/ack; see is_event() and is_ack().
// Payload rules: CONNECT takes no payload or an object; DISCONNECT none; EVENT a
// non-empty array whose [0] is a number or a non-reserved string; ACK an array plus an
// ack id; CONNECT_ERROR an object or a string. An ack id that does not fit in 64 bits
// is an error. "50-[...]" completes at once (and may hold no placeholder).
// Validates everything protocol.md §2.1-2.2 names: type, attachment count (at most
// max_attachments), namespace, ack id, JSON syntax and the payload rule of each type,
// reserved event names, and placeholder numbers within [0, n).
class decoder {
 public:
  // nullopt: need more (attachments pending); a packet: complete; decode_error: the
  // connection must be closed. After an error the decoder is reset.
  using result = std::variant<std::nullopt_t, packet, decode_error>;

  // `limits` bound the payload's nesting and object sizes (checked while scanning).
  result feed_text(std::string_view text, const json_limits& limits = {});
  result feed_binary(std::string bytes);

  bool awaiting_attachments() const { return pending_ != nullptr; }

 private:
  // On the heap, and only while attachments are awaited: every connection has a
  // decoder, few are ever between a binary packet's header and its last attachment.
  std::unique_ptr<packet> pending_;
  std::size_t expected_ = 0;
  // Placeholder numbers are checked when the header arrives (n is known then) but,
  // like Node, reported only once all attachments are in.
  bool bad_placeholder_ = false;

  void reset();
};

// Names a client may not use for its events.
bool is_reserved_event_name(std::string_view name);

}  // namespace hub::sio
