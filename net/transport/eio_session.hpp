// One Engine.IO v4 session: polling and WebSocket transports, the upgrade between
// them, the server-driven heartbeat and the bounded send queue. It is the outlet of
// the session's actor. Every member is touched only on the session's strand; the
// public entry points post there first, so they are safe from any thread.
#pragma once

#include "protocol/engineio_packet.hpp"
#include "net/transport/engine_types.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hub::eio {

class session_table;

class eio_session : public outlet, public std::enable_shared_from_this<eio_session> {
 public:
  using strand_type = boost::asio::strand<boost::asio::io_context::executor_type>;

  eio_session(boost::asio::io_context& ioc, std::string sid, const engine_config& cfg, session_table& table);
  ~eio_session() override;

  const std::string& sid() const { return sid_; }
  bool is_websocket() const { return websocket_.load(); }

  // What this session's client messages go to; set once, before start.
  void set_handler(session_handler_ptr handler) { handler_ = std::move(handler); }

  // The open packet ("0{...}") this session answers its handshake with.
  std::string open_packet() const;

  // -- transport entry points (any thread) -----------------------------------------
  void start_polling(responder_ptr handshake_reply);
  void start_websocket(ws_link_ptr link);
  void poll(responder_ptr r);                 // a long-poll GET
  void poll_aborted(const responder_ptr& r);  // its client went away before the reply
  void post(std::string body, responder_ptr r);
  void post_rejected(close_reason why);  // duplicate POST, octet-stream, ...
  void probe(ws_link_ptr link);          // a WebSocket asking to upgrade
  void ws_frame(const ws_link_ptr& link, bool binary, std::string data);
  void ws_closed(const ws_link_ptr& link, close_reason why);
  void shutdown();  // server going down

  // One POST in flight per session; the HTTP layer claims it when the headers arrive.
  bool claim_post() { return !post_in_flight_.exchange(true); }
  void release_post() { post_in_flight_ = false; }

  // -- outlet -------------------------------------------------------------------------
  void send(outbound packet) override;
  void close() override;
  void input_done() override;

 private:
  void enqueue(outbound packet);
  // Flushes to the held GET now, or once the actor has handled the inputs it was given
  // (inputs_); true when it was deferred.
  bool defer_flush();
  void flush_poll();
  void reply_poll(std::string payload);
  void on_packet(packet&& p);
  // A client message for the actor: counted (backpressure, poll batching), then sent.
  void deliver_input(bool binary, std::string data);
  // Strand: pauses reading once the actor is max_inbound_queue inputs behind.
  void check_backpressure();
  void resume_reading();  // strand: the actor caught up
  void schedule_ping();
  void on_pong();
  // One timer serves every deadline of the session (heartbeat ping and pong, upgrade,
  // polling drain): an idle session holds a single timer and a single pending wait.
  enum deadline : std::size_t { ping_due, pong_due, upgrade_due, drain_due, deadline_count };
  void set_deadline(deadline d, std::chrono::steady_clock::duration after);
  void clear_deadline(deadline d) { deadlines_[d] = never(); }
  void arm_timer();
  void on_timer();
  static std::chrono::steady_clock::time_point never() { return std::chrono::steady_clock::time_point::max(); }
  void finish_upgrade();
  void abort_upgrade();
  // Ends the session: tells the actor (which quits on it, even when it asked for the
  // close), releases the transports.
  void terminate(close_reason why, bool notify_actor);
  template <class F>
  void dispatch(F&& f);

  strand_type strand_;
  std::string sid_;
  const engine_config& cfg_;
  session_table& table_;
  session_handler_ptr handler_;
  std::atomic<bool> websocket_{false};
  std::atomic<bool> post_in_flight_{false};
  // Sessions that start on WebSocket send straight to it, skipping this strand (one
  // thread hop less per packet); the WebSocket has its own strand and bounded queue.
  // Upgraded sessions keep the strand path so that nothing overtakes the flushed queue.
  std::atomic<std::shared_ptr<ws_link>> direct_ws_;
  // Inputs from polling POSTs handed to the actor and not yet handled (low bits), and
  // whether a poll response waits for them (flush_waits). Shared with the actor's
  // thread (input_done), hence one atomic word for both.
  static constexpr std::uint32_t flush_waits = 1u << 31;
  static constexpr std::uint32_t reading_paused = 1u << 30;  // backpressure (max_inbound_queue)
  static constexpr std::uint32_t count_mask = reading_paused - 1;
  std::atomic<std::uint32_t> inputs_{0};

  // -- strand-only state ------------------------------------------------------------------
  bool closed_ = false;
  // polling
  std::vector<outbound> queue_;
  std::size_t queued_bytes_ = 0;
  responder_ptr pending_get_;
  bool flush_scheduled_ = false;
  responder_ptr held_post_;  // a POST's "ok", held while the actor is behind (backpressure)
  std::chrono::steady_clock::time_point deferred_since_ = never();  // a flush waits for inputs since
  bool close_after_flush_ = false;
  // websocket
  ws_link_ptr ws_;
  ws_link_ptr probe_;
  bool upgrading_ = false;
  // timer: typed on the strand (asio's any_io_executor would copy the strand to the
  // heap for the timer and again for every pending wait)
  using timer_type =
    boost::asio::basic_waitable_timer<std::chrono::steady_clock, boost::asio::wait_traits<std::chrono::steady_clock>,
                                      strand_type>;
  timer_type timer_;
  std::array<std::chrono::steady_clock::time_point, deadline_count> deadlines_;
  std::chrono::steady_clock::time_point armed_for_ = never();  // the pending wait's expiry
  bool awaiting_pong_ = false;
};

using session_ptr = std::shared_ptr<eio_session>;

}  // namespace hub::eio
