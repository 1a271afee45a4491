#include "sio/sio_connection.hpp"

#include "sio/recovery_codec.hpp"
#include "util/log.hpp"
#include "util/metrics.hpp"
#include "util/random_id.hpp"

#include <algorithm>
#include "util/sources.hpp"

namespace hub::sio {
namespace {

// The raw text from element `from` to the last element (they are contiguous).
std::string_view span_of(const std::vector<std::string_view>& elements, std::size_t from) {
  const char* begin = elements[from].data();
  const char* end = elements.back().data() + elements.back().size();
  return std::string_view(begin, static_cast<std::size_t>(end - begin));
}

// The raw text inside an array's brackets ("" for an empty array).
std::optional<std::string_view> inner_text(std::string_view array_text) {
  auto elements = json_args::split_array(array_text);
  if (!elements) return std::nullopt;
  if (elements->empty()) return std::string_view{};
  return span_of(*elements, 0);
}

}  // namespace

// -- inputs --------------------------------------------------------------------------

void connection::tidy() {
  if (!occ_) return;
  occ_->retired.clear();
  std::erase_if(occ_->seen_multi_room, [](const std::weak_ptr<const broadcast>& w) { return w.expired(); });
  if (occ_->empty()) occ_.reset();
}

bool connection::within_preconnect_bound(std::size_t bytes) {
  if (connected_once_ || bytes <= srv->config().max_preconnect_bytes) return true;
  log::info("closing unauthenticated connection: ", bytes, "-byte message before CONNECT (limit ",
            srv->config().max_preconnect_bytes, ")");
  metrics::refused(metrics::refusal::preconnect_too_large);
  metrics::add(metrics::global().protocol_errors);
  close_transport("parse error");
  return false;
}

void connection::on_decoded(decoder::result&& r) {
  if (auto* err = std::get_if<decode_error>(&r)) {
    log::debug("parse error: ", err->reason);
    if (err->exceeded == decode_error::bound::depth) metrics::refused(metrics::refusal::json_too_deep);
    if (err->exceeded == decode_error::bound::members) metrics::refused(metrics::refusal::json_too_wide);
    metrics::add(metrics::global().protocol_errors);
    close_transport("parse error");
  } else if (auto* p = std::get_if<packet>(&r)) {
    handle(std::move(*p));
  }
}

void connection::on_text(std::string_view text) {
  tidy();
  if (closing_ || !within_preconnect_bound(text.size())) return;
  on_decoded(decoder_.feed_text(text, srv->config().payload_limits));
}

void connection::on_binary(std::string bytes) {
  tidy();
  if (closing_ || !within_preconnect_bound(bytes.size())) return;
  on_decoded(decoder_.feed_binary(std::move(bytes)));
}

void connection::input_done() {
  if (auto o = out.lock()) o->input_done();
}

void connection::on_transport_closed(disconnect_reason why) {
  closing_ = true;
  while (!sockets_.empty()) remove_socket(sockets_.begin(), why);
  self->quit();
}

void connection::on_internal_error(const std::string& what) noexcept {
  metrics::refused(metrics::refusal::handler_exception);
  try {
    log::warn("closing a session after an internal error: ", what);
    closing_ = true;
    if (auto o = out.lock()) o->close();
    // The transport's close report will find no actor: run the disconnect handlers now.
    while (!sockets_.empty()) remove_socket(sockets_.begin(), disconnect_reason::server_error);
  } catch (...) {
    // Nothing more can be done for this session; the actor terminates.
  }
}

void connection::on_connect_timeout() {
  if (!connected_once_ && !closing_) close_transport("connect timeout");
}

void connection::on_deadline(const std::string& nsp, const std::string& sid, std::int64_t deadline_ms,
                             const std::string& why) {
  tidy();
  auto it = sockets_.find(nsp);
  if (it == sockets_.end() || it->second->id_ != sid || it->second->close_at_ms_ != deadline_ms) return;
  if (clock_ms() < deadline_ms) return arm_deadline(*it->second, why);  // a long wait, in steps
  log::info("closing a session: ", why);
  metrics::add(metrics::global().sessions_expired);
  close_transport(why);
}

std::int64_t connection::clock_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(self->clock().now().time_since_epoch()).count();
}

void connection::arm_deadline(socket& s, const std::string& why) {
  // In steps of at most 5 minutes: a timer outlives a connection that closes earlier,
  // and CAF keeps it until it fires, so a far deadline would pile up after churn.
  constexpr std::int64_t max_step_ms = std::int64_t{5} * 60 * 1000;
  const auto wait = std::clamp<std::int64_t>(s.close_at_ms_ - clock_ms(), 0, max_step_ms);
  self->delayed_send(self, std::chrono::milliseconds(wait), deadline_atom::value, s.nsp_, s.id_, s.close_at_ms_, why);
}

void connection::on_ack_timeout(const std::string& nsp, const std::string& sid, std::uint64_t id) {
  tidy();
  auto it = sockets_.find(nsp);
  if (it == sockets_.end() || it->second->id_ != sid) return;
  auto& acks = it->second->pending_acks_;
  auto a = acks.find(id);
  if (a == acks.end()) return;
  auto cb = std::move(a->second.on_reply);
  acks.erase(a);
  if (cb) cb(std::nullopt);
}

void connection::on_deliver(const broadcast_ptr& bp, const std::string& origin_key) {
  tidy();
  const broadcast& b = *bp;
  auto it = sockets_.find(b.nsp);
  if (it == sockets_.end()) return;
  socket& s = *it->second;
  if (excluded(s, b.except_rooms)) return;
  if (b.rooms.size() > 1) {
    // One copy arrives from each target room the socket is in: deliver the first one
    // that comes from a room it is still in, drop the rest. Seen broadcasts are kept
    // as weak pointers, so the list empties itself once the broadcast is done.
    auto origin = std::find_if(b.rooms.begin(), b.rooms.end(),
                               [&](const std::string& r) { return room_key(b.nsp, r) == origin_key; });
    if (origin == b.rooms.end() || !in_room(s, *origin)) return;
    auto& seen = occ().seen_multi_room;  // tidy() above dropped the finished ones
    for (const auto& w : seen)
      if (w.lock().get() == bp.get()) return;
    seen.push_back(bp);
  }
  apply(s, b);
}

bool connection::in_room(const socket& s, const std::string& room) { return room == s.id_ || s.rooms_.count(room); }

bool connection::excluded(const socket& s, const std::vector<std::string>& except_rooms) {
  // Node's except names rooms, and a socket's id is a room of its own.
  return std::any_of(except_rooms.begin(), except_rooms.end(), [&](const std::string& r) { return in_room(s, r); });
}

bool connection::matches(const socket& s, const std::vector<std::string>& rooms,
                         const std::vector<std::string>& except_rooms) {
  if (s.recovering_ || excluded(s, except_rooms)) return false;
  if (rooms.empty()) return true;
  return std::any_of(rooms.begin(), rooms.end(), [&](const std::string& r) { return in_room(s, r); });
}

bool connection::apply(socket& s, const broadcast& b) {
  switch (b.op) {
    case broadcast::operation::disconnect: server_disconnect(s, b.close); return true;
    case broadcast::operation::join:
      for (const auto& r : b.op_rooms) join(s, r);
      return true;
    case broadcast::operation::leave:
      for (const auto& r : b.op_rooms) leave(s, r);
      return true;
    case broadcast::operation::emit: break;
  }
  metrics::add(metrics::global().fanout_deliveries);
  if (b.acks) {
    // Each recipient answers under an ack id of its own; the first argument of its
    // answer goes to the broadcaster. A timeout or a disconnect answers nothing.
    auto acks = b.acks;
    auto id = s.next_ack_id_++;
    s.track_ack(id, acks->timeout, [acks](std::optional<event> reply) {
      if (!reply) return;
      const auto& args = reply->args();
      acks->on_ack(args.empty() ? json() : args[0]);
    });
    send(encode_event(s.nsp_, acks->event, acks->args, id));
    return true;
  }
  send_event(s, b.packet, b.stream, b.seq);
  // Handed to the transport (written through, or queued for its network thread).
  if (b.accepted != std::chrono::steady_clock::time_point{})
    metrics::global().delivery_latency.record(std::chrono::steady_clock::now() - b.accepted);
  return true;
}

json connection::describe(const socket& s) const {
  // The shape Node's adapter sends for a RemoteSocket: id, handshake, rooms, data.
  json rooms = json::array({s.id_});
  for (const auto& r : s.rooms_)
    if (!r.empty() && r != s.id_) rooms.push_back(r);
  return json{{"id", s.id_},
              {"handshake", describe_handshake(*hs, s.auth())},
              {"rooms", std::move(rooms)},
              {"data", s.data_.is_null() ? json::object() : s.data_}};
}

json connection::on_describe(const describe_query& q) {
  tidy();
  auto it = sockets_.find(q.nsp);
  if (it == sockets_.end()) return json();
  const socket& s = *it->second;
  if (!matches(s, q.rooms, q.except)) return json();
  return q.ids_only ? json(s.id_) : describe(s);
}

bool connection::on_ack_emit(const broadcast_ptr& b) {
  tidy();
  auto it = sockets_.find(b->nsp);
  if (it == sockets_.end()) return false;
  socket& s = *it->second;
  if (!matches(s, b->rooms, b->except_rooms)) return false;
  return apply(s, *b);
}

void connection::register_own_room(const socket& s) {
  self->send(srv->directory(), own_join_atom::value, s.nsp_, s.id_, caf::actor_cast<caf::actor>(self));
}

void connection::unregister_own_room(const socket& s) {
  self->send(srv->directory(), own_leave_atom::value, s.nsp_, s.id_);
}

// -- used by socket ---------------------------------------------------------------------

void connection::send(outbound packet) {
  metrics::add(metrics::global().packets_out);
  if (auto o = out.lock()) o->send(std::move(packet));
}

void connection::send_packet(const packet& p) {
  auto w = std::make_shared<wire_packet>();
  w->text.reserve(p.data.size() + p.nsp.size() + 8);
  w->text += '4';
  encode_append(w->text, p);
  w->binaries = p.attachments;
  send(std::move(w));
}

void connection::join(socket& s, const std::string& room) {
  if (!s.rooms_.insert(room).second) return;
  self->send(srv->directory(), join_atom::value, room_key(s.nsp_, room), caf::actor_cast<caf::actor>(self));
  if (recovery_on(s) && !s.recovering_) track_stream_join(s, room);
}

bool connection::leave_room(socket& s, const std::string& room) {
  if (s.rooms_.erase(room) == 0) return false;
  self->send(srv->directory(), leave_atom::value, room_key(s.nsp_, room), caf::actor_cast<caf::actor>(self));
  return true;
}

void connection::leave(socket& s, const std::string& room) {
  if (!leave_room(s, room)) return;
  if (recovery_on(s)) {
    if (auto stream = s.def_->stream_of_(room)) {
      s.delivered_.erase(*stream);
      s.joined_at_.erase(*stream);
      s.offset_text_.clear();
    }
    persist(s);
  }
}

void connection::server_disconnect(socket& s, bool close_connection) {
  if (close_connection) {
    for (auto& [nsp, sock] : sockets_) send_packet(packet{packet_type::disconnect, nsp, {}, {}, {}});
    while (!sockets_.empty()) remove_socket(sockets_.begin(), disconnect_reason::server_namespace_disconnect);
    close_transport("server disconnect");
    return;
  }
  auto it = sockets_.find(s.nsp_);
  if (it == sockets_.end()) return;
  send_packet(packet{packet_type::disconnect, s.nsp_, {}, {}, {}});
  remove_socket(it, disconnect_reason::server_namespace_disconnect);
}

// -- packet handling -------------------------------------------------------------------

void connection::handle(packet&& p) {
  metrics::add(metrics::global().packets_in);
  if (p.type == packet_type::connect) {
    handle_connect(std::move(p));
    return;
  }
  auto it = sockets_.find(p.nsp);
  if (it == sockets_.end()) {
    // Any packet but CONNECT for a namespace that is not connected is a protocol error.
    close_transport("packet for a namespace not connected");
    return;
  }
  socket& s = *it->second;
  if (p.type == packet_type::disconnect) {
    remove_socket(it, disconnect_reason::client_namespace_disconnect);
  } else if (is_event(p.type)) {
    handle_event(s, std::move(p));
  } else if (is_ack(p.type)) {
    handle_ack(s, std::move(p));
  } else {
    close_transport("unexpected packet type from client");
  }
}

void connection::handle_connect(packet&& p) {
  if (sockets_.count(p.nsp) || (occ_ && occ_->pending_connects.count(p.nsp))) {
    close_transport("duplicate CONNECT");
    return;
  }
  const namespace_def* def = srv->find(p.nsp);
  if (!def) {
    send_packet(packet{packet_type::connect_error, p.nsp, {}, R"({"message":"Invalid namespace"})", {}});
    return;
  }
  auto s = std::make_unique<socket>();
  s->self_ = self;
  s->conn_ = this;
  s->def_ = def;
  s->id_ = random_id();
  s->nsp_ = p.nsp;
  s->handshake_ = hs.get();
  s->auth_text_ = std::move(p.data);
  for (const auto& m : def->middlewares_) {
    if (auto refusal = m(*s)) {
      json body = json::object();
      body["message"] = refusal->message;
      if (refusal->data) body["data"] = *refusal->data;
      send_packet(packet{packet_type::connect_error, p.nsp, {}, body.dump(), {}});
      return;
    }
  }
  connected_once_ = true;
  const json& auth = s->auth();
  if (recovery_on(*s) && auth.contains("pid") && auth["pid"].is_string()) {
    std::optional<std::string> offset;
    if (auth.contains("offset") && auth["offset"].is_string()) offset = auth["offset"].get<std::string>();
    auto pid = auth["pid"].get<std::string>();
    start_recovery(std::move(s), std::move(pid), std::move(offset));
    return;
  }
  finish_connect(std::move(s));
}

void connection::finish_connect(std::unique_ptr<socket> s) {
  socket& ref = *s;
  bool recovery = recovery_on(ref);
  if (recovery) ref.pid_ = random_id();
  sockets_.emplace(ref.nsp_, std::move(s));
  json reply = json::object();
  reply["sid"] = ref.id_;
  if (recovery) reply["pid"] = ref.pid_;
  send_packet(packet{packet_type::connect, ref.nsp_, {}, reply.dump(), {}});
  join(ref, std::string{});  // the namespace-wide room
  register_own_room(ref);
  if (ref.def_->on_connection_) ref.def_->on_connection_(ref);
  ref.auth_.reset();  // parsed again if a later handler asks
  if (recovery) persist(ref);
}

void connection::handle_event(socket& s, packet&& p) {
  auto elements = json_args::split_array(p.data);
  if (!elements || elements->empty()) {
    close_transport("malformed event");
    return;
  }
  const auto& first = (*elements)[0];
  std::string name;
  if (!first.empty() && first.front() == '"') {
    auto parsed = json::parse(first, nullptr, false);
    if (!parsed.is_string()) {
      close_transport("malformed event name");
      return;
    }
    name = parsed.get<std::string>();
  } else {
    name = std::string(first);  // numeric event names, as Node allows
  }
  std::string raw_args;
  if (elements->size() > 1) raw_args = std::string(span_of(*elements, 1));
  ack_sender ack;
  if (p.id) {
    const auto& cfg = srv->config();
    if (!s.acks_owed_) s.acks_owed_ = std::make_shared<std::atomic<std::uint32_t>>(0);
    if (s.acks_owed_->load(std::memory_order_relaxed) >= cfg.max_pending_acks) {
      // The client keeps asking faster than we answer: refuse this one without
      // handling it, so what it holds stays bounded.
      metrics::refused(metrics::refusal::too_many_pending_acks);
      ack_sender(out, p.nsp, *p.id)(json::array({cfg.overload_reply}));
      return;
    }
    s.acks_owed_->fetch_add(1, std::memory_order_relaxed);
    std::shared_ptr<void> owed(nullptr,
                               [count = s.acks_owed_](void*) { count->fetch_sub(1, std::memory_order_relaxed); });
    ack = ack_sender(out, p.nsp, *p.id, std::move(owed));
  }
  event ev(std::move(name), std::move(raw_args), std::move(p.attachments), std::move(ack));
  const namespace_def& def = *s.def_;
  auto h = def.handlers_.find(ev.name());
  if (h != def.handlers_.end())
    h->second(s, ev);
  else if (def.on_any_)
    def.on_any_(s, ev);
}

void connection::handle_ack(socket& s, packet&& p) {
  auto a = s.pending_acks_.find(*p.id);
  if (a == s.pending_acks_.end()) return;  // unknown or late: ignored, as in Node
  auto cb = std::move(a->second.on_reply);
  s.pending_acks_.erase(a);
  auto raw = inner_text(p.data.empty() ? std::string_view("[]") : std::string_view(p.data));
  if (!raw) {
    close_transport("malformed ack");
    return;
  }
  if (cb) cb(event(std::string{}, std::string(*raw), std::move(p.attachments), ack_sender{}));
}

void connection::close_transport(const std::string& why) {
  if (closing_) return;
  log::debug("closing connection: ", why);
  closing_ = true;
  if (auto o = out.lock()) o->close();
  // The transport is already gone and its own close report is on its way; end now.
  else
    on_transport_closed(disconnect_reason::transport_close);
}

void connection::remove_socket(std::map<std::string, std::unique_ptr<socket>>::iterator it, disconnect_reason why) {
  auto& retired = occ().retired;
  retired.push_back(std::move(it->second));
  auto& s = retired.back();
  sockets_.erase(it);
  for (auto& [id, pending] : s->pending_acks_)
    if (pending.on_reply) pending.on_reply(std::nullopt);
  s->pending_acks_.clear();
  // The handler still sees the socket's rooms (Node's "disconnecting"), then it leaves them.
  // A socket still being recovered never reached the application.
  if (s->def_->on_disconnect_ && !s->recovering_) s->def_->on_disconnect_(*s, why);
  if (recovery_on(*s)) {
    if (s->recovering_)
      // Gone before its recovery finished: the record still describes the session as its
      // last node left it, and the client's next attempt recovers from it.
      log::debug("connection closed while its session was being recovered (", to_string(why), ")");
    else if (recoverable(why))
      persist(*s, recovery::to_ms(wall_now()));
    else
      forget(*s);
  }
  // Leave without touching the record just written.
  if (!s->recovering_) unregister_own_room(*s);
  auto rooms = s->rooms_;
  for (const auto& r : rooms) leave_room(*s, r);
}

// -- the actor -----------------------------------------------------------------------------

namespace {

struct connection_state {
  connection conn;
};

caf::behavior connection_actor(caf::stateful_actor<connection_state>* self, const server* srv, outlet_weak out,
                               std::shared_ptr<const handshake> hs) {
  auto& c = self->state.conn;
  c.self = self;
  c.srv = srv;
  c.out = std::move(out);
  c.hs = std::move(hs);
  self->delayed_send(self, srv->config().connect_timeout, connect_timeout_atom::value);
  // A throw in any handler (ours or the application's, acks and replies included) ends
  // this session only: the transport is closed so that the client sees a disconnect and
  // reconnects, instead of keeping a session whose actor has died. CAF then terminates
  // the actor.
  self->set_exception_handler([self](std::exception_ptr& e) -> caf::error {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      what = x.what();
    } catch (...) {
    }
    self->state.conn.on_internal_error(what);
    return caf::exit_reason::unhandled_exception;
  });
  return {
    [=](eio_text_atom, const std::string& text) {
      self->state.conn.on_text(text);
      self->state.conn.input_done();
    },
    [=](eio_binary_atom, std::string& bytes) {
      self->state.conn.on_binary(std::move(bytes));
      self->state.conn.input_done();
    },
    [=](eio_closed_atom, close_reason why) { self->state.conn.on_transport_closed(from_transport(why)); },
    [=](connect_timeout_atom) { self->state.conn.on_connect_timeout(); },
    [=](persist_atom, const std::string& nsp, const std::string& sid) { self->state.conn.on_persist(nsp, sid); },
    [=](deadline_atom, const std::string& nsp, const std::string& sid, std::int64_t deadline_ms,
        const std::string& why) { self->state.conn.on_deadline(nsp, sid, deadline_ms, why); },
    [=](ack_timeout_atom, const std::string& nsp, const std::string& sid, std::uint64_t id) {
      self->state.conn.on_ack_timeout(nsp, sid, id);
    },
    [=](deliver_atom, const broadcast_ptr& b, const std::string& origin) { self->state.conn.on_deliver(b, origin); },
    [=](describe_atom, const describe_query_ptr& q) { return self->state.conn.on_describe(*q); },
    [=](ack_emit_atom, const broadcast_ptr& b) { return self->state.conn.on_ack_emit(b); },
  };
}

}  // namespace

caf::actor server::spawn_connection(outlet_weak out, std::shared_ptr<const handshake> hs) const {
  return sys_.spawn(connection_actor, this, std::move(out), std::move(hs));
}

session_handler_ptr server::open_session(outlet_weak out, std::shared_ptr<const handshake> hs) const {
  return std::make_shared<actor_session>(spawn_connection(std::move(out), std::move(hs)));
}

}  // namespace hub::sio
