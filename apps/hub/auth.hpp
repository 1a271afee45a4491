// Who a client is. Identity comes from the handshake (a JWT signed by Project Hub's
// backend, or development mode), never from ids inside event payloads.
#pragma once

#include "net/protocol/json_args.hpp"

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
  bool all_projects = false;  // development mode grants every project
  bool may_access(const std::string& project) const {
    return all_projects || projects.count(project) > 0;
  }
};

class authenticator {
 public:
  // `secret` empty and `dev_mode` false is refused at start (see hub_app).
  authenticator(std::string secret, bool dev_mode) : secret_(std::move(secret)), dev_(dev_mode) {}

  bool dev_mode() const { return dev_; }
  bool has_secret() const { return !secret_.empty(); }

  // Verifies an HS256 token with claims sub, name, projects, exp. nullopt if missing,
  // expired or badly signed.
  std::optional<identity> verify_token(const std::string& token) const;

  // The CONNECT auth object: {token} (always accepted when valid); in development
  // mode also {userId, userName}, or nothing at all (identity then comes from the
  // first join-user-room). Error: nullopt.
  struct anonymous {};
  std::optional<std::variant<identity, anonymous>> authenticate(const json& auth) const;

  // "Authorization: Bearer <jwt>" header value.
  std::optional<identity> from_bearer(const std::string& header) const;

  // Signs a token (development endpoint, tests). Requires a secret.
  std::string sign(const identity& who, std::chrono::seconds ttl) const;

 private:
  std::string secret_;
  bool dev_;
};

}  // namespace hub::app
