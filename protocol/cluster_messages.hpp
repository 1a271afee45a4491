// The messages between Socket.IO nodes on Redis, exactly as @socket.io/redis-adapter
// 8.3.0 and @socket.io/redis-emitter 5.1.0 put them on the wire: channel names,
// broadcasts (msgpack), requests and responses (JSON, or msgpack for the two that carry
// binaries). Pure: no I/O. Any Redis client may publish on these channels, so every
// decoder takes hostile bytes: bounded (json_limits, notepack::max_values), never throws,
// and refuses a wrong type with a reason.
#pragma once

#include "protocol/json_limits.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hub::cluster {

// The adapter's RequestType (the emitter knows 0..6 only).
enum class request_type : std::uint8_t {
  sockets = 0,
  all_rooms = 1,
  remote_join = 2,
  remote_leave = 3,
  remote_disconnect = 4,
  remote_fetch = 5,
  server_side_emit = 6,
  broadcast = 7,
  broadcast_client_count = 8,  // a response type only
  broadcast_ack = 9,           // a response type only
};

// The channels of one namespace under a key prefix (the adapter's `key` option, default
// "socket.io").
struct channels {
  std::string broadcast;  // "<prefix>#<nsp>#"
  std::string request;    // "<prefix>-request#<nsp>#"
  std::string response;   // "<prefix>-response#<nsp>#"
  // The pattern to PSUBSCRIBE for broadcasts: `broadcast` with Redis's glob characters
  // (* ? [ ] \) escaped, then "*". The adapter does not escape them, so a Node node of a
  // namespace such as "/[a]" hears other channels than its own; the channel itself is the
  // same, and room_of_channel() is exact either way.
  std::string broadcast_pattern;
  std::string room(std::string_view room) const;              // "<prefix>#<nsp>#<room>#"
  std::string specific_response(std::string_view uid) const;  // "<prefix>-response#<nsp>#<uid>#"

  friend bool operator==(const channels&, const channels&) = default;
};
channels channels_for(std::string_view prefix, std::string_view nsp);
// The PSUBSCRIBE pattern of every channel that starts with `prefix`: its glob characters
// (* ? [ ] \) escaped, then "*".
std::string prefix_pattern(std::string_view prefix);

// The room a broadcast channel names: "" for the namespace-wide channel (and for
// "<broadcast>#", as the adapter reads it); nullopt when `channel` is not
// c.broadcast + [room + "#"]. Exact on prefixes: "/" does not take "/custom"'s channels;
// a room may hold '#'. Names cannot tell nsp "/" room "x" from nsp "/#x" (both are
// "socket.io#/#x#"): the message's packet.nsp does, which decode_broadcast returns.
std::optional<std::string> room_of_channel(const channels& c, std::string_view channel);

// opts.rooms / opts.except. Rooms that Node holds as numbers arrive as their text.
struct selector {
  std::vector<std::string> rooms;
  std::vector<std::string> except;

  friend bool operator==(const selector&, const selector&) = default;
};

// A Socket.IO packet as the adapter relays it: type 2 (EVENT) in every broadcast Node
// makes; data = [event, ...args] with binaries as json::binary (Buffers); id only when
// the sender set one (the adapter never does: each receiving node picks its own ack id).
struct broadcast_packet {
  int type = 2;
  std::string nsp = "/";
  json data = json::array();
  std::optional<std::uint64_t> id;

  friend bool operator==(const broadcast_packet&, const broadcast_packet&) = default;
};

// A broadcast, published on channels::broadcast or channels::room(r) (the latter when
// exactly one room is targeted): msgpack [uid, packet, {rooms, except, flags}].
struct broadcast_message {
  std::string uid;  // the sending node's uid: "emitter" from @socket.io/redis-emitter
  broadcast_packet packet;
  selector opts;
  json flags = json::object();  // {volatile, compress, ...} as the sender had them

  friend bool operator==(const broadcast_message&, const broadcast_message&) = default;
};

// [uid, {type, data, nsp[, id]}, {rooms, except, flags}], keys in that order (the
// adapter's; the emitter writes {rooms, flags, except}, which decodes the same).
std::string encode_broadcast(const broadcast_message& m);
// Refuses what is not an array of at least [uid, packet, opts] (later elements ignored,
// as the adapter's destructuring does), a uid or nsp that is not a string, a packet type
// that is not an integer 0..6, data that is not an array, an id that is not an integer
// >= 0, opts that is not a map, rooms/except that are not arrays of strings or numbers,
// flags that is not a map. packet.nsp missing -> "/" (as the adapter does); rooms,
// except or flags missing -> empty.
std::optional<broadcast_message> decode_broadcast(std::string_view bytes, const json_limits& limits,
                                                  std::string* error = nullptr);

// A request on channels::request. Which fields a type uses (the rest stay empty):
//   sockets            request_id, rooms (rooms to look in; empty: all sockets)
//   all_rooms          request_id
//   remote_join/leave  opts + rooms (rooms to join/leave; no request_id, no response), or
//                      request_id + sid + room (one socket; the owning node responds)
//   remote_disconnect  opts + close, or request_id + sid + close
//   remote_fetch       request_id, opts
//   server_side_emit   data = [event, ...args]; request_id when the sender awaits replies
//   broadcast          request_id, packet, opts, flags (timeout in ms among them; a Node
//                      receiver ignores the flags: only the sender times out)
struct request {
  request_type type{};
  std::string uid;  // the sending node; "emitter" from the emitter, "" when absent (the
                    // emitter's join/leave/disconnect requests carry none)
  std::string request_id;  // "" when the request has none (an empty requestId counts as
                           // none: Node ignores responses to it)
  std::optional<selector> opts;
  std::vector<std::string> rooms;
  std::string room;
  std::string sid;
  bool close = false;
  json data;
  std::optional<broadcast_packet> packet;
  json flags = json::object();

  friend bool operator==(const request&, const request&) = default;
};

// JSON when `bytes` start with '{' (as the adapter checks), msgpack otherwise. Refuses:
// not an object; type missing or not 0..7 (8 and 9 are responses); a field of the type
// (above) that is missing where the adapter needs it or of the wrong type.
std::optional<request> decode_request(std::string_view bytes, const json_limits& limits,
                                      std::string* error = nullptr);
// Exactly the fields, order and encoding the adapter (or, without uid, the emitter)
// uses for the type: BROADCAST as msgpack, every other type as JSON text (Buffers in
// data as JSON.stringify writes them: {"type":"Buffer","data":[...]}).
std::string encode_request(const request& r);

// A response on channels::response (or specific_response(uid) when the requester asked
// for it). Which fields a type uses:
//   sockets            sockets = [sid...]
//   all_rooms          rooms = [room...]
//   remote_join/leave/disconnect (one socket): nothing but request_id
//   remote_fetch       sockets = [{id, handshake, rooms, data}...]
//   server_side_emit   type, data (absent when the callback got undefined)
//   broadcast          type broadcast_client_count + client_count, then per client that
//                      acknowledged: type broadcast_ack + packet (the ack's first argument)
struct response {
  std::string request_id;
  std::optional<request_type> type;  // on SERVER_SIDE_EMIT, BROADCAST_CLIENT_COUNT and BROADCAST_ACK only
  std::optional<json> sockets;
  std::optional<json> rooms;
  std::optional<json> data;
  std::optional<std::uint64_t> client_count;
  std::optional<json> packet;

  friend bool operator==(const response&, const response&) = default;
};

// JSON when `bytes` start with '{', msgpack otherwise. Refuses: not an object; requestId
// missing or not a string; a type that is not 0..9; sockets or rooms that are not arrays;
// a clientCount that is not an integer >= 0.
std::optional<response> decode_response(std::string_view bytes, const json_limits& limits,
                                        std::string* error = nullptr);
// BROADCAST_ACK as msgpack (its packet may hold binaries); every other response as JSON,
// BROADCAST_CLIENT_COUNT included, as the adapter does. Fields in the adapter's order:
// [type,] requestId, then what is present.
std::string encode_response(const response& r);

}  // namespace hub::cluster
