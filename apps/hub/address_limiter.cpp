#include "apps/hub/address_limiter.hpp"

namespace hub::app {

std::int64_t address_limiter::blocked_ms(const std::string& address, clock::time_point now) const {
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(address);
  return it == buckets_.end() ? 0 : it->second.wait_ms(now, limit_);
}

void address_limiter::failed(const std::string& address, clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (buckets_.size() >= max_ && !buckets_.count(address)) tidy(now);
  buckets_[address].take(now, limit_);
}

std::size_t address_limiter::tracked() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

void address_limiter::tidy(clock::time_point now) {
  std::erase_if(buckets_, [now](const auto& entry) { return entry.second.full(now); });
  // Still full: many addresses failing at once (a spread-out attack). Forgetting some
  // lets them try a little sooner; refusing every new address would lock out clients.
  for (auto it = buckets_.begin(); it != buckets_.end() && buckets_.size() >= max_ / 2;) it = buckets_.erase(it);
}

}  // namespace hub::app
