#include "protocol/engineio_packet.hpp"

#include "protocol/base64.hpp"

namespace hub::eio {
namespace {

constexpr char binary_marker = 'b';

char type_char(packet_type t) { return static_cast<char>('0' + static_cast<std::uint8_t>(t)); }

std::size_t encoded_size(const packet& p) { return p.binary ? 1 + 4 * ((p.data.size() + 2) / 3) : 1 + p.data.size(); }

// Appends the packet as it appears in a payload (and in text form): a binary packet as
// 'b' + base64, a text packet as its type digit + data.
void append_packet(std::string& out, const packet& p) {
  if (p.binary) {
    out += binary_marker;
    base64::encode_append(out, p.data);
  } else {
    out += type_char(p.type);
    out += p.data;
  }
}

}  // namespace

std::string encode_text(const packet& p) {
  std::string out;
  out.reserve(encoded_size(p));
  append_packet(out, p);
  return out;
}

std::optional<packet> decode_text(std::string_view frame) {
  if (frame.empty()) return std::nullopt;
  const char c = frame.front();
  if (c < '0' || c > '6') return std::nullopt;
  packet p;
  p.type = static_cast<packet_type>(c - '0');
  p.binary = false;
  p.data.assign(frame.substr(1));
  return p;
}

std::string encode_payload(const std::vector<packet>& packets) {
  std::size_t total = packets.empty() ? 0 : packets.size() - 1;  // separators
  for (const auto& p : packets) total += encoded_size(p);
  std::string out;
  out.reserve(total);
  for (const auto& p : packets) append_to_payload(out, p);
  return out;
}

void append_to_payload(std::string& payload, const packet& p) {
  // Every encoded packet is at least one character long, so a non-empty payload
  // always ends with a complete packet.
  if (!payload.empty()) payload += record_separator;
  append_packet(payload, p);
}

std::optional<std::vector<packet>> decode_payload(std::string_view payload) {
  if (payload.empty()) return std::nullopt;
  std::vector<packet> packets;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = payload.find(record_separator, start);
    const std::string_view segment =
      payload.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!segment.empty() && segment.front() == binary_marker) {
      auto bytes = base64::decode(segment.substr(1));
      if (!bytes) return std::nullopt;
      packets.push_back(packet{packet_type::message, true, std::move(*bytes)});
    } else {
      auto p = decode_text(segment);
      if (!p) return std::nullopt;
      packets.push_back(std::move(*p));
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return packets;
}

}  // namespace hub::eio
