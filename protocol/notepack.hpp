// MessagePack as notepack.io 3.0.1 writes and reads it: the encoding of the Socket.IO
// Redis adapter's and emitter's messages (cluster_messages.hpp). A json value stands for
// the JavaScript value the Node side would hold (json::binary = a Buffer), so that what
// we publish decodes in Node to what a Node node would have published, and what Node
// publishes decodes here to what its JSON.stringify would show a client. Pure: no I/O.
#pragma once

#include "protocol/json_limits.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hub::notepack {

// Appends `v` encoded as notepack.io encodes the JavaScript value `v` stands for:
// numbers by value, not by JSON type (an integral float such as 1.0 or -0.0 is an
// integer, as JS has one number type), each in its smallest format; strings as
// fixstr/str8/16/32; binaries as bin8/16/32; object keys in JavaScript's order (integer
// keys such as "2" first, ascending, then the rest as inserted: what Object.keys gives).
// One deliberate difference: an integral number outside [-2^63, 2^64) is written as a
// float64, where notepack wraps it modulo 2^64 (1e20 would arrive as 7766279631452241920).
// Invalid UTF-8 in a string is written as U+FFFD, as a JS string would hold it.
void append(std::string& out, const json& v);
std::string encode(const json& v);

// The header of an array of `n` elements or a map of `n` pairs, as notepack frames them:
// the elements (each append()ed) follow. For messages put together without copying a
// payload into a tree first.
void append_array_header(std::string& out, std::size_t n);
void append_map_header(std::string& out, std::size_t n);

// No message has more values than this (with json_limits, bounds what a decode may build:
// about 64 bytes of tree per value). A 1 MB Socket.IO payload holds at most 500k values.
inline constexpr std::size_t max_values = 1'000'000;

// Decodes exactly one msgpack value filling `bytes`, as notepack.decode and then
// JSON.stringify would see it: bin -> json::binary; the undefined ext (fixext1 type 0) ->
// null, and a map member whose value is undefined is left out (as JS's encoders drop it);
// a map key "__proto__" is left out (JS sets the prototype instead of a member);
// a timestamp ext (-1, and notepack's legacy date fixext8 type 0) -> its ISO 8601 text
// (Date.toJSON), or null when out of Date's range; ext type 0 of ext8/16/32 (notepack's
// legacy ArrayBuffer) -> json::binary; any other ext -> [type, binary] as notepack returns
// it; number keys -> their JS text; invalid UTF-8 -> U+FFFD (as Buffer.toString does).
// Refused, with nullopt and a reason in `*error`: truncated input, trailing bytes, the
// never-used byte 0xc1, nesting deeper than limits.max_depth (the root container is depth
// 1), a map of more than limits.max_object_members pairs, more declared elements than the
// input has bytes or than max_values (checked before anything is built), keys that are
// not strings or numbers, and a timestamp ext of the wrong size. Never throws.
std::optional<json> decode(std::string_view bytes, const json_limits& limits, std::string* error = nullptr);

// -- JavaScript's view of values, shared with the JSON half of the wire ----------------

// Number.prototype.toString(): "1", "1.5", "1e+21", "1e-7", "NaN", "Infinity".
std::string js_number_text(double d);

// `bytes` as JavaScript reads them from a Buffer (buf.toString("utf8")): each maximal
// invalid subsequence replaced by U+FFFD (the WHATWG decoder's rule).
std::string utf8_or_replacement(std::string_view bytes);

// Whether `key` is an array index ("0", "1", ..., "4294967294"), which Object.keys lists
// before the other keys, in ascending order.
bool is_array_index(std::string_view key);

// The members of `object` (a json object) in the order Object.keys lists them.
std::vector<json::const_iterator> js_key_order(const json& object);

}  // namespace hub::notepack
