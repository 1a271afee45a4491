// The user actor's rate limiter (apps/hub/user_actor.cpp) on CAF's test coordinator:
// virtual time, so a 60 s window is checked to the millisecond without sleeping.
// See tests/unit/support/hub_fixture.hpp.
#include "apps/hub/user_actor.hpp"
#include "tests/unit/support/hub_fixture.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <tuple>

using namespace std::chrono_literals;
using hub::test::hub_fixture;

namespace {

struct user_fixture : hub_fixture {
  // Takes `n` slots; returns how many were accepted.
  int take_n(const hub::user_actor& u, int n) {
    int ok = 0;
    for (int i = 0; i < n; ++i) ok += std::get<0>(rate_take(u)) ? 1 : 0;
    return ok;
  }
  // rate_take, expecting a refusal: its retry_after_ms, or -1 if it was accepted.
  std::int64_t refused_retry(const hub::user_actor& u) {
    auto [ok, retry] = rate_take(u);
    return ok ? -1 : retry;
  }
};

}  // namespace

TEST_CASE_METHOD(user_fixture, "actors: user rate limit 10/60s refuses #11 until the window ends",
                 "[actors][user][rate]") {
  auto u = spawn_user("alice", hub::rate_limit{10, 60000ms});
  for (int i = 0; i < 10; ++i) {
    auto [ok, retry] = rate_take(u);
    CHECK(ok);
    CHECK(retry == 0);
  }
  CHECK(elapsed() == 0ms);
  CHECK(refused_retry(u) == 60000);
  CHECK(refused_retry(u) == 60000);  // a refusal takes no slot

  advance(59999ms);
  CHECK(refused_retry(u) == 1);

  advance(1ms);  // t = 60 s: all ten slots free
  CHECK(elapsed() == 60000ms);
  CHECK(take_n(u, 10) == 10);
  CHECK(refused_retry(u) == 60000);  // the new ones are full again until t = 120 s
}

TEST_CASE_METHOD(user_fixture, "actors: user rate limit window slides: each slot frees window after",
                 "[actors][user][rate]") {
  auto u = spawn_user("alice", hub::rate_limit{10, 60000ms});

  SECTION("two bursts") {
    CHECK(take_n(u, 5) == 5);  // t = 0
    advance(30s);
    CHECK(take_n(u, 5) == 5);  // t = 30 s
    CHECK(refused_retry(u) == 30000);
    advance(29999ms);  // t = 59.999 s
    CHECK(refused_retry(u) == 1);
    advance(1ms);  // t = 60 s: the t = 0 burst frees, the t = 30 s one does not
    CHECK(take_n(u, 5) == 5);
    CHECK(refused_retry(u) == 30000);
    advance(29999ms);  // t = 89.999 s
    CHECK(refused_retry(u) == 1);
    advance(1ms);  // t = 90 s
    CHECK(take_n(u, 5) == 5);
    CHECK(refused_retry(u) == 30000);
  }

  SECTION("one every 6 s") {
    for (int i = 0; i < 10; ++i) {  // t = 0, 6, ..., 54 s
      CHECK(take_n(u, 1) == 1);
      if (i < 9) advance(6s);
    }
    CHECK(elapsed() == 54000ms);
    CHECK(refused_retry(u) == 6000);
    // From t = 60 s on, the slot taken at t = 6 k s frees at exactly 60 + 6 k s.
    for (int k = 0; k < 10; ++k) {
      advance(6s - 1ms);
      CHECK(refused_retry(u) == 1);
      advance(1ms);
      CHECK(elapsed() == std::chrono::milliseconds(60000 + 6000 * k));
      CHECK(take_n(u, 1) == 1);
      CHECK(refused_retry(u) == 6000);
    }
  }
}

TEST_CASE_METHOD(user_fixture, "actors: user rate limit is per user", "[actors][user][rate]") {
  auto alice = spawn_user("alice", hub::rate_limit{2, 1000ms});
  auto bob = spawn_user("bob", hub::rate_limit{2, 1000ms});
  CHECK(take_n(alice, 3) == 2);
  CHECK(take_n(bob, 2) == 2);
  CHECK(refused_retry(bob) == 1000);
  advance(1s);
  CHECK(take_n(alice, 1) == 1);
}

TEST_CASE_METHOD(user_fixture, "actors: user rate limit agrees with a sliding-window model at sub-ms times",
                 "[actors][user][rate]") {
  const hub::rate_limit limit{5, 1000ms};
  auto u = spawn_user("alice", limit);
  std::mt19937_64 rng(20260102);
  std::uniform_int_distribution<std::int64_t> step_ns(0, 400'000'000);  // 0 .. 400 ms
  std::deque<caf::timespan> accepted;                                   // model: virtual times of accepted takes
  const caf::timespan window = limit.window;
  int refusals = 0;
  for (int i = 0; i < 400; ++i) {
    advance(caf::timespan(step_ns(rng)));
    const auto now = elapsed_exact();
    while (!accepted.empty() && accepted.front() + window <= now) accepted.pop_front();
    const bool model_ok = accepted.size() < limit.count;
    auto [ok, retry] = rate_take(u);
    INFO("take " << i << " at " << now.count() << " ns");
    REQUIRE(ok == model_ok);
    if (ok) {
      CHECK(retry == 0);
      accepted.push_back(now);
    } else {
      ++refusals;
      const auto wait = accepted.front() + window - now;  // > 0
      CHECK(retry > 0);
      CHECK(retry <= 1000);
      // The true wait rounded up to whole milliseconds: never too short.
      CHECK(std::chrono::milliseconds(retry) >= wait);
      CHECK(std::chrono::milliseconds(retry) - wait < 1ms);
    }
  }
  CHECK(refusals > 20);  // the schedule did exercise refusals
}

TEST_CASE_METHOD(user_fixture, "actors: user waiting retry_after_ms is always enough", "[actors][user][rate]") {
  auto u = spawn_user("alice", hub::rate_limit{1, 1000ms});
  // The slot is taken at a time that is not a whole millisecond.
  advance(caf::timespan(250'500'000));  // t = 250.5 ms
  CHECK(take_n(u, 1) == 1);
  advance(caf::timespan(99'500'000));  // t = 350 ms: the slot frees 900.5 ms from now
  auto retry = refused_retry(u);
  REQUIRE(retry > 0);
  advance(std::chrono::milliseconds(retry));
  CHECK(take_n(u, 1) == 1);
}

TEST_CASE_METHOD(user_fixture, "actors: user a slot frees at its window's end even before the release timer runs",
                 "[actors][user][rate]") {
  auto u = spawn_user("alice", hub::rate_limit{1, 1000ms});
  CHECK(take_n(u, 1) == 1);
  sched.clock().current_time += 999ms;
  CHECK(refused_retry(u) == 1);
  // The clock reaches the slot's free time, but the release timer has not run yet (as
  // when the take is already queued ahead of it): the take decides by the clock.
  sched.clock().current_time += 1ms;
  REQUIRE(sched.has_pending_timeout());
  CHECK(take_n(u, 1) == 1);
  advance(0ms);  // the release timer runs: it must not free the slot just taken
  CHECK(refused_retry(u) == 1000);
}

TEST_CASE_METHOD(user_fixture, "actors: user rate limiter arms one release timer at a time", "[actors][user][rate]") {
  auto u = spawn_user("alice", hub::rate_limit{100, 1000ms});
  CHECK(take_n(u, 50) == 50);
  // One pending timer for the 50 slots, not 50.
  CHECK(sched.clock().schedule().size() == 1);
  advance(500ms);
  CHECK(take_n(u, 50) == 50);
  CHECK(refused_retry(u) == 500);
  CHECK(sched.clock().schedule().size() == 1);
  advance(500ms);  // the first 50 expire; the timer re-arms for the second 50
  CHECK(sched.clock().schedule().size() == 1);
  CHECK(take_n(u, 50) == 50);
  CHECK(refused_retry(u) == 500);
  advance(1000ms);  // everything has expired: nothing is armed any more
  CHECK(sched.clock().schedule().empty());
  CHECK(take_n(u, 100) == 100);
}

TEST_CASE_METHOD(user_fixture, "actors: user event limits: a bucket per event kind, independent of chat messages",
                 "[actors][user][rate]") {
  auto u = spawn_user("alice", hub::rate_limit{1, 60000ms});
  const auto& rates = hub::default_event_rates;
  auto typing = rates[static_cast<std::size_t>(hub::limited_event::typing)];
  // The chat limit is spent; typing is not.
  CHECK(std::get<0>(rate_take(u)));
  CHECK_FALSE(std::get<0>(rate_take(u)));
  for (std::size_t i = 0; i < typing.count; ++i) CHECK(std::get<0>(event_take(u, hub::limited_event::typing)));
  auto [ok, retry] = event_take(u, hub::limited_event::typing);
  CHECK_FALSE(ok);
  auto per_token = typing.window.count() / static_cast<std::int64_t>(typing.count);
  CHECK(retry >= per_token);
  CHECK(retry <= per_token + 1);  // rounded up to whole milliseconds
  // Other kinds have their own buckets.
  CHECK(std::get<0>(event_take(u, hub::limited_event::reaction)));
  CHECK(std::get<0>(event_take(u, hub::limited_event::sync)));
  // The retry is honest: after it, one more typing event passes.
  advance(std::chrono::milliseconds(retry));
  CHECK(std::get<0>(event_take(u, hub::limited_event::typing)));
  CHECK_FALSE(std::get<0>(event_take(u, hub::limited_event::typing)));
  // Per user: bob's bucket is full.
  auto bob = spawn_user("bob", hub::rate_limit{1, 60000ms});
  CHECK(std::get<0>(event_take(bob, hub::limited_event::typing)));
}
