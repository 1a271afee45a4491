// Who a client is. Identity comes from the handshake (a JWT signed by Project Hub's
// backend, or development mode), never from ids inside event payloads.
#pragma once

#include "apps/hub/jwt_hs256.hpp"
#include "protocol/json_args.hpp"

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <variant>

namespace hub::app {

struct identity {
  std::string user_id;
  std::string name;
  std::set<std::string> projects;
  bool all_projects = false;    // development mode grants every project
  std::int64_t expires_at = 0;  // the token's exp (Unix seconds); 0: no token (development mode)
  std::int64_t issued_at = 0;   // the token's iat (Unix seconds); 0: absent
  bool may_access(const std::string& project) const { return all_projects || projects.count(project) > 0; }
};

// Optional claim checks beyond the signature and exp (--jwt-audience, --jwt-issuer).
struct token_checks {
  std::optional<std::string> audience;
  std::optional<std::string> issuer;
  std::chrono::seconds leeway{30};
};

class authenticator {
 public:
  // `secret` empty and `dev_mode` false is refused at start (see hub_app).
  authenticator(std::string secret, bool dev_mode, token_checks checks = {})
    : secret_(std::move(secret)),
      dev_(dev_mode),
      rules_{secret_, std::move(checks.audience), std::move(checks.issuer), checks.leeway} {}
  authenticator(const authenticator&) = delete;  // rules_ views secret_
  authenticator& operator=(const authenticator&) = delete;

  bool dev_mode() const { return dev_; }
  bool has_secret() const { return !secret_.empty(); }

  // Verifies an HS256 token with claims sub, name, projects, exp (jwt_hs256::verify).
  std::variant<identity, jwt_hs256::failure> check_token(const std::string& token) const;
  // The same; nullopt for anything but a valid token.
  std::optional<identity> verify_token(const std::string& token) const;

  // The CONNECT auth object: {token} (always accepted when valid); in development
  // mode also {userId, userName}, or nothing at all (identity then comes from the
  // first join-user-room).
  struct anonymous {};
  struct refusal {
    std::string message;  // for connect_error: "Token expired" or "Authentication failed"
    bool guess = true;    // not a token we signed: counts against the address (--auth-failure-rate)
  };
  std::variant<identity, anonymous, refusal> authenticate(const json& auth) const;

  // The wall-clock moment a session on `who`'s token must end: exp plus the leeway a
  // reconnect with the same token would still get. nullopt without a token.
  std::optional<std::chrono::system_clock::time_point> session_end(const identity& who) const;

  // "Authorization: Bearer <jwt>" header value.
  std::optional<identity> from_bearer(const std::string& header) const;

  // Signs a token (development endpoint, tests). Requires a secret.
  std::string sign(const identity& who, std::chrono::seconds ttl) const;

 private:
  std::string secret_;
  bool dev_;
  jwt_hs256::rules rules_;
};

}  // namespace hub::app
