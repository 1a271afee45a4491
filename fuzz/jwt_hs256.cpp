// Token verification: jwt_hs256::verify on arbitrary tokens. Byte 0 picks the mode
// and the rules: bit 3 set, the rest is the header's and the claims' JSON text
// separated by '\n', which the harness base64url-encodes (so that mutations hit the
// JSON, not its base64); bit 0 set, the harness signs the token itself (appends "." and
// a valid signature for the secret), so that the fuzzer reaches the header and claims
// checks behind the MAC; bits 1-2 turn on the audience and issuer rules. Invariants: a token
// is accepted only if its signature part is exactly base64url(HMAC-SHA256(secret,
// header.claims)) (computed here independently), never under another secret, and
// only with claims that pass the rules; what is accepted signs and verifies again.
#include "fuzz/check.hpp"
#include "apps/hub/jwt_hs256.hpp"
#include "protocol/base64.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace {

namespace jwt = hub::app::jwt_hs256;
using hub::json;

constexpr std::string_view secret = "fuzz-secret-0123456789abcdef0123456789";
constexpr std::string_view other_secret = "fuzz-secret-0123456789abcdef012345678X";
constexpr std::int64_t now = 1'700'000'000;

std::string mac_of(std::string_view key, std::string_view text) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(text.data()),
       text.size(), mac, &n);
  return hub::base64::encode_url(std::string_view(reinterpret_cast<const char*>(mac), n));
}

double seconds(const json& v) { return v.get<double>(); }

void check_accepted(std::string_view token, const json& claims, const jwt::rules& r) {
  const auto dot2 = token.rfind('.');
  FUZZ_CHECK(dot2 != std::string_view::npos);
  FUZZ_CHECK(token.substr(dot2 + 1) == mac_of(secret, token.substr(0, dot2)));
  FUZZ_CHECK(claims.is_object());
  const auto& exp = claims.at("exp");
  FUZZ_CHECK(exp.is_number() && std::isfinite(seconds(exp)));
  FUZZ_CHECK(static_cast<double>(now) < seconds(exp) + static_cast<double>(r.leeway.count()));
  const auto& sub = claims.at("sub");
  FUZZ_CHECK(sub.is_string() && !sub.get<std::string>().empty());
  if (r.issuer) FUZZ_CHECK(claims.at("iss") == *r.issuer);
  if (r.audience) FUZZ_CHECK(claims.contains("aud"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t mode = data[0];
  std::string token(reinterpret_cast<const char*>(data + 1), size - 1);
  if (mode & 8) {
    const auto newline = token.find('\n');
    std::string claims = newline == std::string::npos ? std::string() : token.substr(newline + 1);
    token = hub::base64::encode_url(token.substr(0, newline)) + '.' + hub::base64::encode_url(claims);
  }
  if (mode & 1) {
    const std::string signing_input = token;
    token += '.';
    token += mac_of(secret, signing_input);
  }
  jwt::rules r;
  r.secret = secret;
  if (mode & 2) r.audience = "hub";
  if (mode & 4) r.issuer = "auth";

  auto result = jwt::verify(token, r, now);
  jwt::rules other = r;
  other.secret = other_secret;
  FUZZ_CHECK(!std::holds_alternative<json>(jwt::verify(token, other, now)));
  if (auto* f = std::get_if<jwt::failure>(&result)) {
    FUZZ_CHECK(!jwt::to_string(*f).empty());
    return 0;
  }
  const json& claims = std::get<json>(result);
  check_accepted(token, claims, r);

  // Signed again (as the development endpoint signs), the claims verify unchanged.
  auto again = jwt::verify(jwt::sign(claims, secret), r, now);
  FUZZ_CHECK(std::holds_alternative<json>(again) && std::get<json>(again) == claims);
  return 0;
}
