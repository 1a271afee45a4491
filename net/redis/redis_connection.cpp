#include "net/redis/redis_connection.hpp"

#include "util/log.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <utility>

namespace hub::redis {

namespace net = boost::asio;
using boost::system::error_code;

namespace {

constexpr std::size_t read_chunk = std::size_t{64} << 10;
// A write buffer larger than this is released after its write: a burst's buffer does
// not stay with an idle connection.
constexpr std::size_t keep_write_buffer = std::size_t{64} << 10;

std::string ms_text(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

bool bulk_is(const reply& r, std::string_view text) {
  const std::string* b = r.bulk();
  return b && *b == text;
}

// A message Redis pushes to a subscriber: [message, channel, payload] or
// [pmessage, pattern, channel, payload].
bool is_push(const reply& r) {
  const array_reply* a = r.array();
  if (!a || a->empty()) return false;
  return (a->size() == 3 && bulk_is((*a)[0], "message")) || (a->size() == 4 && bulk_is((*a)[0], "pmessage"));
}

}  // namespace

redis_connection::redis_connection(strand_type strand, connection_options options, handlers h)
  : strand_(std::move(strand)),
    options_(std::move(options)),
    handlers_(std::move(h)),
    socket_(strand_),
    resolver_(strand_),
    timer_(strand_),
    parser_(options_.limits),
    read_buffer_(read_chunk) {
  const auto& ep = options_.endpoint;
  target_ = (ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host) + ":" + std::to_string(ep.port);
}

template <class F>
void redis_connection::guarded(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    log::error("redis connection to ", target_, ": unexpected exception: ", e.what());
    try {
      fail(std::string("internal error: ") + e.what());
    } catch (...) {
    }
  } catch (...) {
    log::error("redis connection to ", target_, ": unexpected exception");
    try {
      fail("internal error");
    } catch (...) {
    }
  }
}

// -- connecting -------------------------------------------------------------------------------

void redis_connection::start() {
  if (started_ || closed_) return;
  started_ = true;
  connect_deadline_ = clock::now() + options_.connect_timeout;
  arm_timer(connect_deadline_);
  resolver_.async_resolve(options_.endpoint.host, std::to_string(options_.endpoint.port),
                          net::ip::tcp::resolver::numeric_service,
                          [self = shared_from_this()](const error_code& ec, const resolver_type::results_type& r) {
                            self->guarded([&] { self->on_resolved(ec, r); });
                          });
}

void redis_connection::on_resolved(const error_code& ec, const resolver_type::results_type& results) {
  if (closed_) return;
  if (ec) return fail("could not resolve " + options_.endpoint.host + ": " + ec.message());
  net::async_connect(socket_, results,
                     [self = shared_from_this()](const error_code& e, const net::ip::tcp::endpoint&) {
                       self->guarded([&] { self->on_connected(e); });
                     });
}

void redis_connection::on_connected(const error_code& ec) {
  if (closed_) return;
  if (ec) return fail("could not connect to " + target_ + ": " + ec.message());
  error_code ignored;
  socket_.set_option(net::ip::tcp::no_delay(true), ignored);
  // Also noticed by our PINGs; keep-alive covers a peer gone while a write is stuck.
  socket_.set_option(net::socket_base::keep_alive(true), ignored);
  connected_ = true;
  last_activity_ = clock::now();
  read_more();
  handshake();
  write_queued();  // the handshake, and whatever the owner queued before
}

// AUTH and SELECT go first, pipelined (or a PING when there is neither, so that a Redis
// wanting a password is noticed now); the connection is ready when the last one is
// answered without an error.
void redis_connection::handshake() {
  const auto& ep = options_.endpoint;
  struct step {
    std::vector<std::string_view> argv;
    std::string what;
  };
  std::string db = std::to_string(ep.db);
  std::vector<step> steps;
  if (!ep.password.empty()) {
    step auth{{"AUTH"}, "AUTH"};
    if (!ep.user.empty()) auth.argv.push_back(ep.user);
    auth.argv.push_back(ep.password);
    steps.push_back(std::move(auth));
  }
  if (ep.db != 0) steps.push_back(step{{"SELECT", db}, "SELECT " + db});
  if (steps.empty()) steps.push_back(step{{"PING"}, "PING"});
  for (std::size_t i = 0; i < steps.size(); ++i) {
    bool last = i + 1 == steps.size();
    send(steps[i].argv, [this, last, what = steps[i].what](const reply* r) {
      if (!r || closed_) return;
      if (r->error()) return fail("Redis refused " + what + ": " + r->error()->message);
      if (!last) return;
      ready_ = true;
      last_progress_ = last_activity_ = clock::now();
      arm_timer(clock::now());  // the watchdog from now on
      if (handlers_.ready) handlers_.ready();
    });
  }
}

// -- the timer: the connect deadline, then the watchdog ---------------------------------------

void redis_connection::arm_timer(clock::time_point at) {
  timer_.expires_at(at);
  timer_.async_wait([self = shared_from_this()](const error_code& ec) { self->guarded([&] { self->on_timer(ec); }); });
}

void redis_connection::on_timer(const error_code& ec) {
  if (closed_ || ec == net::error::operation_aborted) return;
  auto now = clock::now();
  if (!ready_) {
    if (now < connect_deadline_) return arm_timer(connect_deadline_);
    if (!connected_) return fail("timed out connecting to " + target_ + " (" + ms_text(options_.connect_timeout) + ")");
    return fail("timed out waiting for Redis at " + target_ + " to answer its first command (" +
                ms_text(options_.connect_timeout) + ")");
  }
  if (!pending_.empty() && now - last_progress_ >= options_.reply_timeout)
    return fail("no reply from Redis at " + target_ + " in " + ms_text(options_.reply_timeout));
  if (pending_.empty() && now - last_activity_ >= options_.ping_interval) send({"PING"}, nullptr);
  auto tick = std::max<std::chrono::milliseconds>(std::chrono::milliseconds(50),
                                                  std::min(options_.ping_interval, options_.reply_timeout) / 4);
  arm_timer(now + tick);
}

// -- writing ----------------------------------------------------------------------------------

bool redis_connection::send(const std::vector<std::string_view>& argv, reply_fn done) {
  if (closed_) return false;
  auto command = format_command(argv);
  if (!command) return false;
  if (pending_.empty()) last_progress_ = clock::now();
  queued_ += *command;
  pending_.push_back(pending{std::move(done)});
  schedule_write();
  return true;
}

// Deferred, so that the commands queued by the handlers already waiting on the strand
// share this write.
void redis_connection::schedule_write() {
  if (write_scheduled_ || writing_now_ || !connected_) return;
  write_scheduled_ = true;
  net::post(strand_, [self = shared_from_this()] {
    self->write_scheduled_ = false;
    self->guarded([&] { self->write_queued(); });
  });
}

void redis_connection::write_queued() {
  if (closed_ || !connected_ || writing_now_ || queued_.empty()) return;
  writing_.swap(queued_);
  writing_now_ = true;
  net::async_write(socket_, net::buffer(writing_), [self = shared_from_this()](const error_code& ec, std::size_t) {
    self->guarded([&] { self->on_written(ec); });
  });
}

void redis_connection::on_written(const error_code& ec) {
  writing_now_ = false;
  if (closed_) return;
  if (ec) return fail("writing to Redis at " + target_ + " failed: " + ec.message());
  last_activity_ = clock::now();
  writing_.clear();
  if (writing_.capacity() > keep_write_buffer) std::string().swap(writing_);
  write_queued();  // what came meanwhile
}

// -- reading ----------------------------------------------------------------------------------

void redis_connection::read_more() {
  socket_.async_read_some(net::buffer(read_buffer_), [self = shared_from_this()](const error_code& ec, std::size_t n) {
    self->guarded([&] { self->on_read(ec, n); });
  });
}

void redis_connection::on_read(const error_code& ec, std::size_t n) {
  if (closed_) return;
  if (ec == net::error::eof) return fail("Redis at " + target_ + " closed the connection");
  if (ec) return fail("reading from Redis at " + target_ + " failed: " + ec.message());
  last_activity_ = clock::now();
  parser_.feed(std::string_view(read_buffer_.data(), n));
  while (auto r = parser_.next()) {
    on_reply(std::move(*r));
    if (closed_) return;
  }
  if (parser_.failed()) return fail(parser_.error() + " (from " + target_ + ")");
  read_more();
}

void redis_connection::on_reply(reply r) {
  if (subscriber_ && is_push(r)) {
    if (handlers_.push) handlers_.push(r);
    return;
  }
  if (pending_.empty()) return fail("Redis at " + target_ + " sent a reply to no command: " + r.describe());
  reply_fn done = std::move(pending_.front().done);
  pending_.pop_front();
  last_progress_ = clock::now();
  if (done) done(&r);
}

// -- the end ----------------------------------------------------------------------------------

void redis_connection::fail(const std::string& why) { end(&why); }

void redis_connection::close() { end(nullptr); }

void redis_connection::end(const std::string* why) {
  if (closed_) return;
  closed_ = true;
  ready_ = false;
  error_code ignored;
  resolver_.cancel();
  timer_.cancel();
  socket_.close(ignored);
  // `writing_` stays until its write completes: the socket may still read from it.
  queued_.clear();
  auto unanswered = std::move(pending_);
  pending_.clear();
  for (auto& p : unanswered) {
    if (!p.done) continue;
    try {
      p.done(nullptr);
    } catch (const std::exception& e) {
      log::error("redis connection to ", target_, ": a callback threw: ", e.what());
    } catch (...) {
      log::error("redis connection to ", target_, ": a callback threw");
    }
  }
  if (why && handlers_.closed) handlers_.closed(*why);
}

}  // namespace hub::redis
