// Token verification: only a well-formed HS256 token with sane claims passes, and every
// hostile shape is a refusal (never a throw).
#include "apps/hub/auth.hpp"
#include "apps/hub/jwt_hs256.hpp"
#include "protocol/base64.hpp"

#include <catch2/catch.hpp>
#include <jwt/jwt.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>

using namespace hub;
using app::jwt_hs256::failure;
namespace jws = app::jwt_hs256;

namespace {

constexpr std::string_view test_key = "0123456789abcdef0123456789abcdef";
constexpr std::int64_t now = 1'800'000'000;

std::string b64(std::string_view s) { return base64::encode_url(s); }

// A token with any header and payload text, correctly signed with `test_key`.
std::string signed_raw(std::string_view header, std::string_view payload, std::string_view key = test_key) {
  const std::string head = b64(header) + "." + b64(payload);
  // The MAC over exactly this text (jws::sign would re-encode the JSON).
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(head.data()),
       head.size(), mac, &len);
  return head + "." + base64::encode_url(std::string_view(reinterpret_cast<const char*>(mac), len));
}

jws::rules rules_for(std::string_view key = test_key) {
  return jws::rules{key, std::nullopt, std::nullopt, std::chrono::seconds(30)};
}

std::variant<json, failure> check(const std::string& token, const jws::rules& r = rules_for()) {
  return jws::verify(token, r, now);
}

bool refused_as(const std::variant<json, failure>& v, failure f) {
  return std::holds_alternative<failure>(v) && std::get<failure>(v) == f;
}

}  // namespace

TEST_CASE("jwt: a token signed by cpp-jwt (another implementation) verifies", "[hub][jwt]") {
  using namespace jwt::params;
  jwt::jwt_object obj{algorithm("HS256"), secret(std::string(test_key))};
  obj.add_claim("sub", "alice");
  obj.add_claim("name", "Alice");
  obj.add_claim("exp", now + 60);
  auto v = check(obj.signature());
  REQUIRE(std::holds_alternative<json>(v));
  CHECK(std::get<json>(v)["sub"] == "alice");
}

TEST_CASE("jwt: RFC 7515-style vector (jwt.io's example) passes the signature check", "[hub][jwt]") {
  // No exp: the signature verifies, then the claims are refused (proves the MAC matched).
  const std::string token =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
  CHECK(refused_as(check(token, rules_for("your-256-bit-secret")), failure::bad_claims));
  CHECK(refused_as(check(token, rules_for("another-test_key")), failure::bad_signature));
}

TEST_CASE("jwt: sign and verify round trip; a wrong test_key is refused", "[hub][jwt]") {
  const auto token = jws::sign(json{{"sub", "bob"}, {"exp", now + 10}}, test_key);
  CHECK(std::holds_alternative<json>(check(token)));
  CHECK(refused_as(check(token, rules_for("fedcba9876543210fedcba9876543210")), failure::bad_signature));
  auto tampered = token;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  CHECK(std::holds_alternative<failure>(check(tampered)));
}

TEST_CASE("jwt: the header must be HS256 (and typ JWT when present)", "[hub][jwt]") {
  const std::string claims = R"({"sub":"a","exp":1800000060})";
  CHECK(std::holds_alternative<json>(check(signed_raw(R"({"alg":"HS256"})", claims))));
  CHECK(std::holds_alternative<json>(check(signed_raw(R"({"alg":"HS256","typ":"jwt"})", claims))));
  CHECK(refused_as(check(signed_raw(R"({"alg":0})", claims)), failure::unsupported_algorithm));
  CHECK(refused_as(check(signed_raw(R"({"alg":null})", claims)), failure::unsupported_algorithm));
  CHECK(refused_as(check(signed_raw(R"({"alg":"none"})", claims)), failure::unsupported_algorithm));
  CHECK(refused_as(check(signed_raw(R"({"alg":"HS512"})", claims)), failure::unsupported_algorithm));
  CHECK(refused_as(check(signed_raw(R"({"alg":"RS256"})", claims)), failure::unsupported_algorithm));
  CHECK(refused_as(check(signed_raw(R"({"typ":"JWT"})", claims)), failure::unsupported_algorithm));
  CHECK(refused_as(check(signed_raw(R"({"alg":"HS256","typ":7})", claims)), failure::unsupported_algorithm));
  CHECK(refused_as(check(signed_raw(R"({"alg":"HS256","typ":"JOSE+JSON"})", claims)), failure::unsupported_algorithm));
  CHECK(refused_as(check(signed_raw(R"({"alg":"HS256","crit":["exp"]})", claims)), failure::unsupported_algorithm));
  CHECK(refused_as(check(signed_raw(R"([1,2])", claims)), failure::malformed));
  CHECK(refused_as(check(signed_raw(R"("HS256")", claims)), failure::malformed));
  CHECK(refused_as(check(signed_raw(R"({"alg":"HS256")", claims)), failure::malformed));
}

TEST_CASE("jwt: the issue's token {\"alg\":0} is refused, not thrown", "[hub][jwt]") {
  CHECK(refused_as(check("eyJhbGciOjB9.e30.x"), failure::unsupported_algorithm));
  app::authenticator auth(std::string(test_key), false);
  CHECK_FALSE(auth.verify_token("eyJhbGciOjB9.e30.x"));
  CHECK_FALSE(auth.from_bearer("Bearer eyJhbGciOjB9.e30.x"));
}

TEST_CASE("jwt: structure: three non-empty base64url parts, bounded length", "[hub][jwt]") {
  const auto good = jws::sign(json{{"sub", "a"}, {"exp", now + 10}}, test_key);
  CHECK(refused_as(check(""), failure::malformed));
  CHECK(refused_as(check("abc"), failure::malformed));
  CHECK(refused_as(check("a.b"), failure::malformed));
  CHECK(refused_as(check("a.b.c.d"), failure::malformed));
  CHECK(refused_as(check(good + "."), failure::malformed));
  CHECK(refused_as(check(".." + good), failure::malformed));
  CHECK(refused_as(check("%%%.&&&.***"), failure::malformed));
  // Padding and the standard alphabet are not base64url.
  auto padded = good;
  padded.insert(padded.find('.'), "=");
  CHECK(refused_as(check(padded), failure::malformed));
  CHECK(refused_as(check(std::string(9000, 'a') + ".b.c"), failure::too_long));
}

TEST_CASE("jwt: the signature is checked before the claims are parsed", "[hub][jwt]") {
  // A deep payload with a bad signature is never parsed; a signed one is bounded.
  // (2,500 levels: within max_token_bytes, far past the depth bound.)
  const std::string deep = std::string(2500, '[') + std::string(2500, ']');
  CHECK(refused_as(check(b64(R"({"alg":"HS256"})") + "." + b64(deep) + ".eA"), failure::bad_signature));
  const std::string deep_signed = signed_raw(R"({"alg":"HS256"})", std::string(500, '[') + std::string(500, ']'));
  CHECK(std::holds_alternative<failure>(check(deep_signed)));
}

TEST_CASE("jwt: claims: exp required, sub a non-empty string, numbers where numbers go", "[hub][jwt]") {
  const std::string h = R"({"alg":"HS256","typ":"JWT"})";
  CHECK(refused_as(check(signed_raw(h, R"({"sub":"a"})")), failure::bad_claims));
  CHECK(refused_as(check(signed_raw(h, R"({"sub":"a","exp":"never"})")), failure::bad_claims));
  CHECK(refused_as(check(signed_raw(h, R"({"sub":"a","exp":null})")), failure::bad_claims));
  CHECK(refused_as(check(signed_raw(h, R"({"exp":1800000060})")), failure::bad_claims));
  CHECK(refused_as(check(signed_raw(h, R"({"sub":"","exp":1800000060})")), failure::bad_claims));
  CHECK(refused_as(check(signed_raw(h, R"({"sub":7,"exp":1800000060})")), failure::bad_claims));
  CHECK(refused_as(check(signed_raw(h, R"({"sub":"a","exp":1800000060,"nbf":"x"})")), failure::bad_claims));
  CHECK(refused_as(check(signed_raw(h, R"({"sub":"a","exp":1800000060,"iat":[]})")), failure::bad_claims));
  CHECK(refused_as(check(signed_raw(h, R"(["sub","a"])")), failure::malformed));
  CHECK(std::holds_alternative<json>(check(signed_raw(h, R"({"sub":"a","exp":1800000060.5})"))));
}

TEST_CASE("jwt: exp and nbf with the clock leeway", "[hub][jwt]") {
  auto token = [](std::int64_t exp, std::optional<std::int64_t> nbf = {}) {
    json c{{"sub", "a"}, {"exp", exp}};
    if (nbf) c["nbf"] = *nbf;
    return jws::sign(c, test_key);
  };
  CHECK(std::holds_alternative<json>(check(token(now + 1))));
  CHECK(std::holds_alternative<json>(check(token(now - 29))));  // within 30 s of leeway
  CHECK(refused_as(check(token(now - 30)), failure::expired));
  CHECK(refused_as(check(token(now - 3600)), failure::expired));
  CHECK(std::holds_alternative<json>(check(token(now + 60, now + 29))));
  CHECK(refused_as(check(token(now + 600, now + 31)), failure::not_yet_valid));
  auto strict = rules_for();
  strict.leeway = std::chrono::seconds(0);
  CHECK(refused_as(check(token(now), strict), failure::expired));
}

TEST_CASE("jwt: --jwt-audience and --jwt-issuer", "[hub][jwt]") {
  auto r = rules_for();
  r.audience = "project-hub";
  r.issuer = "https://hub.example";
  auto with = [](json extra) {
    json c{{"sub", "a"}, {"exp", now + 60}};
    for (auto& [k, v] : extra.items()) c[k] = v;
    return jws::sign(c, test_key);
  };
  CHECK(std::holds_alternative<json>(check(with({{"aud", "project-hub"}, {"iss", "https://hub.example"}}), r)));
  CHECK(std::holds_alternative<json>(
    check(with({{"aud", json::array({"other", "project-hub"})}, {"iss", "https://hub.example"}}), r)));
  CHECK(refused_as(check(with({{"aud", "other"}, {"iss", "https://hub.example"}}), r), failure::wrong_audience));
  CHECK(refused_as(check(with({{"iss", "https://hub.example"}}), r), failure::wrong_audience));
  CHECK(refused_as(check(with({{"aud", "project-hub"}, {"iss", "https://evil.example"}}), r), failure::wrong_issuer));
  CHECK(refused_as(check(with({{"aud", "project-hub"}}), r), failure::wrong_issuer));
  // Without the options, aud and iss are not required.
  CHECK(std::holds_alternative<json>(check(with({}))));
}

TEST_CASE("jwt: the authenticator maps claims to an identity", "[hub][jwt]") {
  app::authenticator auth(std::string(test_key), false);
  const auto exp =
    std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() + 600;
  auto who = auth.verify_token(
    jws::sign(json{{"sub", "u1"}, {"name", "Uma"}, {"projects", json::array({"p1", 7, json::object()})}, {"exp", exp}},
              test_key));
  REQUIRE(who);
  CHECK(who->user_id == "u1");
  CHECK(who->name == "Uma");
  CHECK(who->projects == std::set<std::string>{"p1", "7"});
  CHECK(who->expires_at == exp);
  auto nameless = auth.verify_token(jws::sign(json{{"sub", "u2"}, {"name", 5}, {"exp", exp}}, test_key));
  REQUIRE(nameless);
  CHECK(nameless->name == "u2");
}
