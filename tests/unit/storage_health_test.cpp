// storage::storage_health: the failing/healthy state machine, back-off and log pacing.
#include "storage/storage_health.hpp"

#include <catch2/catch.hpp>

using hub::storage::storage_health;
using namespace std::chrono_literals;

namespace {
const storage_health::clock::time_point t0{std::chrono::hours(1)};
}

TEST_CASE("storage health: healthy until a failure, failing until a success", "[storage][health]") {
  storage_health h;
  CHECK(h.healthy());
  CHECK_FALSE(h.on_success(t0));  // nothing to end
  CHECK(h.on_failure("IO error: No space left on device", t0));
  CHECK_FALSE(h.healthy());
  CHECK(h.error() == "IO error: No space left on device");
  CHECK_FALSE(h.on_failure("IO error: still full", t0 + 1s));  // same episode
  CHECK(h.error() == "IO error: still full");
  CHECK(h.episode_failures() == 2);
  CHECK(h.episode_length(t0 + 3s) == 3s);
  CHECK(h.on_success(t0 + 4s));
  CHECK(h.healthy());
  CHECK(h.error().empty());
  CHECK(h.episode_failures() == 0);
  CHECK(h.episode_length(t0 + 5s) == storage_health::clock::duration{});
  CHECK(h.on_failure("again", t0 + 6s));  // a new episode
}

TEST_CASE("storage health: recovery back-off doubles to its cap and restarts per episode", "[storage][health]") {
  storage_health h{storage_health::config{100ms, 1000ms, 10s}};
  h.on_failure("e", t0);
  CHECK(h.next_retry() == 100ms);
  CHECK(h.next_retry() == 200ms);
  CHECK(h.next_retry() == 400ms);
  CHECK(h.next_retry() == 800ms);
  CHECK(h.next_retry() == 1000ms);
  CHECK(h.next_retry() == 1000ms);
  h.on_success(t0 + 5s);
  h.on_failure("e", t0 + 6s);
  CHECK(h.next_retry() == 100ms);
}

TEST_CASE("storage health: a warning at the first failure, then one per interval with a count", "[storage][health]") {
  storage_health h{storage_health::config{100ms, 5s, 10s}};
  CHECK_FALSE(h.warning_due(t0).has_value());  // healthy
  h.on_failure("e", t0);
  CHECK(h.warning_due(t0) == std::optional<std::uint64_t>{1});
  CHECK_FALSE(h.warning_due(t0).has_value());  // nothing new
  for (int i = 0; i < 500; ++i) h.on_failure("e", t0 + 1s);
  CHECK_FALSE(h.warning_due(t0 + 9s).has_value());  // within the interval: silent
  CHECK(h.warning_due(t0 + 10s) == std::optional<std::uint64_t>{500});
  h.on_failure("e", t0 + 11s);
  CHECK_FALSE(h.warning_due(t0 + 12s).has_value());
  CHECK(h.warning_due(t0 + 20s) == std::optional<std::uint64_t>{1});
  // A new episode warns at once, whenever the last warning was.
  h.on_success(t0 + 21s);
  h.on_failure("e", t0 + 22s);
  CHECK(h.warning_due(t0 + 22s) == std::optional<std::uint64_t>{1});
}
