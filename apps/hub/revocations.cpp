#include "apps/hub/revocations.hpp"

#include <charconv>
#include <mutex>

namespace hub::app {

std::size_t revocations::load(const std::vector<std::pair<std::string, std::string>>& records) {
  std::size_t skipped = 0;
  for (const auto& [key, value] : records) {
    std::int64_t before = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), before);
    auto user = keys::parse_revoked(key);
    if (!user || ec != std::errc{} || end != value.data() + value.size()) {
      ++skipped;
      continue;
    }
    revoke(*user, before);
  }
  return skipped;
}

void revocations::revoke(const std::string& user, std::int64_t before) {
  std::unique_lock lock(mu_);
  auto& at = before_[user];
  if (before > at) at = before;
}

bool revocations::revoked(const identity& who) const {
  if (who.expires_at == 0) return false;  // no token
  std::shared_lock lock(mu_);
  auto it = before_.find(who.user_id);
  return it != before_.end() && (who.issued_at == 0 || who.issued_at <= it->second);
}

std::size_t revocations::size() const {
  std::shared_lock lock(mu_);
  return before_.size();
}

}  // namespace hub::app
