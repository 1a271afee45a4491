// The deterministic actor system: CAF 0.17.6's test coordinator (scheduler.policy
// "testing"): one thread, FIFO, virtual clock starting at t = 0 (toolchain.md §6).
// Shared by the unit tests (tests/unit/support/deterministic.hpp) and hub-sim.
#pragma once

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>

namespace hub::sim {

class deterministic {
 public:
  deterministic() : sys(init(cfg)), sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {}

  deterministic(const deterministic&) = delete;
  deterministic& operator=(const deterministic&) = delete;

  // Whoever derives from this must have dropped its actor handles by now.
  ~deterministic() {
    drain();
    if (auto n = sys.registry().running(); n != 0) {
      // ~actor_system would wait forever for them: fail loudly instead of hanging.
      std::fprintf(stderr, "deterministic: %zu actor(s) still running at teardown\n", n);
      std::abort();
    }
  }

  // Processes every queued message at the current virtual time. Fires no timers.
  std::size_t run() { return sched.run(); }

  // Moves virtual time forward by `d`, firing every timer due on the way with the
  // clock set to exactly its due time (and processing what it causes) before the next.
  std::size_t advance(caf::timespan d) {
    auto& c = sched.clock();
    const auto target = c.current_time + d;
    std::size_t n = run();
    while (!c.schedule().empty() && c.schedule().begin()->first <= target) {
      c.advance_time(c.schedule().begin()->first - c.current_time);
      n += run();
    }
    c.advance_time(target - c.current_time);
    return n + run();
  }
  template <class Rep, class Period>
  std::size_t advance(std::chrono::duration<Rep, Period> d) {
    return advance(std::chrono::duration_cast<caf::timespan>(d));
  }

  // Virtual time since the start.
  std::chrono::milliseconds elapsed() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(sched.clock().current_time.time_since_epoch());
  }
  caf::timespan elapsed_exact() const {
    return std::chrono::duration_cast<caf::timespan>(sched.clock().current_time.time_since_epoch());
  }

  // Runs everything, firing all remaining timers, until nothing is left.
  void drain() {
    do {
      run();
    } while (sched.trigger_timeouts() > 0);
  }

  std::size_t running_actors() { return sys.registry().running(); }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;

 private:
  static caf::actor_system_config& init(caf::actor_system_config& c) {
    c.set("scheduler.policy", caf::atom("testing"));
    return c;
  }
};

}  // namespace hub::sim
