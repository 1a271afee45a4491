// Standard base64 (RFC 4648, with padding), as Engine.IO polling uses for binary.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hub::base64 {

std::string encode(std::string_view bytes);

// Appends the encoding of `bytes` to `out` (avoids a temporary on the hot path).
void encode_append(std::string& out, std::string_view bytes);

// Returns nullopt for input that is not valid padded standard base64.
std::optional<std::string> decode(std::string_view text);

// base64url without padding (RFC 4648 §5, as JWS uses it, RFC 7515 §2). Strict: only
// the URL alphabet, no '=', no length that leaves a lone character, and the unused low
// bits of the last character zero, so that every byte string has one accepted text.
std::optional<std::string> decode_url(std::string_view text);

// The reverse (no padding).
std::string encode_url(std::string_view bytes);

}  // namespace hub::base64
