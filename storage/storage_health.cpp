#include "storage/storage_health.hpp"

#include <algorithm>
#include <utility>

namespace hub::storage {

bool storage_health::on_failure(std::string error, clock::time_point now) {
  error_ = std::move(error);
  ++episode_failures_;
  ++unlogged_;
  if (failing_) return false;
  failing_ = true;
  since_ = now;
  retry_ = std::chrono::milliseconds{0};
  last_warning_.reset();  // a new episode warns at once
  return true;
}

bool storage_health::on_success(clock::time_point) {
  if (!failing_) return false;
  failing_ = false;
  error_.clear();
  episode_failures_ = 0;
  unlogged_ = 0;
  retry_ = std::chrono::milliseconds{0};
  last_warning_.reset();
  return true;
}

std::chrono::milliseconds storage_health::next_retry() {
  retry_ = retry_.count() == 0 ? cfg_.first_retry : std::min(retry_ * 2, cfg_.max_retry);
  return retry_;
}

std::optional<std::uint64_t> storage_health::warning_due(clock::time_point now) {
  if (!failing_ || unlogged_ == 0) return std::nullopt;
  if (last_warning_ && now - *last_warning_ < cfg_.log_interval) return std::nullopt;
  last_warning_ = now;
  return std::exchange(unlogged_, 0);
}

}  // namespace hub::storage
