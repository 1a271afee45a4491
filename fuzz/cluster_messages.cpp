// The Redis adapter's wire: notepack::decode, and decode_broadcast / decode_request /
// decode_response, each on the whole input (any Redis client may publish anything on
// these channels), and room_of_channel with the input as a channel name. Invariants:
// no decoder throws, each gives a value or a reason; a decoded tree is within the
// bounds; what a decoder accepts, its encoder writes in a form that decodes again and
// encodes to the same bytes (a fixpoint after one step: dates, undefined, ext types and
// Buffers in JSON take their canonical form in the first); a room read from a channel
// names that channel.
#include "fuzz/check.hpp"
#include "fuzz/json_bounds_check.hpp"
#include "protocol/cluster_messages.hpp"
#include "protocol/notepack.hpp"

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using hub::json;
namespace cluster = hub::cluster;
namespace notepack = hub::notepack;

// Small, so that short inputs reach them (the server's: 32 deep, 1000 members).
constexpr hub::json_limits limits{12, 24};
// For decoding what our encoders wrote: JSON writes a Buffer as {"type":"Buffer",
// "data":[...]}, two levels where msgpack had a leaf.
constexpr hub::json_limits reencoded_limits{limits.max_depth + 2, limits.max_object_members};


// decode -> encode -> decode -> encode: the two encodings are equal.
template <typename Decode, typename Encode>
void check_fixpoint(std::string_view input, Decode decode, Encode encode) {
  std::string error;
  auto first = decode(input, limits, &error);
  FUZZ_CHECK(first.has_value() == error.empty());
  if (!first) return;
  const std::string once = encode(*first);
  error.clear();
  auto second = decode(once, reencoded_limits, &error);
  if (!second) std::fprintf(stderr, "re-encoding refused: %s\n", error.c_str());
  FUZZ_CHECK(second.has_value());
  FUZZ_CHECK(encode(*second) == once);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  std::string error;
  if (auto value = notepack::decode(input, limits, &error)) {
    FUZZ_CHECK(error.empty());
    hub::fuzz::check_within_bounds(*value, limits);
    // Every string is valid UTF-8 (invalid input became U+FFFD): a JSON writer takes it.
    bool dumps = true;
    try {
      (void)value->dump(-1, ' ', false, json::error_handler_t::strict);
    } catch (const json::exception&) {
      dumps = false;
    }
    FUZZ_CHECK(dumps);
  } else {
    FUZZ_CHECK(!error.empty());
  }
  check_fixpoint(
    input, [](std::string_view b, const hub::json_limits& l, std::string* e) { return notepack::decode(b, l, e); },
    [](const json& v) { return notepack::encode(v); });
  check_fixpoint(input, cluster::decode_broadcast, cluster::encode_broadcast);
  check_fixpoint(input, cluster::decode_request, cluster::encode_request);
  check_fixpoint(input, cluster::decode_response, cluster::encode_response);

  for (const auto& c : {cluster::channels_for("socket.io", "/"), cluster::channels_for("k", "/custom")}) {
    if (const auto room = cluster::room_of_channel(c, input)) {
      FUZZ_CHECK(c.room(*room) == input || (room->empty() && (input == c.broadcast || input == c.broadcast + "#")));
    }
  }
  return 0;
}
