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

}  // namespace hub::base64
