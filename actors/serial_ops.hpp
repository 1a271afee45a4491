// Asynchronous operations inside one actor, one at a time: the next starts only when
// the running one calls done(). The chat room's reaction writes and the user mailbox's
// inbox writes use it, so that each write is built from the state the previous one
// left (no two writes of the same record in flight).
#pragma once

#include "util/small_fifo.hpp"

#include <functional>
#include <utility>

namespace hub {

class serial_ops {
 public:
  void push(std::function<void()> op) {
    queue_.push_back(std::move(op));
    if (!busy_) next();
  }

  // The running operation finished (successfully or not): start the next one.
  void done() { next(); }

 private:
  void next() {
    busy_ = !queue_.empty();
    if (!busy_) return;
    auto op = std::move(queue_.front());
    queue_.pop_front();
    op();
  }

  small_fifo<std::function<void()>> queue_;  // no memory while idle
  bool busy_ = false;
};

}  // namespace hub
