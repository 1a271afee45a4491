// Engine.IO v4: one packet as a WebSocket text frame carries it (eio::decode_text) and
// a polling payload (eio::decode_payload), on the same bytes. Invariants: a decoded
// text packet encodes back to exactly its input; a decoded payload is non-empty and
// survives encode -> decode unchanged (binary as 'b' + base64, whose re-encoding is
// canonical, so the bytes may differ from the input but not the packets), and
// append_to_payload builds the same text as encode_payload.
#include "fuzz/check.hpp"
#include "protocol/engineio_packet.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace eio = hub::eio;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  if (auto p = eio::decode_text(input)) {
    FUZZ_CHECK(!p->binary && eio::encode_text(*p) == input);
  } else {
    FUZZ_CHECK(input.empty() || input[0] < '0' || input[0] > '6');
  }

  auto packets = eio::decode_payload(input);
  if (!packets) return 0;
  FUZZ_CHECK(!packets->empty());
  const std::string encoded = eio::encode_payload(*packets);
  std::string appended;
  for (const auto& p : *packets) {
    if (p.binary) FUZZ_CHECK(p.type == eio::packet_type::message);
    eio::append_to_payload(appended, p);
  }
  FUZZ_CHECK(appended == encoded);
  auto again = eio::decode_payload(encoded);
  FUZZ_CHECK(again && *again == *packets);
  // Without binary packets nothing is re-encoded: the payload is its own encoding.
  bool any_binary = false;
  for (const auto& p : *packets) any_binary = any_binary || p.binary;
  if (!any_binary) FUZZ_CHECK(encoded == input);
  return 0;
}
