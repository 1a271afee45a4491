// One actor per user (the user's mailbox): the per-user rate limiter now; the
// notification inbox and unread counts join it with the notification work.
#pragma once

#include "actors/hub_messages.hpp"

#include <chrono>
#include <cstddef>

namespace hub {

struct rate_limit {
  std::size_t count = 10;                    // accepted messages ...
  std::chrono::milliseconds window{60000};   // ... per window
};

// `rate_take` answers (true, 0) and counts one message, or (false, retry_after_ms)
// when the user already sent `count` messages in the last `window`. Each accepted
// message frees its slot on an actor timer `window` later: nothing sleeps.
caf::actor spawn_user_actor(caf::actor_system& sys, std::string user, rate_limit limit);

}  // namespace hub
