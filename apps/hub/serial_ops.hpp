// Asynchronous operations inside one actor, one at a time: the next starts only when
// the running one calls done(). The chat room's reaction, membership and read-marker
// writes and the user mailbox's inbox writes use it, so that each write is built from
// the state the previous one left (no two writes of the same record in flight).
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
  // A loop, not a recursion: an operation that finishes at once (calls done() before it
  // returns) lets the loop start the next one, so a long queue of such operations does
  // not grow the stack.
  void next() {
    if (running_) {
      again_ = true;
      return;
    }
    running_ = true;
    do {
      again_ = false;
      busy_ = !queue_.empty();
      if (!busy_) break;
      auto op = std::move(queue_.front());
      queue_.pop_front();
      op();
    } while (again_);
    running_ = false;
  }

  small_fifo<std::function<void()>> queue_;  // no memory while idle
  bool busy_ = false;
  bool running_ = false;  // inside next()
  bool again_ = false;    // done() was called from inside the running operation
};

}  // namespace hub
