// One TCP connection to Redis, on a strand it shares with its owner (redis_link). It
// connects within a deadline (resolve, connect, then AUTH and SELECT when the endpoint
// asks for them), then carries commands pipelined: every command queued while a write is
// in flight goes out together in the next write, and replies are matched to their
// callbacks in order (Redis answers a connection's commands in the order it sent them).
//
// In subscriber mode (after SUBSCRIBE), the "message" and "pmessage" arrays Redis pushes
// go to the push handler instead; the confirmations of SUBSCRIBE/PSUBSCRIBE, one per
// channel, are replies like any other.
//
// A connection that went quiet is noticed: an idle one sends PING every ping_interval,
// and a command with no reply for reply_timeout fails the connection.
//
// On failure (refused, timed out, closed by the server, a protocol error) every pending
// callback gets null, then the closed handler hears why, once. Everything here runs on the
// strand; handlers must not throw (a throw fails the connection).
#pragma once

#include "util/redis_url.hpp"
#include "net/redis/resp.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hub::redis {

using strand_type = boost::asio::strand<boost::asio::io_context::executor_type>;

struct connection_options {
  redis_endpoint endpoint;
  std::chrono::milliseconds connect_timeout{2000};  // resolve + connect + AUTH + SELECT
  std::chrono::milliseconds reply_timeout{5000};    // the oldest command without a reply
  std::chrono::milliseconds ping_interval{2000};    // an idle connection PINGs this often
  reply_limits limits;
};

class redis_connection : public std::enable_shared_from_this<redis_connection> {
 public:
  // A command's reply (perhaps an error reply), or null: the connection ended first.
  using reply_fn = std::function<void(const reply*)>;
  struct handlers {
    std::function<void()> ready;                        // connected, authenticated, database selected
    std::function<void(reply&)> push;                   // subscriber mode: a message or a pmessage
    std::function<void(const std::string& why)> closed; // it failed (not after close())
  };

  redis_connection(strand_type strand, connection_options options, handlers h);

  // -- on the strand ----------------------------------------------------------------------
  void start();
  // Queues a command for the next write; false when the connection is closed or the
  // command is too large (then `done` is not called).
  bool send(const std::vector<std::string_view>& argv, reply_fn done);
  // From now on, pushed messages go to the push handler (call it before SUBSCRIBE).
  void enter_subscriber_mode() { subscriber_ = true; }
  // Ends the connection. Pending callbacks get null; no handler is called after this.
  void close();

  bool ready() const { return ready_; }
  bool closed() const { return closed_; }
  // Queued bytes the socket has not taken yet (in the current write included).
  std::size_t unwritten_bytes() const { return queued_.size() + writing_.size(); }

 private:
  using clock = std::chrono::steady_clock;
  using socket_type = boost::asio::basic_stream_socket<boost::asio::ip::tcp, strand_type>;
  using resolver_type = boost::asio::ip::basic_resolver<boost::asio::ip::tcp, strand_type>;
  using timer_type = boost::asio::basic_waitable_timer<clock, boost::asio::wait_traits<clock>, strand_type>;

  struct pending {
    reply_fn done;
  };

  void on_resolved(const boost::system::error_code& ec, const resolver_type::results_type& results);
  void on_connected(const boost::system::error_code& ec);
  void handshake();
  void arm_timer(clock::time_point at);
  void on_timer(const boost::system::error_code& ec);
  void schedule_write();
  void write_queued();
  void on_written(const boost::system::error_code& ec);
  void read_more();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void on_reply(reply r);
  void fail(const std::string& why);
  void end(const std::string* why);  // why == null: close() by the owner
  template <class F>
  void guarded(F&& f);  // runs a completion: what it throws fails the connection

  strand_type strand_;
  connection_options options_;
  handlers handlers_;
  socket_type socket_;
  resolver_type resolver_;
  timer_type timer_;
  reply_parser parser_;
  std::vector<char> read_buffer_;
  std::string queued_;   // commands for the next write
  std::string writing_;  // the current write
  std::deque<pending> pending_;
  clock::time_point connect_deadline_;
  clock::time_point last_progress_;  // a reply came, or the first pending command was queued
  clock::time_point last_activity_;  // any byte read or written
  std::string target_;               // host:port, for messages
  bool started_ = false;
  bool connected_ = false;
  bool ready_ = false;
  bool subscriber_ = false;
  bool write_scheduled_ = false;
  bool writing_now_ = false;
  bool closed_ = false;
};

}  // namespace hub::redis
