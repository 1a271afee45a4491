#include "net/redis/redis_link.hpp"

#include "net/redis/redis_connection.hpp"
#include "util/log.hpp"
#include "util/metrics.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>
#include <utility>

namespace hub {
namespace {

namespace net = boost::asio;
using redis::redis_connection;
using redis::reply;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

// During a long outage one line per this, not one per attempt.
constexpr auto failure_log_interval = std::chrono::seconds(30);
// PUBLISH's framing around the channel and the payload, for the queue's bound.
constexpr std::size_t publish_overhead = 48;

std::string ms_text(milliseconds d) { return std::to_string(d.count()) + " ms"; }

std::string seconds_text(clock_type::duration d) {
  auto tenths = std::chrono::duration_cast<milliseconds>(d).count() / 100;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s";
}

// PUBSUB NUMSUB's reply: [channel, count].
std::optional<std::size_t> numsub_count(const reply* r) {
  if (!r) return std::nullopt;
  const redis::array_reply* a = r->array();
  if (!a || a->size() != 2) return std::nullopt;
  const std::int64_t* n = (*a)[1].integer();
  if (!n || *n < 0) return std::nullopt;
  return static_cast<std::size_t>(*n);
}

std::string take_bulk(reply& r) {
  auto* b = std::get_if<redis::bulk_reply>(&r.value);
  return b && *b ? std::move(**b) : std::string();
}

// The link's state, shared by the strand's handlers; the public object (redis_link below)
// only forwards to it and stops it when it goes.
//
// The connections' handlers and callbacks hold `this` unowned: a connection calls them
// only until it is closed, and the core closes its connections before it goes (on the
// strand, in stop() or link_failed()), or goes with the io_context's handlers, which
// then no longer run.
class link_core : public std::enable_shared_from_this<link_core> {
 public:
  link_core(net::io_context& io, redis_link_options opts)
    : strand_(net::make_strand(io)), opts_(std::move(opts)), retry_timer_(strand_), rng_(std::random_device{}()) {}

  void subscribe(std::vector<std::string> channels, std::vector<std::string> patterns,
                 std::shared_ptr<pubsub_listener> listener) {
    {
      std::lock_guard lock(callback_mutex_);
      listener_ = std::move(listener);
    }
    net::post(strand_, [self = shared_from_this(), c = std::move(channels), p = std::move(patterns)]() mutable {
      if (self->started_)
        log::warn("redis link to ", self->opts_.endpoint.display(),
                  ": subscribe() after start(): the subscriptions change at the next reconnect");
      self->channels_ = std::move(c);
      self->patterns_ = std::move(p);
    });
  }

  void start() {
    {
      std::lock_guard lock(state_mutex_);
      if (started_for_describe_) return;
      started_for_describe_ = true;
      down_since_ = clock_type::now();
    }
    net::post(strand_, [self = shared_from_this()] {
      if (self->started_ || self->stopped_) return;
      self->started_ = true;
      self->outage_started_ = clock_type::now();
      self->guarded([&] { self->connect(); });
    });
  }

  void publish(std::string channel, std::string payload) {
    metrics::add(metrics::global().cluster_publications);
    if (!up_.load(std::memory_order_acquire)) return lose();
    std::size_t n = channel.size() + payload.size() + publish_overhead;
    if (posted_bytes_.fetch_add(n, std::memory_order_relaxed) + n > opts_.max_queued_bytes) {
      posted_bytes_.fetch_sub(n, std::memory_order_relaxed);
      return lose();
    }
    net::post(strand_, [self = shared_from_this(), c = std::move(channel), p = std::move(payload), n] {
      self->posted_bytes_.fetch_sub(n, std::memory_order_relaxed);
      try {
        self->publish_now(c, p, n);
      } catch (const std::exception& e) {
        log::error("redis link: a publication failed: ", e.what());
        self->lose();
      }
    });
  }

  void count_subscribers(std::string channel, std::function<void(std::optional<std::size_t>)> done) {
    net::post(strand_, [self = shared_from_this(), c = std::move(channel), done = std::move(done)]() mutable {
      if (self->stopped_) return;
      if (!self->up_ || !self->pub_) return self->answer(done, std::nullopt);
      bool sent = false;
      self->guarded([&] {
        sent = self->pub_->send({"PUBSUB", "NUMSUB", c}, [core = self.get(), done](const reply* r) {
          core->answer(done, numsub_count(r));
        });
      });
      if (!sent) self->answer(done, std::nullopt);
    });
  }

  bool up() const { return up_.load(std::memory_order_acquire); }

  std::string describe() const {
    if (up()) return "up";
    std::lock_guard lock(state_mutex_);
    if (!started_for_describe_) return "down: not started";
    auto now = clock_type::now();
    std::string out =
      "down since " + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - down_since_).count()) +
      " s: ";
    if (why_.empty()) return out + "connecting to " + opts_.endpoint.display();
    out += why_;
    if (retry_at_) {
      auto left = std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(*retry_at_ - now));
      return out + " (retry in " + ms_text(left) + ")";
    }
    return out + " (reconnecting)";
  }

  // From the public object's destructor, on any thread: no listener or count_subscribers
  // callback after this returns; the sockets and timers close on the strand.
  void shutdown() {
    {
      std::lock_guard lock(callback_mutex_);
      closed_ = true;
      listener_.reset();
      if (up_.exchange(false)) metrics::global().redis_links_up.fetch_sub(1, std::memory_order_relaxed);
    }
    net::post(strand_, [self = shared_from_this()] { self->guarded([&] { self->stop(); }); });
  }

 private:
  // -- on the strand --------------------------------------------------------------------------

  void connect() {
    std::uint64_t gen = ++generation_;
    pub_ready_ = sub_ready_ = false;
    confirmed_ = 0;
    {
      std::lock_guard lock(state_mutex_);
      retry_at_.reset();
    }
    redis::connection_options co{opts_.endpoint, opts_.connect_timeout, opts_.reply_timeout, opts_.ping_interval, {}};
    pub_ = std::make_shared<redis_connection>(
      strand_, co,
      redis_connection::handlers{[this, gen] {
                                   if (gen != generation_) return;
                                   pub_ready_ = true;
                                   maybe_up();
                                 },
                                 nullptr,
                                 [this, gen](const std::string& why) {
                                   if (gen == generation_) link_failed(why);
                                 }});
    sub_ = std::make_shared<redis_connection>(
      strand_, co,
      redis_connection::handlers{[this, gen] {
                                   if (gen == generation_) subscriber_ready(gen);
                                 },
                                 [this, gen](reply& r) {
                                   if (gen == generation_) on_push(r);
                                 },
                                 [this, gen](const std::string& why) {
                                   if (gen == generation_) link_failed(why);
                                 }});
    pub_->start();
    sub_->start();
  }

  // One command per channel and per pattern: Redis confirms each name separately, and one
  // confirmation per command keeps the replies in step with their callbacks.
  void subscriber_ready(std::uint64_t gen) {
    sub_ready_ = true;
    sub_->enter_subscriber_mode();
    auto ask = [&](const char* verb, const std::string& name) {
      sub_->send({verb, name}, [this, gen, verb, name](const reply* r) {
        if (gen != generation_ || !r) return;
        if (r->error()) return link_failed(std::string("Redis refused ") + verb + " " + name + ": " + r->error()->message);
        ++confirmed_;
        maybe_up();
      });
    };
    for (const auto& c : channels_) ask("SUBSCRIBE", c);
    for (const auto& p : patterns_) ask("PSUBSCRIBE", p);
    maybe_up();
  }

  void maybe_up() {
    if (!pub_ready_ || !sub_ready_ || confirmed_ < channels_.size() + patterns_.size() || up_) return;
    auto now = clock_type::now();
    std::uint64_t lost = lost_in_outage_.exchange(0, std::memory_order_relaxed);
    std::lock_guard lock(callback_mutex_);
    if (closed_) return;
    up_.store(true, std::memory_order_release);
    metrics::add(metrics::global().redis_links_up);
    {
      std::lock_guard state(state_mutex_);
      why_.clear();
      retry_at_.reset();
    }
    const std::string ep = opts_.endpoint.display();
    if (attempts_failed_ == 0 && !ever_up_)
      log::info("redis link to ", ep, " is up (", channels_.size(), " channels, ", patterns_.size(),
                " patterns subscribed)");
    else
      log::info("redis link to ", ep, " is ", ever_up_ ? "back" : "up", " after ", seconds_text(now - outage_started_),
                " down (", attempts_failed_, " failed connection attempts); ", lost,
                " cluster publications were lost meanwhile");
    ever_up_ = true;
    attempts_failed_ = 0;
    backoff_failures_ = 0;
    notify([](pubsub_listener& l) { l.on_link(true); });
  }

  void link_failed(const std::string& why) {
    if (stopped_) return;
    ++generation_;  // what the old connections still report is ignored
    auto pub = std::move(pub_);
    auto sub = std::move(sub_);
    if (pub) pub->close();  // its unacknowledged publications are counted lost
    if (sub) sub->close();
    auto now = clock_type::now();
    bool was_up = false;
    {
      std::lock_guard lock(callback_mutex_);
      was_up = up_.exchange(false);
      if (was_up) {
        metrics::global().redis_links_up.fetch_sub(1, std::memory_order_relaxed);
        if (!closed_) notify([](pubsub_listener& l) { l.on_link(false); });
      }
    }
    if (was_up) {
      outage_started_ = now;
      attempts_failed_ = 0;  // the loss itself is not an attempt
    } else {
      ++attempts_failed_;
    }
    ++backoff_failures_;
    milliseconds delay = next_backoff();
    {
      std::lock_guard lock(state_mutex_);
      why_ = why;
      down_since_ = outage_started_;
      retry_at_ = now + delay;
    }
    const std::string ep = opts_.endpoint.display();
    if (was_up || (!ever_up_ && attempts_failed_ == 1)) {
      log::warn("redis link to ", ep, " is down: ", why, "; cluster publications are lost until it is ",
                ever_up_ ? "back" : "up", " (retrying in ", ms_text(delay), ")");
      last_failure_log_ = now;
    } else if (now - last_failure_log_ >= failure_log_interval) {
      log::warn("redis link to ", ep, " still down after ", seconds_text(now - outage_started_), ": ", why, " (",
                attempts_failed_, " failed attempts, ", lost_in_outage_.load(std::memory_order_relaxed),
                " cluster publications lost so far; retrying in ", ms_text(delay), ")");
      last_failure_log_ = now;
    } else {
      log::debug("redis link to ", ep, ": attempt ", attempts_failed_, " failed: ", why, " (retrying in ",
                 ms_text(delay), ")");
    }
    retry_timer_.expires_after(delay);
    retry_timer_.async_wait([self = shared_from_this(), gen = generation_](const boost::system::error_code& ec) {
      if (ec || self->stopped_ || gen != self->generation_) return;
      metrics::add(metrics::global().redis_reconnects);
      self->guarded([&] { self->connect(); });
    });
  }

  // min_backoff doubling up to max_backoff; each wait drawn from the upper half of that
  // (jitter: the nodes of a cluster do not all come back in the same instant).
  milliseconds next_backoff() {
    auto lo = std::max<std::int64_t>(1, opts_.min_backoff.count());
    auto hi = std::max<std::int64_t>(lo, opts_.max_backoff.count());
    std::int64_t base = lo;
    for (unsigned i = 1; i < backoff_failures_ && base < hi; ++i) base *= 2;
    base = std::min(base, hi);
    std::uniform_int_distribution<std::int64_t> pick(std::max<std::int64_t>(1, base / 2), base);
    return milliseconds(pick(rng_));
  }

  void publish_now(const std::string& channel, const std::string& payload, std::size_t n) {
    if (stopped_ || !up_ || !pub_) return lose();
    if (pub_->unwritten_bytes() + posted_bytes_.load(std::memory_order_relaxed) + n > opts_.max_queued_bytes)
      return lose();
    bool sent = pub_->send({"PUBLISH", channel, payload}, [this](const reply* r) {
      if (!r || r->error()) lose();
    });
    if (!sent) lose();
  }

  void on_push(reply& r) {
    auto& items = std::get<redis::array_reply>(r.value);
    // [message, channel, payload] or [pmessage, pattern, channel, payload]
    std::string channel = take_bulk(items[items.size() - 2]);
    std::string payload = take_bulk(items.back());
    metrics::add(metrics::global().cluster_messages_received);
    std::lock_guard lock(callback_mutex_);
    if (!closed_) notify([&](pubsub_listener& l) { l.on_message(channel, std::move(payload)); });
  }

  // What a strand handler throws (nothing should: out of memory, a bug) must not reach
  // Asio: logged, and the pair of connections starts over.
  template <class F>
  void guarded(F&& f) noexcept {
    try {
      f();
    } catch (const std::exception& e) {
      log::error("redis link to ", opts_.endpoint.display(), ": unexpected exception: ", e.what());
      try {
        if (!stopped_) link_failed(std::string("internal error: ") + e.what());
      } catch (...) {
      }
    } catch (...) {
      log::error("redis link to ", opts_.endpoint.display(), ": unexpected exception");
    }
  }

  // Under callback_mutex_. The listener is held for the call: the link may be destroyed
  // from inside it.
  template <class F>
  void notify(F&& f) {
    auto listener = listener_;
    if (!listener) return;
    try {
      f(*listener);
    } catch (const std::exception& e) {
      log::error("redis link: the cluster listener threw: ", e.what());
    } catch (...) {
      log::error("redis link: the cluster listener threw");
    }
  }

  void answer(const std::function<void(std::optional<std::size_t>)>& done, std::optional<std::size_t> n) {
    std::lock_guard lock(callback_mutex_);
    if (closed_ || !done) return;
    try {
      done(n);
    } catch (const std::exception& e) {
      log::error("redis link: a count_subscribers callback threw: ", e.what());
    } catch (...) {
      log::error("redis link: a count_subscribers callback threw");
    }
  }

  void lose() {
    metrics::add(metrics::global().cluster_publications_lost);
    lost_in_outage_.fetch_add(1, std::memory_order_relaxed);
  }

  void stop() {
    stopped_ = true;
    ++generation_;
    retry_timer_.cancel();
    auto pub = std::move(pub_);
    auto sub = std::move(sub_);
    if (pub) pub->close();
    if (sub) sub->close();
  }

  using timer_type = net::basic_waitable_timer<clock_type, net::wait_traits<clock_type>, redis::strand_type>;

  redis::strand_type strand_;
  const redis_link_options opts_;

  // strand only
  timer_type retry_timer_;
  std::minstd_rand rng_;
  std::vector<std::string> channels_, patterns_;
  std::shared_ptr<redis_connection> pub_, sub_;
  std::uint64_t generation_ = 0;  // of the current pair of connections
  bool pub_ready_ = false, sub_ready_ = false;
  std::size_t confirmed_ = 0;  // subscriptions Redis confirmed
  bool started_ = false, stopped_ = false, ever_up_ = false;
  unsigned attempts_failed_ = 0;   // in this outage
  unsigned backoff_failures_ = 0;  // since the link was last up
  clock_type::time_point outage_started_, last_failure_log_;

  // any thread
  std::atomic<bool> up_{false};
  std::atomic<std::size_t> posted_bytes_{0};           // publications on their way to the strand
  std::atomic<std::uint64_t> lost_in_outage_{0};       // publications lost since the link was last up
  mutable std::mutex state_mutex_;                     // what describe() shows:
  bool started_for_describe_ = false;
  clock_type::time_point down_since_;
  std::string why_;
  std::optional<clock_type::time_point> retry_at_;
  // Held around every call to the listener and to a count_subscribers callback, and by
  // shutdown(); recursive, so the link may be destroyed from inside such a call.
  std::recursive_mutex callback_mutex_;
  bool closed_ = false;
  std::shared_ptr<pubsub_listener> listener_;
};

class redis_link final : public pubsub_link {
 public:
  redis_link(net::io_context& io, redis_link_options opts) : core_(std::make_shared<link_core>(io, std::move(opts))) {}
  ~redis_link() override { core_->shutdown(); }
  redis_link(const redis_link&) = delete;
  redis_link& operator=(const redis_link&) = delete;

  void subscribe(std::vector<std::string> channels, std::vector<std::string> patterns,
                 std::shared_ptr<pubsub_listener> listener) override {
    core_->subscribe(std::move(channels), std::move(patterns), std::move(listener));
  }
  void start() override { core_->start(); }
  void publish(std::string channel, std::string payload) override {
    core_->publish(std::move(channel), std::move(payload));
  }
  void count_subscribers(std::string channel, std::function<void(std::optional<std::size_t>)> done) override {
    core_->count_subscribers(std::move(channel), std::move(done));
  }
  bool up() const override { return core_->up(); }
  std::string describe() const override { return core_->describe(); }

 private:
  std::shared_ptr<link_core> core_;
};

}  // namespace

std::shared_ptr<pubsub_link> make_redis_link(net::io_context& io, redis_link_options opts) {
  return std::make_shared<redis_link>(io, std::move(opts));
}

}  // namespace hub
