// Name -> actor lookup that spawns on first use: the directory of chat rooms and user
// mailboxes. A lookup table, not domain state, so a mutex-protected map is enough and
// avoids an actor round trip on every event; the actors it names hold the state.
// `Handle` is the actors' typed handle (chat_room_actor, user_actor).
#pragma once

#include <caf/send.hpp>
#include <caf/exit_reason.hpp>

#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace hub {

template <class Handle>
class actor_registry {
 public:
  using factory = std::function<Handle(const std::string& name)>;

  explicit actor_registry(factory f) : factory_(std::move(f)) {}

  // The actor named `name`, spawned on first use; an invalid handle after clear().
  Handle get(const std::string& name) {
    std::lock_guard lock(mutex_);
    if (closed_) return Handle{};
    auto& a = actors_[name];
    if (!a) a = factory_(name);
    return a;
  }

  // The actor named `name` if it runs already (invalid otherwise): never spawns.
  Handle find(const std::string& name) const {
    std::lock_guard lock(mutex_);
    auto it = actors_.find(name);
    return it == actors_.end() ? Handle{} : it->second;
  }

  // Calls `f(name, actor)` for every actor, under the lock: `f` must only send.
  template <class F>
  void for_each(F f) const {
    std::lock_guard lock(mutex_);
    for (const auto& [name, a] : actors_) f(name, a);
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return actors_.size();
  }

  // Shutdown: asks every actor to exit (after the messages already queued for it) and
  // drops the handles. An exit is needed because a pending timer (a rate-limit window,
  // say) keeps an actor alive until it fires. No actor is spawned afterwards (a room
  // still notifying a user mailbox must not start one that nobody stops).
  void clear() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (auto& [name, a] : actors_) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    actors_.clear();
  }

 private:
  factory factory_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Handle> actors_;
  bool closed_ = false;
};

}  // namespace hub
