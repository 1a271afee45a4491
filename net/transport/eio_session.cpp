#include "net/transport/eio_session.hpp"

#include "protocol/base64.hpp"
#include "protocol/engineio_packet.hpp"
#include "net/transport/session_table.hpp"
#include "util/log.hpp"
#include "util/metrics.hpp"

#include <boost/asio/post.hpp>
#include <algorithm>
#include <nlohmann/json.hpp>

namespace hub::eio {
namespace net = boost::asio;

namespace {

// How long a closed polling session waits for the GET that fetches its last packets.
constexpr std::chrono::seconds polling_drain_time{5};

wire_packet_ptr control_packet(char type) {
  auto p = std::make_shared<wire_packet>();
  p->text.assign(1, type);
  return p;
}

const wire_packet_ptr& ping_packet() {
  static const wire_packet_ptr p = control_packet('2');
  return p;
}

http_reply text_reply(std::string body) {
  http_reply r;
  r.content_type = "text/plain; charset=UTF-8";
  r.headers.emplace_back("Cache-Control", "no-store");
  r.body = std::move(body);
  return r;
}

http_reply empty_reply(int status) {
  http_reply r;
  r.status = status;
  return r;
}

}  // namespace

eio_session::eio_session(net::io_context& ioc, std::string sid, const engine_config& cfg, session_table& table)
  : strand_(net::make_strand(ioc)), sid_(std::move(sid)), cfg_(cfg), table_(table), timer_(strand_) {
  deadlines_.fill(never());
}

eio_session::~eio_session() {
  // Covers sessions destroyed by ~io_context without a regular close.
  if (!closed_ && handler_) handler_->on_close(close_reason::transport_close);
}

template <class F>
void eio_session::dispatch(F&& f) {
  net::post(strand_, [self = shared_from_this(), f = std::forward<F>(f)]() mutable { f(*self); });
}

std::string eio_session::open_packet() const {
  nlohmann::ordered_json j;  // Node's field order
  j["sid"] = sid_;
  j["upgrades"] = (cfg_.allow_upgrades && !websocket_) ? nlohmann::ordered_json::array({"websocket"})
                                                       : nlohmann::ordered_json::array();
  j["pingInterval"] = cfg_.ping_interval.count();
  j["pingTimeout"] = cfg_.ping_timeout.count();
  j["maxPayload"] = cfg_.max_payload;
  return "0" + j.dump();
}

// -- starting -----------------------------------------------------------------------------

void eio_session::start_polling(responder_ptr handshake_reply) {
  dispatch([r = std::move(handshake_reply)](eio_session& s) {
    r->reply(text_reply(s.open_packet()));
    s.schedule_ping();
  });
}

void eio_session::start_websocket(ws_link_ptr link) {
  websocket_ = true;
  direct_ws_.store(link);
  dispatch([link = std::move(link)](eio_session& s) {
    s.ws_ = link;
    link->send_text(s.open_packet());
    s.schedule_ping();
  });
}

// -- polling --------------------------------------------------------------------------------

void eio_session::poll(responder_ptr r) {
  dispatch([r = std::move(r)](eio_session& s) mutable {
    if (s.closed_) {
      if (s.close_after_flush_) {
        // The last GET of a closed session: what was queued, then the close packet.
        s.pending_get_ = std::move(r);
        s.flush_poll();
      } else {
        r->reply(error_reply(error_code::unknown_sid));
      }
      return;
    }
    if (s.ws_) {
      r->reply(error_reply(error_code::bad_request));
      return;
    }
    if (s.pending_get_) {
      // Two GETs at once: the newcomer gets 400, the session ends, the held GET gets "1".
      r->reply(empty_reply(400));
      s.terminate(close_reason::transport_error, true);
      return;
    }
    s.pending_get_ = std::move(r);
    if (!s.queue_.empty()) {
      if (!s.defer_flush()) s.flush_poll();
    } else if (s.upgrading_) {
      s.reply_poll("6");
    }
  });
}

void eio_session::poll_aborted(const responder_ptr& r) {
  dispatch([r](eio_session& s) {
    if (s.pending_get_ != r) return;
    s.pending_get_.reset();
    s.terminate(close_reason::transport_close, true);  // "poll connection closed prematurely"
  });
}

void eio_session::post(std::string body, responder_ptr r) {
  dispatch([body = std::move(body), r = std::move(r)](eio_session& s) mutable {
    s.release_post();
    if (s.closed_) {
      r->reply(error_reply(error_code::unknown_sid));
      return;
    }
    if (s.ws_) {
      r->reply(error_reply(error_code::bad_request));
      return;
    }
    auto packets = decode_payload(body);
    if (!packets) {
      r->reply(empty_reply(400));
      s.terminate(close_reason::parse_error, true);
      return;
    }
    if (s.held_post_) {
      // A POST while the last one waits for the actor: only a client that ignores the
      // protocol (one POST at a time) does that.
      r->reply(empty_reply(400));
      s.terminate(close_reason::transport_error, true);
      return;
    }
    for (auto& p : *packets) {
      if (s.closed_) break;
      s.on_packet(std::move(p));
    }
    if (s.closed_) return r->reply(text_reply("ok"));  // e.g. its close packet: taken, as in Node
    s.check_backpressure();
    // Behind: the client gets its "ok" (and so sends its next POST) once the actor caught up.
    if (s.inputs_.load(std::memory_order_acquire) & reading_paused)
      s.held_post_ = std::move(r);
    else
      r->reply(text_reply("ok"));
  });
}

bool eio_session::defer_flush() {
  // Bounded: a client that keeps POSTing while its actor is behind still gets answers.
  constexpr auto max_deferral = std::chrono::milliseconds(50);
  const auto now = std::chrono::steady_clock::now();
  if (deferred_since_ != never() && now - deferred_since_ > max_deferral) return false;
  auto st = inputs_.load(std::memory_order_acquire);
  while ((st & count_mask) != 0) {
    if (inputs_.compare_exchange_weak(st, st | flush_waits, std::memory_order_acq_rel)) {
      if (deferred_since_ == never()) deferred_since_ = now;
      return true;
    }
  }
  return false;
}

void eio_session::input_done() {
  const std::uint32_t low = static_cast<std::uint32_t>(cfg_.max_inbound_queue / 2);
  auto st = inputs_.load(std::memory_order_acquire);
  for (;;) {
    const auto count = st & count_mask;
    if (count == 0) return;  // not a counted input (the count is spent)
    const auto left = count - 1;
    auto next = (st & ~count_mask) | left;
    // The last input handled: a held poll response goes out with what it produced.
    const bool flush = left == 0 && (st & flush_waits);
    if (flush) next &= ~flush_waits;
    // Caught up to half the bound: read the client again.
    const bool resume = left <= low && (st & reading_paused);
    if (resume) next &= ~reading_paused;
    if (inputs_.compare_exchange_weak(st, next, std::memory_order_acq_rel)) {
      if (flush || resume) {
        dispatch([flush, resume](eio_session& s) {
          if (resume) s.resume_reading();
          if (flush && s.pending_get_ && !s.queue_.empty() && !s.flush_scheduled_) s.flush_poll();
        });
      }
      return;
    }
  }
}

void eio_session::deliver_input(bool binary, std::string data) {
  // Counted before it is sent: the actor's input_done() may come at once.
  inputs_.fetch_add(1, std::memory_order_acq_rel);
  if (!handler_) return;
  if (binary)
    handler_->on_binary(std::move(data));
  else
    handler_->on_text(std::move(data));
}

void eio_session::check_backpressure() {
  auto st = inputs_.load(std::memory_order_acquire);
  while ((st & count_mask) >= cfg_.max_inbound_queue && !(st & reading_paused)) {
    if (inputs_.compare_exchange_weak(st, st | reading_paused, std::memory_order_acq_rel)) {
      metrics::add(metrics::global().inbound_pauses);
      if (ws_) ws_->pause_reading(true);
      return;
    }
  }
}

void eio_session::resume_reading() {
  if (ws_) ws_->pause_reading(false);
  if (held_post_) std::exchange(held_post_, nullptr)->reply(text_reply("ok"));
}

void eio_session::post_rejected(close_reason why) {
  dispatch([why](eio_session& s) {
    s.release_post();
    s.terminate(why, true);
  });
}

void eio_session::flush_poll() {
  flush_scheduled_ = false;
  deferred_since_ = never();
  if (!pending_get_) return;
  std::string payload;
  std::size_t reserve = queued_bytes_ + queue_.size() * 2;
  payload.reserve(reserve + reserve / 3);
  for (const auto& p : queue_) {
    if (!p.packet->text.empty()) {
      if (!payload.empty()) payload += record_separator;
      p.append_text(payload);
    }
    for (const auto& b : p.packet->binaries) {
      if (!payload.empty()) payload += record_separator;
      payload += 'b';
      base64::encode_append(payload, b);
    }
  }
  queue_.clear();
  queued_bytes_ = 0;
  if (close_after_flush_) {
    if (!payload.empty()) payload += record_separator;
    payload += '1';
    close_after_flush_ = false;
    clear_deadline(drain_due);
    table_.remove(sid_);
  }
  if (payload.empty()) return;  // nothing to say yet: keep holding the GET
  reply_poll(std::move(payload));
}

void eio_session::reply_poll(std::string payload) {
  auto r = std::move(pending_get_);
  pending_get_.reset();
  r->reply(text_reply(std::move(payload)));
}

// -- websocket -------------------------------------------------------------------------------

void eio_session::probe(ws_link_ptr link) {
  dispatch([link = std::move(link)](eio_session& s) {
    if (s.closed_ || s.ws_ || s.probe_ || !s.cfg_.allow_upgrades) {
      link->close();  // a second WebSocket for this sid
      return;
    }
    s.probe_ = link;
    s.set_deadline(upgrade_due, s.cfg_.upgrade_timeout);  // aborts the upgrade (this probe's)
  });
}

void eio_session::ws_frame(const ws_link_ptr& link, bool binary, std::string data) {
  dispatch([link, binary, data = std::move(data)](eio_session& s) mutable {
    if (s.closed_) return;
    if (link == s.probe_) {
      if (!binary && data == "2probe") {
        s.upgrading_ = true;
        link->send_text("3probe");
        // Release the held GET so that the client can pause polling.
        if (s.pending_get_) {
          if (!s.queue_.empty())
            s.flush_poll();
          else
            s.reply_poll("6");
        }
      } else if (!binary && data == "5" && s.upgrading_) {
        s.finish_upgrade();
      } else {
        s.abort_upgrade();
      }
      return;
    }
    if (link != s.ws_) return;
    if (binary) {
      s.deliver_input(true, std::move(data));
    } else {
      auto p = decode_text(data);
      if (!p) return s.terminate(close_reason::parse_error, true);
      s.on_packet(std::move(*p));
    }
    s.check_backpressure();
  });
}

void eio_session::ws_closed(const ws_link_ptr& link, close_reason why) {
  dispatch([link, why](eio_session& s) {
    if (link == s.probe_) {
      s.probe_.reset();
      s.upgrading_ = false;
      s.clear_deadline(upgrade_due);
    } else if (link == s.ws_) {
      s.terminate(why, true);  // takes the WebSocket branch: closes and forgets the link
    }
  });
}

void eio_session::finish_upgrade() {
  clear_deadline(upgrade_due);
  ws_ = std::move(probe_);
  probe_.reset();
  upgrading_ = false;
  websocket_ = true;
  if (pending_get_) reply_poll("6");
  for (auto& p : queue_) ws_->send(std::move(p));
  queue_.clear();
  queued_bytes_ = 0;
}

void eio_session::abort_upgrade() {
  clear_deadline(upgrade_due);
  upgrading_ = false;
  if (probe_) {
    probe_->close();
    probe_.reset();
  }
}

// -- packets from the client ----------------------------------------------------------------

void eio_session::on_packet(packet&& p) {
  switch (p.type) {
    case packet_type::message: deliver_input(p.binary, std::move(p.data)); break;
    case packet_type::pong: on_pong(); break;
    case packet_type::close: terminate(close_reason::transport_close, true); break;
    case packet_type::ping:
      // In v4 only the server pings; a client ping is a protocol error.
      terminate(close_reason::parse_error, true);
      break;
    default:  // open, upgrade, noop: nothing to do outside an upgrade
      break;
  }
}

// -- heartbeat ---------------------------------------------------------------------------------

void eio_session::schedule_ping() { set_deadline(ping_due, cfg_.ping_interval); }

void eio_session::on_pong() {
  if (!awaiting_pong_) return;
  awaiting_pong_ = false;
  clear_deadline(pong_due);
  schedule_ping();
}

// -- the timer ---------------------------------------------------------------------------------

void eio_session::set_deadline(deadline d, std::chrono::steady_clock::duration after) {
  deadlines_[d] = std::chrono::steady_clock::now() + after;
  arm_timer();
}

// Keeps one wait pending for the earliest deadline. A cleared deadline leaves the wait
// as it is: when it fires, on_timer finds nothing due and waits for the next one.
void eio_session::arm_timer() {
  auto next = *std::min_element(deadlines_.begin(), deadlines_.end());
  if (next == never() || next >= armed_for_) return;  // the pending wait comes first
  armed_for_ = next;
  timer_.expires_at(next);  // cancels the previous wait, if any
  timer_.async_wait([w = weak_from_this()](boost::system::error_code ec) {
    if (ec) return;  // cancelled: replaced by an earlier wait, or the session ended
    if (auto s = w.lock()) s->on_timer();
  });
}

void eio_session::on_timer() {
  armed_for_ = never();
  if (closed_ && !close_after_flush_) return;
  auto now = std::chrono::steady_clock::now();
  auto due = [&](deadline d) {
    if (deadlines_[d] > now) return false;
    deadlines_[d] = never();
    return true;
  };
  if (due(drain_due)) {
    // A closed polling session whose last GET never came.
    close_after_flush_ = false;
    table_.remove(sid_);
    return;
  }
  if (due(upgrade_due) && probe_) abort_upgrade();
  if (due(pong_due) && awaiting_pong_) terminate(close_reason::ping_timeout, true);
  if (due(ping_due) && !closed_) {
    awaiting_pong_ = true;
    enqueue(ping_packet());  // may end the session (send queue over its bound)
    if (!closed_) deadlines_[pong_due] = now + cfg_.ping_timeout;
  }
  arm_timer();  // the next deadline, if any is left
}

// -- outlet -------------------------------------------------------------------------------------

void eio_session::send(outbound packet) {
  if (auto ws = direct_ws_.load()) {
    ws->send(std::move(packet));
    return;
  }
  dispatch([p = std::move(packet)](eio_session& s) mutable {
    if (!s.closed_) s.enqueue(std::move(p));
  });
}

void eio_session::close() {
  dispatch([](eio_session& s) { s.terminate(close_reason::forced_close, true); });
}

void eio_session::shutdown() {
  dispatch([](eio_session& s) { s.terminate(close_reason::server_shutting_down, true); });
}

void eio_session::enqueue(outbound packet) {
  if (ws_) {
    ws_->send(std::move(packet));
    return;
  }
  queued_bytes_ += packet.byte_size();
  queue_.push_back(std::move(packet));
  if (queued_bytes_ > cfg_.max_send_queue) {
    metrics::refused(metrics::refusal::slow_reader);
    log::info("session ", sid_, ": send queue over ", cfg_.max_send_queue,
              " bytes (the client polls too slowly), dropping it");
    queue_.clear();
    queued_bytes_ = 0;
    terminate(close_reason::transport_error, true);
    return;
  }
  // Coalesce: let packets posted right behind this one join the same poll response,
  // and wait for the actor to finish with a POST's inputs (input_done).
  if (pending_get_ && !flush_scheduled_ && !defer_flush()) {
    flush_scheduled_ = true;
    net::post(strand_, [self = shared_from_this()] { self->flush_poll(); });
  }
}

// -- ending ----------------------------------------------------------------------------------------

void eio_session::terminate(close_reason why, bool notify_actor) {
  if (closed_) return;
  closed_ = true;
  direct_ws_.store(nullptr);
  log::debug("session ", sid_, " closed: ", to_string(why));
  deadlines_.fill(never());
  armed_for_ = never();
  timer_.cancel();
  if (held_post_) std::exchange(held_post_, nullptr)->reply(text_reply("ok"));  // it was taken
  if (notify_actor && handler_) handler_->on_close(why);
  if (probe_) {
    probe_->close();
    probe_.reset();
  }
  if (ws_) {
    ws_->close();  // after what is queued: a server DISCONNECT still reaches the client
    ws_.reset();
    table_.remove(sid_);
    return;
  }
  // Polling: the close packet goes out with what is queued, in this GET or the next.
  bool client_closed = why == close_reason::transport_close;
  if (client_closed || why == close_reason::ping_timeout || why == close_reason::transport_error ||
      why == close_reason::parse_error) {
    queue_.clear();
    queued_bytes_ = 0;
    table_.remove(sid_);
    if (pending_get_) reply_poll(client_closed ? "6" : "1");
    return;
  }
  close_after_flush_ = true;
  if (pending_get_) {
    flush_poll();
    return;
  }
  set_deadline(drain_due, polling_drain_time);
}

}  // namespace hub::eio
