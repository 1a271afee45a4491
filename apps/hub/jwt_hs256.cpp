#include "apps/hub/jwt_hs256.hpp"

#include "protocol/base64.hpp"
#include "protocol/json_limits.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cmath>
#include <strings.h>

namespace hub::app::jwt_hs256 {
namespace {

// A JWT's header and claims are flat; this is generous and still cheap to hold.
constexpr json_limits token_json_limits{8, 64};

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac.data(), &length);
  return std::string(reinterpret_cast<const char*>(mac.data()), length);
}

std::optional<json> decode_part(std::string_view part) {
  auto bytes = base64::decode_url(part);
  if (!bytes) return std::nullopt;
  auto value = json_bounds::parse(*bytes, token_json_limits);
  if (!value || !value->is_object()) return std::nullopt;
  return value;
}

bool is_finite_number(const json& v) {
  return v.is_number() && (!v.is_number_float() || std::isfinite(v.get<double>()));
}

// Seconds as a double: NumericDate may be fractional (RFC 7519 §2).
double seconds_of(const json& v) { return v.get<double>(); }

}  // namespace

std::string_view to_string(failure f) {
  switch (f) {
    case failure::too_long: return "token too long";
    case failure::malformed: return "malformed token";
    case failure::unsupported_algorithm: return "unsupported token algorithm";
    case failure::bad_signature: return "bad token signature";
    case failure::bad_claims: return "invalid token claims";
    case failure::expired: return "token expired";
    case failure::not_yet_valid: return "token not yet valid";
    case failure::wrong_audience: return "wrong token audience";
    case failure::wrong_issuer: return "wrong token issuer";
  }
  return "malformed token";
}

std::variant<json, failure> verify(std::string_view token, const rules& r, std::int64_t now) {
  if (token.size() > max_token_bytes) return failure::too_long;
  const auto dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return failure::malformed;
  const auto dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) return failure::malformed;
  const auto header_part = token.substr(0, dot1);
  const auto claims_part = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const auto signature_part = token.substr(dot2 + 1);
  if (header_part.empty() || claims_part.empty() || signature_part.empty()) return failure::malformed;

  auto header = decode_part(header_part);
  if (!header) return failure::malformed;
  const auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() || alg->get<std::string>() != "HS256")
    return failure::unsupported_algorithm;
  if (const auto typ = header->find("typ"); typ != header->end()) {
    if (!typ->is_string() || strcasecmp(typ->get<std::string>().c_str(), "JWT") != 0)
      return failure::unsupported_algorithm;
  }
  // An extension we would have to understand (RFC 7515 §4.1.11): we understand none.
  if (header->contains("crit")) return failure::unsupported_algorithm;

  // The signature before the claims: nothing in an unauthenticated payload is looked at.
  auto signature = base64::decode_url(signature_part);
  if (!signature) return failure::malformed;
  const std::string expected = hmac_sha256(r.secret, token.substr(0, dot2));
  if (signature->size() != expected.size() || CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0)
    return failure::bad_signature;

  auto claims = decode_part(claims_part);
  if (!claims) return failure::malformed;
  const json& c = *claims;
  const auto exp = c.find("exp");
  if (exp == c.end() || !is_finite_number(*exp)) return failure::bad_claims;
  const auto sub = c.find("sub");
  if (sub == c.end() || !sub->is_string() || sub->get<std::string>().empty()) return failure::bad_claims;
  for (const char* name : {"nbf", "iat"}) {
    const auto v = c.find(name);
    if (v != c.end() && !is_finite_number(*v)) return failure::bad_claims;
  }
  const double leeway = static_cast<double>(r.leeway.count());
  const double at = static_cast<double>(now);
  if (at >= seconds_of(*exp) + leeway) return failure::expired;
  if (const auto nbf = c.find("nbf"); nbf != c.end() && at + leeway < seconds_of(*nbf)) return failure::not_yet_valid;
  if (r.issuer) {
    const auto iss = c.find("iss");
    if (iss == c.end() || !iss->is_string() || iss->get<std::string>() != *r.issuer) return failure::wrong_issuer;
  }
  if (r.audience) {
    const auto aud = c.find("aud");
    bool match = false;
    if (aud != c.end() && aud->is_string()) match = aud->get<std::string>() == *r.audience;
    if (aud != c.end() && aud->is_array())
      for (const auto& a : *aud) match = match || (a.is_string() && a.get<std::string>() == *r.audience);
    if (!match) return failure::wrong_audience;
  }
  return std::move(*claims);
}

std::string sign(const json& claims, std::string_view secret) {
  std::string text = base64::encode_url(R"({"alg":"HS256","typ":"JWT"})");
  text += '.';
  text += base64::encode_url(claims.dump(-1, ' ', false, json::error_handler_t::replace));
  const std::string mac = hmac_sha256(secret, text);
  text += '.';
  text += base64::encode_url(mac);
  return text;
}

}  // namespace hub::app::jwt_hs256
