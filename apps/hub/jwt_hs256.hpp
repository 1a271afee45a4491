// Verification of the HS256 JWTs that Project Hub's backend signs (RFC 7519 on JWS,
// RFC 7515). Ours rather than cpp-jwt's decode: that one reads `alg`, `typ` and claims
// with throwing accessors outside its own try (a header {"alg":0} ended the process),
// decodes base64 leniently and parses the payload without a depth bound. Here nothing
// but a well-formed HS256 token passes, every failure is a value, and the MAC is
// OpenSSL's HMAC compared in constant time. Pure: no I/O (the clock is a parameter).
#pragma once

#include "protocol/json_args.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace hub::app::jwt_hs256 {

enum class failure {
  too_long,               // more than max_token_bytes
  malformed,              // not three base64url parts, or a part is not a JSON object
  unsupported_algorithm,  // alg is not "HS256", typ is not "JWT", or crit is present
  bad_signature,
  bad_claims,  // exp missing or not a number, sub not a non-empty string, ...
  expired,
  not_yet_valid,  // nbf in the future
  wrong_audience,
  wrong_issuer,
};

std::string_view to_string(failure f);

inline constexpr std::size_t max_token_bytes = 8 * 1024;

struct rules {
  std::string_view secret;
  std::optional<std::string> audience;  // when set, `aud` must be it or hold it
  std::optional<std::string> issuer;    // when set, `iss` must equal it
  std::chrono::seconds leeway{30};      // clock skew allowed on exp and nbf
};

// The claims of a valid token; `now` is Unix time in seconds.
std::variant<json, failure> verify(std::string_view token, const rules& r, std::int64_t now);

// Signs `claims` (an object) as an HS256 token; for tests and the development endpoint.
std::string sign(const json& claims, std::string_view secret);

}  // namespace hub::app::jwt_hs256
