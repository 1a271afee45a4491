#include "net/transport/write_coalescer.hpp"

#include "util/metrics.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

namespace hub::eio {

namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr auto sample_every = 100ms;
constexpr double idle_below = 0.30;  // the wait ends at once
// The wait halves. High enough that a server busy with something the wait cannot help
// (an fsync thread's system time on a real disk) does not keep its wait: at 0.70 a few
// samples over busy_above ratcheted it to the cap and held it there (disk p50 18 ms).
constexpr double calm_below = 0.85;
constexpr double busy_above = 0.90;  // the wait grows by a step
constexpr std::chrono::microseconds step = 1ms;

// The cores this process may run on (taskset, cgroup cpusets narrow the affinity mask).
double usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1.0;
  return std::max(1, CPU_COUNT(&set));
}

std::chrono::nanoseconds process_cpu() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// How long this process's threads have been runnable but waiting for a core, summed
// (the second field of each /proc/self/task/<tid>/schedstat). CPU time alone misses a
// core that other processes fill: two nodes of a cluster on one core each see half of
// it used, yet the core is full. A thread that exited takes its waits with it, which
// at most makes one sample read low. Zero where schedstat is not available.
std::chrono::nanoseconds process_run_delay() {
  std::uint64_t total = 0;
  DIR* dir = opendir("/proc/self/task");
  if (!dir) return {};
  char path[64];
  char buf[128];
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::snprintf(path, sizeof path, "/proc/self/task/%.20s/schedstat", e->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    auto n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) continue;
    buf[n] = '\0';
    unsigned long long ran = 0;
    unsigned long long waited = 0;
    if (std::sscanf(buf, "%llu %llu", &ran, &waited) == 2) total += waited;
  }
  closedir(dir);
  return std::chrono::nanoseconds(total);
}

}  // namespace

write_coalescer::write_coalescer(net::io_context& ioc, std::chrono::microseconds max_delay)
  : strand_(net::make_strand(ioc)), timer_(strand_), max_delay_(max_delay), cores_(usable_cores()) {}

std::chrono::microseconds write_coalescer::next_delay(std::chrono::microseconds delay, double utilization,
                                                      std::chrono::microseconds max_delay) {
  // Grows in small steps, so that it settles near the least that keeps the process
  // below `busy_above` rather than jumping to the maximum; halves once calmer.
  if (max_delay <= 0us || utilization < idle_below) return 0us;
  if (utilization > busy_above) return std::min(max_delay, delay + step);
  if (utilization < calm_below) return delay > 2 * step ? delay / 2 : 0us;
  return delay;
}

void write_coalescer::request_flush(std::shared_ptr<flushable> f) {
  {
    std::lock_guard lock(mutex_);
    waiting_.push_back(std::move(f));
    if (pass_scheduled_) return;
    pass_scheduled_ = true;
  }
  net::post(strand_, [this] { start_pass(); });
}

bool write_coalescer::sample_due(clock::time_point now) const {
  return max_delay_ > 0us &&
         now - clock::time_point(clock::duration(last_sample_.load(std::memory_order_relaxed))) >= sample_every;
}

bool write_coalescer::write_through() {
  if (max_delay_ <= 0us) return true;
  if (sample_due(clock::now()) && !sample_posted_.exchange(true, std::memory_order_relaxed)) {
    net::post(strand_, [this] {
      sample_load(clock::now());
      sample_posted_.store(false, std::memory_order_relaxed);
    });
  }
  return delay_us_.load(std::memory_order_relaxed) == 0;
}

void write_coalescer::start_pass() {
  auto now = clock::now();
  if (sample_due(now)) sample_load(now);
  auto delay = std::chrono::microseconds(delay_us_.load(std::memory_order_relaxed));
  auto due = last_pass_ + delay;
  if (delay <= 0us || now >= due) return run_pass();
  timer_.expires_at(due);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) run_pass();
  });
}

void write_coalescer::run_pass() {
  last_pass_ = clock::now();
  {
    std::lock_guard lock(mutex_);
    passing_.swap(waiting_);  // both keep their capacity
    pass_scheduled_ = false;
  }
  for (auto& f : passing_) f->flush();
  passing_.clear();
}

void write_coalescer::sample_load(clock::time_point now) {
  auto cpu = process_cpu();
  auto run_delay = process_run_delay();
  auto last = clock::time_point(clock::duration(last_sample_.load(std::memory_order_relaxed)));
  if (last != clock::time_point{}) {
    double wall = std::chrono::duration<double>(now - last).count();
    // What the process wanted of its cores: the time it ran plus the time its runnable
    // threads waited for one (another process, or each other, held it).
    double used =
      std::chrono::duration<double>(cpu - last_cpu_).count() +
      std::chrono::duration<double>(std::max(run_delay - last_run_delay_, std::chrono::nanoseconds{})).count();
    // A long quiet gap says nothing about the present load beyond "low".
    double utilization = wall > 0 ? used / (wall * cores_) : 0.0;
    auto delay = next_delay(std::chrono::microseconds(delay_us_.load()), utilization, max_delay_);
    delay_us_.store(delay.count());
    metrics::global().write_delay_us.store(static_cast<std::uint64_t>(delay.count()), std::memory_order_relaxed);
  }
  last_sample_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  last_cpu_ = cpu;
  last_run_delay_ = run_delay;
}

}  // namespace hub::eio
