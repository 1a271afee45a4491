// Whether the database takes writes, as the storage actor learns it from each write's
// outcome: healthy until a write fails, failing until a write (or a recovery probe)
// succeeds again. Pure: the actor feeds it outcomes and the time, and asks it when to
// try recovering next (exponential back-off) and when a warning is due (once per
// interval, with how many failures it stands for), so a full disk under load does not
// become a log flood.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace hub::storage {

class storage_health {
 public:
  using clock = std::chrono::steady_clock;

  struct config {
    std::chrono::milliseconds first_retry{100};  // first recovery attempt after a failure
    std::chrono::milliseconds max_retry{5000};   // back-off cap
    std::chrono::milliseconds log_interval{10000};
  };

  storage_health() = default;
  explicit storage_health(config c) : cfg_(c) {}

  // A write failed with `error`. Returns true when this starts a failure episode.
  bool on_failure(std::string error, clock::time_point now);
  // A write succeeded. Returns true when this ends a failure episode.
  bool on_success(clock::time_point now);

  bool healthy() const { return !failing_; }
  const std::string& error() const { return error_; }  // the latest, while failing
  std::uint64_t episode_failures() const { return episode_failures_; }
  clock::duration episode_length(clock::time_point now) const { return failing_ ? now - since_ : clock::duration{}; }

  // The wait before the next recovery attempt: first_retry, doubling with each call
  // in one episode, at most max_retry.
  std::chrono::milliseconds next_retry();

  // Whether a warning is due at `now`: at the episode's first failure, then at most once
  // per log_interval while failures go on. Returns how many failures happened since the
  // last warning (this one included), or nullopt when none is due.
  std::optional<std::uint64_t> warning_due(clock::time_point now);

 private:
  config cfg_;
  bool failing_ = false;
  std::string error_;
  clock::time_point since_{};
  std::uint64_t episode_failures_ = 0;
  std::chrono::milliseconds retry_{0};
  std::optional<clock::time_point> last_warning_;
  std::uint64_t unlogged_ = 0;
};

}  // namespace hub::storage
