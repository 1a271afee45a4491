// Revoked sessions. POST /api/users/:userId/revoke (API key) ends the user's live
// sessions and, from then on, refuses every token of theirs issued (iat) at or before
// that second: the backend revokes after a password change or a removal, then signs
// new tokens from the next second on. A token without iat cannot be told apart, so it
// is refused while the user has a revocation on record.
//
// Durable: each revocation is the kv record "revoked/<user>" = Unix seconds, read back
// at start (load). Read by connection actors and HTTP handlers on many threads at
// once, written rarely: a shared mutex.
#pragma once

#include "apps/hub/auth.hpp"
#include "storage/keys.hpp"

#include <cstdint>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hub::app {

class revocations {
 public:
  // Records as stored (keys::revoked(user), Unix seconds as decimal text); malformed ones are skipped
  // and counted in the result.
  std::size_t load(const std::vector<std::pair<std::string, std::string>>& records);

  // Tokens of `user` issued at or before `before` (Unix seconds) are revoked. A later
  // revocation replaces an earlier one; an earlier one is ignored.
  void revoke(const std::string& user, std::int64_t before);

  // True when `who` authenticated with a token that a revocation covers. Development
  // identities without a token are never revoked.
  bool revoked(const identity& who) const;

  std::size_t size() const;

 private:
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::int64_t> before_;
};

}  // namespace hub::app
