// Engine.IO v4 packets and HTTP long-polling payloads. Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hub::eio {

enum class packet_type : std::uint8_t {
  open = 0,
  close = 1,
  ping = 2,
  pong = 3,
  message = 4,
  upgrade = 5,
  noop = 6,
};

// One Engine.IO packet. A binary packet is always a `message` whose `data` holds the
// raw bytes; a text packet's `data` is the UTF-8 text after the type digit.
struct packet {
  packet_type type = packet_type::message;
  bool binary = false;
  std::string data;

  friend bool operator==(const packet&, const packet&) = default;
};

// The record separator that joins packets in a polling payload.
inline constexpr char record_separator = '\x1e';

// Text form of a text packet: the type digit followed by the data ("4hello", "2").
// A binary packet comes out in its polling form, 'b' + base64.
std::string encode_text(const packet& p);

// Decodes one WebSocket text frame (or one payload segment that is not base64 binary).
// Returns nullopt when the first character is not '0'..'6' (a parse error).
std::optional<packet> decode_text(std::string_view frame);

// A polling payload: packets joined with \x1e; binary ones as 'b' + standard base64.
std::string encode_payload(const std::vector<packet>& packets);

// Appends one packet to a payload under construction (adds the separator if needed).
void append_to_payload(std::string& payload, const packet& p);

// Splits a polling payload. Returns nullopt on a parse error (unknown type character,
// bad base64, empty payload): the session must then be closed with "parse error".
std::optional<std::vector<packet>> decode_payload(std::string_view payload);

}  // namespace hub::eio
