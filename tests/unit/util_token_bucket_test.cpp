// The token bucket behind the per-user event limits (util/token_bucket.hpp): a burst of
// `count`, then one token every window/count, refusals say how long to wait and take none.
#include "util/token_bucket.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using hub::rate_limit;
using hub::token_bucket;

TEST_CASE("token bucket: a burst of count, then one per window/count", "[util][rate]") {
  token_bucket b;
  const rate_limit limit{10, 10000ms};  // 10 at once, then one per second
  auto t0 = token_bucket::clock::time_point{} + 1000h;
  for (int i = 0; i < 10; ++i) CHECK(b.take(t0, limit) == 0);
  CHECK(b.take(t0, limit) == 1000);
  CHECK(b.take(t0, limit) == 1000);  // a refusal takes nothing
  CHECK(b.take(t0 + 999ms, limit) == 1);
  CHECK(b.take(t0 + 1000ms, limit) == 0);
  CHECK(b.take(t0 + 1000ms, limit) == 1000);
  CHECK_FALSE(b.full(t0 + 9999ms));
  CHECK(b.full(t0 + 11000ms));
  // Idle for longer than the window: a full burst again, never more.
  int accepted = 0;
  for (int i = 0; i < 20; ++i) accepted += b.take(t0 + 60s, limit) == 0 ? 1 : 0;
  CHECK(accepted == 10);
}

TEST_CASE("token bucket: sustained rate matches count per window", "[util][rate]") {
  token_bucket b;
  const rate_limit limit{5, 1000ms};
  auto t = token_bucket::clock::time_point{} + 1h;
  int accepted = 0;
  // A request every 10 ms for 10 s: 5 at once plus one per 200 ms.
  for (int i = 0; i < 1000; ++i, t += 10ms) accepted += b.take(t, limit) == 0 ? 1 : 0;
  CHECK(accepted >= 5 + 49);
  CHECK(accepted <= 5 + 50);
}

TEST_CASE("token bucket: a count of 1 and a window shorter than a millisecond", "[util][rate]") {
  token_bucket b;
  auto t = token_bucket::clock::time_point{} + 1h;
  CHECK(b.take(t, rate_limit{1, 1000ms}) == 0);
  CHECK(b.take(t, rate_limit{1, 1000ms}) == 1000);
  token_bucket fast;
  CHECK(fast.take(t, rate_limit{1000, 1ms}) == 0);
}
