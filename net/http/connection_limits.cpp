#include "net/http/connection_limits.hpp"

namespace hub::http {

std::shared_ptr<connection_limits::slot> connection_limits::acquire(const std::string& address, refusal& why) {
  why = refusal::none;
  if (open_.fetch_add(1, std::memory_order_relaxed) >= caps_.max_total) {
    open_.fetch_sub(1, std::memory_order_relaxed);
    why = refusal::total;
    return nullptr;
  }
  if (caps_.max_per_address > 0) {
    std::lock_guard lock(mutex_);
    auto& n = per_address_[address];
    if (n >= caps_.max_per_address) {
      if (n == 0) per_address_.erase(address);
      open_.fetch_sub(1, std::memory_order_relaxed);
      why = refusal::per_address;
      return nullptr;
    }
    ++n;
  }
  return std::make_shared<slot>(shared_from_this(), caps_.max_per_address > 0 ? address : std::string{});
}

void connection_limits::release(const std::string& address) {
  if (caps_.max_per_address > 0) {
    std::lock_guard lock(mutex_);
    auto it = per_address_.find(address);
    if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
  }
  open_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace hub::http
