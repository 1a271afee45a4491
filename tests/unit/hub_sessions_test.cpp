// Session rules of the hub that need no actors: what a CONNECT refusal says and whether
// it counts as a guess, when a token's session ends, revocations, and the emoji
// allow-list for reactions.
#include "apps/hub/auth.hpp"
#include "apps/hub/jwt_hs256.hpp"
#include "apps/hub/payloads.hpp"
#include "apps/hub/revocations.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using namespace hub;
namespace jws = app::jwt_hs256;

namespace {

constexpr std::string_view key = "0123456789abcdef0123456789abcdef";

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string token(std::int64_t exp_from_now, std::optional<std::int64_t> iat = std::nullopt,
                  std::string_view secret = key) {
  json claims{{"sub", "u1"}, {"exp", unix_now() + exp_from_now}};
  if (iat) claims["iat"] = *iat;
  return jws::sign(claims, secret);
}

}  // namespace

TEST_CASE("hub: CONNECT refusals say why, and only guesses count against the address", "[hub][auth]") {
  app::authenticator auth(std::string(key), false,
                          app::token_checks{std::nullopt, std::nullopt, std::chrono::seconds(0)});
  using refusal = app::authenticator::refusal;
  auto expired = auth.authenticate(json{{"token", token(-10)}});
  REQUIRE(std::holds_alternative<refusal>(expired));
  CHECK(std::get<refusal>(expired).message == "Token expired");
  CHECK_FALSE(std::get<refusal>(expired).guess);
  // An expired token signed with another key is a guess like any bad signature.
  auto forged = auth.authenticate(json{{"token", token(-10, std::nullopt, "another key of thirty-two bytes!")}});
  REQUIRE(std::holds_alternative<refusal>(forged));
  CHECK(std::get<refusal>(forged).message == "Authentication failed");
  CHECK(std::get<refusal>(forged).guess);
  for (const json& bad : {json{{"token", 5}}, json{{"token", "x.y.z"}}, json::object()}) {
    INFO(bad.dump());
    auto r = auth.authenticate(bad);
    REQUIRE(std::holds_alternative<refusal>(r));
    CHECK(std::get<refusal>(r).guess);
  }
  auto ok = auth.authenticate(json{{"token", token(60, 1234)}});
  REQUIRE(std::holds_alternative<app::identity>(ok));
  CHECK(std::get<app::identity>(ok).issued_at == 1234);
}

TEST_CASE("hub: a token's session ends one second past what verification still accepts", "[hub][auth]") {
  app::authenticator auth(std::string(key), false,
                          app::token_checks{std::nullopt, std::nullopt, std::chrono::seconds(30)});
  auto who = auth.verify_token(token(100));
  REQUIRE(who);
  auto end = auth.session_end(*who);
  REQUIRE(end);
  CHECK(*end == std::chrono::system_clock::time_point(std::chrono::seconds(who->expires_at + 31)));
  app::identity dev;  // development mode: no token, no end
  CHECK_FALSE(auth.session_end(dev));
  // Tokens we sign carry iat (revocation needs it).
  auto signed_here = auth.verify_token(auth.sign(*who, std::chrono::seconds(60)));
  REQUIRE(signed_here);
  CHECK(signed_here->issued_at >= unix_now() - 2);
}

TEST_CASE("hub: revocations cover tokens issued at or before, survive a reload, never go back", "[hub][auth]") {
  app::revocations r;
  app::identity who;
  who.user_id = "u1";
  who.expires_at = 2'000'000'000;
  who.issued_at = 1000;
  CHECK_FALSE(r.revoked(who));
  r.revoke("u1", 1000);
  CHECK(r.revoked(who));  // same second: revoked
  who.issued_at = 1001;
  CHECK_FALSE(r.revoked(who));
  who.issued_at = 0;  // no iat: cannot be told apart, refused
  CHECK(r.revoked(who));
  r.revoke("u1", 500);  // an older revocation does not undo a newer one
  who.issued_at = 900;
  CHECK(r.revoked(who));
  app::identity other = who;
  other.user_id = "u2";
  CHECK_FALSE(r.revoked(other));
  app::identity dev;
  dev.user_id = "u1";  // development identity without a token
  CHECK_FALSE(r.revoked(dev));

  app::revocations loaded;
  CHECK(loaded.load({{"revoked/u1", "1000"}, {"revoked/u3", "12x"}, {"revoked/", "5"}, {"other", "7"}}) == 3);
  CHECK(loaded.size() == 1);
  who.issued_at = 1000;
  CHECK(loaded.revoked(who));
  CHECK(hub::keys::revoked("u1") == "revoked/u1");
}

TEST_CASE("hub: reactions take emoji from the allow-list only", "[hub][payloads]") {
  for (const char* good : {"👍", "❤️", "👍🏽", "👨‍👩‍👧", "🇫🇷", "1️⃣", "#️⃣", "©️", "✅",
                           "⭐", "🏳️‍🌈", "☺"}) {
    INFO(good);
    CHECK(app::valid_emoji(json(good)));
  }
  for (const char* bad : {"", "x", "ok", "1", "<b>", "👍x", "a👍", " 👍", "👍 ", "\u200d", "\ufe0f", "\u200d👍", "1\ufe0f",
                          "é", "\xf0\x9f\x91", "👍👍👍👍👍👍👍👍👍👍👍"}) {
    INFO(bad);
    CHECK_FALSE(app::valid_emoji(json(bad)));
  }
  CHECK_FALSE(app::valid_emoji(json(5)));
  CHECK_FALSE(app::valid_emoji(json()));
}
