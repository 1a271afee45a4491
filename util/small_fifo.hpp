// A FIFO that holds no memory while it is empty. libstdc++'s std::deque allocates a
// 512-byte block and its map (576 bytes) as soon as it is constructed, which an actor
// that is idle most of its life (a user's mailbox) pays for every queue it has.
// push_back / front / pop_front / size / empty, amortised O(1).
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace hub {

template <class T>
class small_fifo {
 public:
  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }
  T& front() { return items_[head_]; }
  const T& front() const { return items_[head_]; }
  const T& back() const { return items_.back(); }

  void push_back(T value) { items_.push_back(std::move(value)); }

  void pop_front() {
    items_[head_] = T();  // release what it holds now, not at the next compaction
    if (++head_ == items_.size()) {
      std::vector<T>().swap(items_);  // empty: give the memory back
      head_ = 0;
    } else if (head_ >= 16 && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

 private:
  std::vector<T> items_;
  std::size_t head_ = 0;
};

}  // namespace hub
