// Bounds on open TCP connections, in total and per source address. A connection holds
// a slot from accept until its socket closes (also after a WebSocket upgrade); a
// connection that gets no slot is refused with a clear answer (HTTP 503, or WebSocket
// close 1013), never left hanging.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace hub::http {

struct connection_caps {
  std::size_t max_total = 50000;    // --max-connections (also bounded by RLIMIT_NOFILE at start)
  std::size_t max_per_address = 0;  // --max-connections-per-address; 0: no bound (see docs/operations.md)
};

class connection_limits : public std::enable_shared_from_this<connection_limits> {
 public:
  explicit connection_limits(connection_caps caps) : caps_(caps) {}

  enum class refusal { none, total, per_address };

  // Held while the connection is open; releasing it (destruction) frees the slot.
  class slot {
   public:
    slot(std::shared_ptr<connection_limits> owner, std::string address)
      : owner_(std::move(owner)), address_(std::move(address)) {}
    ~slot() { owner_->release(address_); }
    slot(const slot&) = delete;
    slot& operator=(const slot&) = delete;

   private:
    std::shared_ptr<connection_limits> owner_;
    std::string address_;
  };

  // A slot, or why there is none.
  std::shared_ptr<slot> acquire(const std::string& address, refusal& why);

  std::size_t open() const { return open_.load(std::memory_order_relaxed); }
  const connection_caps& caps() const { return caps_; }

 private:
  void release(const std::string& address);

  connection_caps caps_;
  std::atomic<std::size_t> open_{0};
  std::mutex mutex_;
  std::unordered_map<std::string, std::size_t> per_address_;  // only while max_per_address > 0
};

}  // namespace hub::http
