// Test doubles for the Engine.IO transport (net/transport): a responder and a ws_link
// that record what the session does with them, a CAF actor that records what the
// session tells its handler, and a harness that drives hub::eio::engine on a real
// io_context run in the test thread. No sockets anywhere.
#pragma once

#include "sio/messages.hpp"
#include "net/transport/seam.hpp"
#include "apps/echo/echo_app.hpp"
#include "net/transport/engine.hpp"
#include "net/transport/engine_types.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace hub::test {

using namespace std::chrono_literals;

// -- responder ------------------------------------------------------------------------------

// Records every reply. A held long-poll has count() == 0 until the session answers it.
class fake_responder : public eio::responder {
 public:
  void reply(eio::http_reply r) override {
    std::lock_guard lock(mutex_);
    replies_.push_back(std::move(r));
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return replies_.size();
  }
  // The n-th reply; throws when there is none (so a missing reply fails the test).
  eio::http_reply at(std::size_t n) const {
    std::lock_guard lock(mutex_);
    if (n >= replies_.size()) throw std::out_of_range("fake_responder: no reply #" + std::to_string(n));
    return replies_[n];
  }
  eio::http_reply first() const { return at(0); }

 private:
  mutable std::mutex mutex_;
  std::vector<eio::http_reply> replies_;
};
using fake_responder_ptr = std::shared_ptr<fake_responder>;

// -- ws_link --------------------------------------------------------------------------------

struct ws_frame_rec {
  bool binary = false;
  std::string data;
};

// Records frames in wire order (send(packet) = its text frame, then one binary frame per
// attachment) and how often close() was called.
class fake_ws_link : public eio::ws_link {
 public:
  void send(outbound packet) override {
    std::lock_guard lock(mutex_);
    if (!packet.packet->text.empty()) frames_.push_back({false, packet.text()});
    for (const auto& b : packet.packet->binaries) frames_.push_back({true, b});
    if (closes_ > 0) ++sent_after_close_;
  }
  void send_text(std::string text) override {
    std::lock_guard lock(mutex_);
    frames_.push_back({false, std::move(text)});
    if (closes_ > 0) ++sent_after_close_;
  }
  void close() override {
    std::lock_guard lock(mutex_);
    ++closes_;
  }
  void pause_reading(bool paused) override {
    std::lock_guard lock(mutex_);
    pauses_.push_back(paused);
  }
  // Every pause_reading() call in order (true: paused).
  std::vector<bool> pauses() const {
    std::lock_guard lock(mutex_);
    return pauses_;
  }

  std::vector<ws_frame_rec> frames() const {
    std::lock_guard lock(mutex_);
    return frames_;
  }
  std::size_t frame_count() const {
    std::lock_guard lock(mutex_);
    return frames_.size();
  }
  // Text of the n-th frame ("" plus a failed lookup shows up as a mismatch).
  std::string text(std::size_t n) const {
    std::lock_guard lock(mutex_);
    return n < frames_.size() ? frames_[n].data : std::string("<no frame #" + std::to_string(n) + ">");
  }
  int closes() const {
    std::lock_guard lock(mutex_);
    return closes_;
  }
  int sent_after_close() const {
    std::lock_guard lock(mutex_);
    return sent_after_close_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<ws_frame_rec> frames_;
  std::vector<bool> pauses_;
  int closes_ = 0;
  int sent_after_close_ = 0;
};
using fake_ws_link_ptr = std::shared_ptr<fake_ws_link>;

// -- recording actor -----------------------------------------------------------------------

struct actor_event {
  enum kind_t { text, bin, close } kind;
  std::string data;  // payload, bytes or close reason
};

// Filled by the recording actor on CAF's threads; read by the test thread.
class event_log {
 public:
  void push(actor_event e) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(e));
  }
  std::vector<actor_event> snapshot() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  std::size_t count(actor_event::kind_t k) const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& e : events_) n += e.kind == k;
    return n;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return events_.size();
  }
  bool closed() const { return count(actor_event::close) > 0; }
  // Reason of the first close, or nullopt.
  std::optional<std::string> close_reason() const {
    std::lock_guard lock(mutex_);
    for (const auto& e : events_)
      if (e.kind == actor_event::close) return e.data;
    return std::nullopt;
  }
  // Data of the n-th event of kind k, or nullopt.
  std::optional<std::string> nth(actor_event::kind_t k, std::size_t n) const {
    std::lock_guard lock(mutex_);
    for (const auto& e : events_)
      if (e.kind == k && n-- == 0) return e.data;
    return std::nullopt;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<actor_event> events_;
};
using event_log_ptr = std::shared_ptr<event_log>;

// Records what the session delivers; tells the outlet each input is handled (as the
// connection actor does), so that poll responses are not held for it.
// `manual`: the test calls input_done() itself (an actor that is behind).
inline caf::behavior recording_actor(caf::event_based_actor*, event_log_ptr log, outlet_weak out, bool manual) {
  auto done = [out, manual] {
    if (manual) return;
    if (auto o = out.lock()) o->input_done();
  };
  return {
    [log, done](eio_text_atom, const std::string& s) {
      log->push({actor_event::text, s});
      done();
    },
    [log, done](eio_binary_atom, const std::string& s) {
      log->push({actor_event::bin, s});
      done();
    },
    [log](eio_closed_atom, close_reason why) {
      log->push({actor_event::close, std::string(to_string(why))});
    },
  };
}

// -- harness ---------------------------------------------------------------------------------

inline wire_packet_ptr text_packet(std::string text, std::vector<std::string> binaries = {}) {
  auto p = std::make_shared<wire_packet>();
  p->text = std::move(text);
  p->binaries = std::move(binaries);
  return p;
}

// Everything one test needs. Member order matters for teardown: the engine (and the
// sessions in its table) go first, then the io_context (pending handlers may still hold
// sessions), and the actor system last, because ~eio_session may still message its actor.
class transport_harness {
 public:
  struct session_rec {
    outlet_weak out;
    caf::actor actor;
    event_log_ptr log;
    std::shared_ptr<const handshake> hs;
  };

  // What handles each session: a recorder that reports each input handled at once, one
  // that leaves it to the test (out()->input_done()), or the Engine.IO echo actor.
  enum class actor_kind { recorder, manual_recorder, echo };
  explicit transport_harness(eio::engine_config cfg = {}, eio::cors_config cors = {},
                             actor_kind kind = actor_kind::recorder)
    : sys_(caf_cfg_) {
    engine_ = std::make_unique<eio::engine>(
      ioc_, cfg, std::move(cors), [this, kind](outlet_weak out, std::shared_ptr<const handshake> hs) {
        // Called synchronously from handle_http / attach_websocket, i.e. the test thread.
        auto log = std::make_shared<event_log>();
        auto a = kind == actor_kind::echo ? apps::spawn_engine_echo(sys_, out)
                                          : sys_.spawn(recording_actor, log, out, kind == actor_kind::manual_recorder);
        sessions_.push_back({std::move(out), a, log, std::move(hs)});
        return std::make_shared<actor_session>(a);
      });
  }

  ~transport_harness() {
    for (auto& s : sessions_) caf::anon_send_exit(s.actor, caf::exit_reason::user_shutdown);
    engine_.reset();
    // Let handlers that still hold sessions run or be dropped before ~io_context.
    ioc_.run_for(std::chrono::milliseconds(5));
  }

  transport_harness(const transport_harness&) = delete;
  transport_harness& operator=(const transport_harness&) = delete;

  eio::engine& engine() { return *engine_; }
  boost::asio::io_context& ioc() { return ioc_; }
  std::size_t session_count() const { return sessions_.size(); }
  session_rec& session(std::size_t n = 0) {
    if (n >= sessions_.size()) throw std::out_of_range("no session #" + std::to_string(n));
    return sessions_[n];
  }
  event_log& events(std::size_t n = 0) { return *session(n).log; }
  std::shared_ptr<outlet> out(std::size_t n = 0) {
    auto o = session(n).out.lock();
    if (!o) throw std::runtime_error("session's outlet has expired");
    return o;
  }

  // Runs the io_context in this thread until pred() holds or the timeout passes.
  // Returns pred()'s final value.
  template <class Pred>
  bool run_until(Pred pred, std::chrono::milliseconds timeout = 2000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return pred();
      auto slice = std::min<std::chrono::steady_clock::duration>(deadline - now, 2ms);
      ioc_.run_for(slice);
    }
    return true;
  }
  // Runs the io_context for a fixed time (to show that something does NOT happen).
  void run_for(std::chrono::milliseconds d) {
    auto deadline = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < deadline) ioc_.run_until(deadline);
  }

  // -- requests ------------------------------------------------------------------------------

  static eio::request_info request(std::string method, std::map<std::string, std::string> query, std::string body = {},
                                   std::map<std::string, std::string> headers = {}) {
    eio::request_info r;
    r.method = std::move(method);
    r.target = "/engine.io/";
    for (const auto& [k, v] : query) {
      r.target += r.target.back() == '/' ? '?' : '&';
      r.target += k + "=" + v;
    }
    r.query = std::move(query);
    r.headers = std::move(headers);
    r.body = std::move(body);
    r.remote_address = "127.0.0.1";
    return r;
  }

  // Sends a request to the engine; returns its responder (the reply may come later).
  fake_responder_ptr http(eio::request_info req, eio::session_ptr* held = nullptr) {
    auto r = std::make_shared<fake_responder>();
    auto s = engine_->handle_http(std::move(req), r);
    if (held) *held = s;
    return r;
  }

  // Polling handshake; returns the sid (empty on failure) and leaves the reply in *out.
  std::string handshake_polling(eio::http_reply* out = nullptr) {
    auto r = http(request("GET", {{"EIO", "4"}, {"transport", "polling"}}));
    if (!run_until([&] { return r->count() > 0; })) return {};
    auto rep = r->first();
    if (out) *out = rep;
    if (rep.body.size() < 2 || rep.body[0] != '0') return {};
    auto j = nlohmann::json::parse(rep.body.substr(1), nullptr, false);
    if (j.is_discarded() || !j.contains("sid")) return {};
    return j["sid"].get<std::string>();
  }

  fake_responder_ptr get(const std::string& sid, eio::session_ptr* held = nullptr) {
    return http(request("GET", {{"EIO", "4"}, {"transport", "polling"}, {"sid", sid}}), held);
  }
  fake_responder_ptr post(const std::string& sid, std::string body,
                          std::map<std::string, std::string> headers = {{"content-type", "text/plain;charset=UTF-8"}}) {
    return http(
      request("POST", {{"EIO", "4"}, {"transport", "polling"}, {"sid", sid}}, std::move(body), std::move(headers)));
  }

  // A GET, run until it is answered; returns the reply (throws if none came).
  eio::http_reply get_now(const std::string& sid, std::chrono::milliseconds timeout = 2000ms) {
    auto r = get(sid);
    run_until([&] { return r->count() > 0; }, timeout);
    return r->first();
  }
  eio::http_reply post_now(const std::string& sid, std::string body) {
    auto r = post(sid, std::move(body));
    run_until([&] { return r->count() > 0; });
    return r->first();
  }

  // A WebSocket request (Upgrade header present); sid empty for a fresh session.
  static eio::request_info ws_request(const std::string& sid = {}) {
    std::map<std::string, std::string> q{{"EIO", "4"}, {"transport", "websocket"}};
    if (!sid.empty()) q["sid"] = sid;
    auto r = request("GET", std::move(q), {}, {{"upgrade", "websocket"}, {"connection", "Upgrade"}});
    r.websocket_upgrade = true;
    return r;
  }

  // check_websocket + attach_websocket; returns the session the link's frames go to
  // (nullptr if the engine refused, then *refusal holds the reply).
  eio::session_ptr open_ws(const fake_ws_link_ptr& link, const std::string& sid = {},
                           eio::http_reply* refusal = nullptr) {
    auto v = engine_->check_websocket(ws_request(sid));
    if (auto* rep = std::get_if<eio::http_reply>(&v)) {
      if (refusal) *refusal = *rep;
      return nullptr;
    }
    return engine_->attach_websocket(std::get<eio::engine::ws_plan>(std::move(v)), link);
  }

 private:
  caf::actor_system_config caf_cfg_;
  caf::actor_system sys_;
  std::vector<session_rec> sessions_;
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{ioc_.get_executor()};
  std::unique_ptr<eio::engine> engine_;
};

}  // namespace hub::test
