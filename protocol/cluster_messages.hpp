// The messages of Socket.IO's Redis adapter (@socket.io/redis-adapter 8.x) and emitter
// (@socket.io/redis-emitter 5.x) between nodes: channel names, the broadcast envelope
// (msgpack [uid, packet, opts]), requests and responses (JSON, except the broadcast with
// acks and its answers, which are msgpack). docs/cluster.md has the tables. Pure: no
// I/O; every decoder takes what anyone who can reach Redis may publish, so it bounds
// what it builds, checks every field's type, and never throws.
#pragma once

#include "protocol/json_limits.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hub::cluster {

// The adapter's RequestType, by number on the wire.
enum class request_type : std::uint8_t {
  sockets = 0,
  all_rooms = 1,
  remote_join = 2,
  remote_leave = 3,
  remote_disconnect = 4,
  remote_fetch = 5,
  server_side_emit = 6,
  broadcast = 7,
  broadcast_client_count = 8,
  broadcast_ack = 9,
};

// Channel names of one namespace under a key prefix (the adapter's `key` option).
struct channels {
  std::string broadcast;  // "<prefix>#<nsp>#"  (psubscribed as broadcast + "*")
  std::string request;    // "<prefix>-request#<nsp>#"
  std::string response;   // "<prefix>-response#<nsp>#"
  std::string room(std::string_view room) const;              // "<prefix>#<nsp>#<room>#"
  std::string specific_response(std::string_view uid) const;  // "<prefix>-response#<nsp>#<uid>#"
};
channels channels_for(std::string_view prefix, std::string_view nsp);

// The room a broadcast channel names: "" for the namespace-wide channel; nullopt when
// `channel` is not this namespace's broadcast channel.
std::optional<std::string> room_of_channel(const channels& c, std::string_view channel);

// opts.rooms / opts.except. Numbers among them (JS rooms may be numbers) become their
// JavaScript text.
struct selector {
  std::vector<std::string> rooms;
  std::vector<std::string> except;
};

// A Socket.IO packet as the adapter carries it; data = [event, ...args], binaries as
// json::binary.
struct broadcast_packet {
  int type = 2;
  std::string nsp = "/";
  json data = json::array();
  std::optional<std::uint64_t> id;
};

struct broadcast_message {
  std::string uid;
  broadcast_packet packet;
  selector opts;
  json flags = json::object();
};

// msgpack [uid, {type, data, nsp[, id]}, {rooms, except, flags}], as the adapter sends.
std::string encode_broadcast(const broadcast_message& m);
// A missing packet.nsp is "/" (as the adapter reads it).
std::optional<broadcast_message> decode_broadcast(std::string_view bytes, const json_limits& limits,
                                                  std::string* error = nullptr);

struct request {
  request_type type{};
  std::string uid;         // the sending node ("emitter" from @socket.io/redis-emitter)
  std::string request_id;  // empty when the request has none
  std::optional<selector> opts;
  std::vector<std::string> rooms;  // SOCKETS: rooms to look in; REMOTE_JOIN/LEAVE with opts: rooms to join/leave
  std::string room;                // REMOTE_JOIN/LEAVE of one socket
  std::string sid;                 // REMOTE_JOIN/LEAVE/DISCONNECT of one socket
  bool close = false;              // REMOTE_DISCONNECT
  json data;                       // SERVER_SIDE_EMIT: [event, ...args]
  std::optional<broadcast_packet> packet;  // BROADCAST (with acks)
  json flags = json::object();             // BROADCAST: opts.flags (its timeout in ms)
};

// JSON when `bytes` start with '{' (as the adapter tells them apart), msgpack otherwise.
std::optional<request> decode_request(std::string_view bytes, const json_limits& limits,
                                      std::string* error = nullptr);
// The fields, order and encoding the adapter uses for that type.
std::string encode_request(const request& r);

struct response {
  std::string request_id;
  std::optional<request_type> type;  // SERVER_SIDE_EMIT, BROADCAST_CLIENT_COUNT, BROADCAST_ACK
  std::optional<json> sockets;       // SOCKETS: [sid...]; REMOTE_FETCH: [{id, handshake, rooms, data}...]
  std::optional<json> rooms;         // ALL_ROOMS
  std::optional<json> data;          // SERVER_SIDE_EMIT's answer (absent: the callback got undefined)
  std::optional<std::uint64_t> client_count;  // BROADCAST_CLIENT_COUNT
  std::optional<json> packet;                 // BROADCAST_ACK: the client's first ack argument
};

std::optional<response> decode_response(std::string_view bytes, const json_limits& limits,
                                        std::string* error = nullptr);
// BROADCAST_CLIENT_COUNT and BROADCAST_ACK as msgpack; the rest JSON, as the adapter.
std::string encode_response(const response& r);

}  // namespace hub::cluster
