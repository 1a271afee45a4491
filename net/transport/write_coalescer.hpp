// Decides when sockets with queued frames write them. A socket that gets a frame asks
// the coalescer for a flush instead of posting its own drain; the coalescer flushes
// every socket that asked in one pass on the network thread, so a burst costs one
// hand-off from the actors to the network, not one per socket.
//
// Under load it also waits a little between passes: every write() on a TCP socket costs
// the kernel several microseconds whatever its size, so frames that collect for a few
// milliseconds go out in one write instead of several. The wait starts at zero, so a
// lightly loaded server writes every frame at once. The process's CPU use, as a share
// of the cores it may run on, is sampled every 100 ms: above 90% the wait grows by 1 ms
// (up to `max_delay`), below 70% it shrinks by 1 ms, below 30% it ends. A frame thus
// waits at most `max_delay` (default 20 ms, --max-write-delay; 0 turns the wait off).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

namespace hub::eio {

// Something with frames to write; flush() is called on a network thread.
class flushable {
 public:
  virtual ~flushable() = default;
  virtual void flush() = 0;
};

class write_coalescer {
 public:
  using clock = std::chrono::steady_clock;

  write_coalescer(boost::asio::io_context& ioc, std::chrono::microseconds max_delay);

  // From any thread: `f` has frames queued. Each socket asks once until it is flushed.
  void request_flush(std::shared_ptr<flushable> f);

  // From any thread: true while the coalescer holds no writes back (the server is not
  // busy). A socket with nothing queued may then write a frame at once on the caller's
  // thread, with no hand-off to the network thread at all. Also keeps the load sampled
  // while passes are rare.
  bool write_through();

  // The wait between passes now (for metrics and tests).
  std::chrono::microseconds current_delay() const { return std::chrono::microseconds(delay_us_.load()); }

  // The controller, pure: the next wait from the last one and the process's CPU use in
  // the last sample, as a fraction of the cores it may run on.
  static std::chrono::microseconds next_delay(std::chrono::microseconds delay, double utilization,
                                              std::chrono::microseconds max_delay);

 private:
  void start_pass();  // on strand_
  void run_pass();    // on strand_
  void sample_load(clock::time_point now);
  bool sample_due(clock::time_point now) const;

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::basic_waitable_timer<clock, boost::asio::wait_traits<clock>,
                                    boost::asio::strand<boost::asio::io_context::executor_type>>
    timer_;
  const std::chrono::microseconds max_delay_;
  const double cores_;

  std::mutex mutex_;
  std::vector<std::shared_ptr<flushable>> waiting_;  // guarded by mutex_
  bool pass_scheduled_ = false;                      // guarded by mutex_

  // strand-only
  std::vector<std::shared_ptr<flushable>> passing_;
  clock::time_point last_pass_{};
  std::chrono::nanoseconds last_cpu_{};
  std::chrono::nanoseconds last_run_delay_{};
  std::atomic<std::int64_t> delay_us_{0};
  // When the load was last sampled (written on strand_, read by write_through() on any thread).
  std::atomic<clock::rep> last_sample_{0};
  std::atomic<bool> sample_posted_{false};
};

}  // namespace hub::eio
