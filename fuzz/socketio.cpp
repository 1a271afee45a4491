// Socket.IO v5 packets with binary attachments: sio::decoder over a sequence of
// Engine.IO messages. Input: messages separated by \x1e (as in a polling payload); one
// that starts with 'b' is a binary message (the raw bytes after the 'b'), any other a
// text message. Invariants on every packet decoded: the payload rule of its type, an
// attachment count as announced, a namespace that encodes back; encode() then decode
// gives the same packet; the decoder's JSON bounds agree with json_bounds::check, and
// its placeholder check with json_args::fill_placeholders.
#include "fuzz/check.hpp"
#include "protocol/json_args.hpp"
#include "protocol/json_limits.hpp"
#include "protocol/socketio_packet.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace {

namespace sio = hub::sio;

// Smaller than the server's (32 deep, 1000 members) so that short inputs reach them.
constexpr hub::json_limits limits{8, 16};

sio::decoder::result feed(sio::decoder& d, std::string_view message) {
  if (!message.empty() && message[0] == 'b') return d.feed_binary(std::string(message.substr(1)));
  return d.feed_text(message, limits);
}

void check_packet(const sio::packet& p) {
  using t = sio::packet_type;
  FUZZ_CHECK(static_cast<unsigned>(p.type) <= 6);
  FUZZ_CHECK(!p.nsp.empty() && p.nsp[0] == '/' && p.nsp.find(',') == std::string::npos);
  const bool binary = p.type == t::binary_event || p.type == t::binary_ack;
  FUZZ_CHECK(binary || p.attachments.empty());
  FUZZ_CHECK(p.attachments.size() <= sio::max_attachments);
  if (sio::is_ack(p.type)) FUZZ_CHECK(p.id.has_value());
  if (p.type == t::disconnect) FUZZ_CHECK(p.data.empty());
  if (!p.data.empty()) FUZZ_CHECK(hub::json_bounds::check(p.data, limits) == hub::json_bounds::verdict::ok);
  if (sio::is_event(p.type) || sio::is_ack(p.type)) {
    auto elements = hub::json_args::split_array(p.data);
    FUZZ_CHECK(elements.has_value());
    if (sio::is_event(p.type)) {
      FUZZ_CHECK(!elements->empty());
      const char c = elements->front().front();
      FUZZ_CHECK(c == '"' || c == '-' || (c >= '0' && c <= '9'));
    }
  }
  if (binary) {
    // The decoder checked every placeholder against the attachments; so must this.
    auto value = hub::json::parse(p.data, nullptr, false);
    FUZZ_CHECK(!value.is_discarded());
    FUZZ_CHECK(hub::json_args::fill_placeholders(value, p.attachments));
  }

  // Encoded again (as the server sends it), it decodes to the same packet.
  sio::decoder again;
  auto r = again.feed_text(sio::encode(p), limits);
  for (std::size_t i = 0; i < p.attachments.size(); ++i) {
    FUZZ_CHECK(std::holds_alternative<std::nullopt_t>(r));
    r = again.feed_binary(p.attachments[i]);
  }
  auto* q = std::get_if<sio::packet>(&r);
  FUZZ_CHECK(q && *q == p);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  sio::decoder decoder;
  for (;;) {
    const auto sep = input.find('\x1e');
    auto r = feed(decoder, input.substr(0, sep));
    if (auto* p = std::get_if<sio::packet>(&r)) {
      FUZZ_CHECK(!decoder.awaiting_attachments());
      check_packet(*p);
    } else if (auto* e = std::get_if<sio::decode_error>(&r)) {
      FUZZ_CHECK(!decoder.awaiting_attachments() && !e->reason.empty());
    } else {
      FUZZ_CHECK(decoder.awaiting_attachments());
    }
    if (sep == std::string_view::npos) break;
    input.remove_prefix(sep + 1);
  }
  return 0;
}
