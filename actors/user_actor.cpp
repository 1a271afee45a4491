#include "actors/user_actor.hpp"

#include "util/metrics.hpp"

#include <deque>

namespace hub {
namespace {

struct user_state {
  std::string user;
  rate_limit limit;
  // When each message still inside the window was accepted (clock of the actor, which
  // is virtual under the deterministic scheduler).
  std::deque<caf::actor_clock::time_point> accepted;
};

}  // namespace

caf::actor spawn_user_actor(caf::actor_system& sys, std::string user, rate_limit limit) {
  return sys.spawn([user = std::move(user), limit](caf::stateful_actor<user_state>* self) -> caf::behavior {
    self->state.user = user;
    self->state.limit = limit;
    return {
      [self](rate_take_atom) -> std::tuple<bool, std::int64_t> {
        auto& s = self->state;
        auto now = self->clock().now();
        if (s.accepted.size() >= s.limit.count) {
          auto free_at = s.accepted.front() + s.limit.window;
          auto wait = std::chrono::ceil<std::chrono::milliseconds>(free_at - now).count();
          metrics::add(metrics::global().rate_limited);
          return {false, std::max<std::int64_t>(wait, 1)};
        }
        s.accepted.push_back(now);
        self->delayed_send(self, s.limit.window, rate_refill_atom::value);
        return {true, 0};
      },
      [self](rate_refill_atom) {
        if (!self->state.accepted.empty()) self->state.accepted.pop_front();
      },
    };
  });
}

}  // namespace hub
