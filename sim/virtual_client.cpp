#include "sim/virtual_client.hpp"

#include "protocol/engineio_packet.hpp"
#include "sim/simulation.hpp"

#include <algorithm>

namespace hub::sim {

virtual_client::virtual_client(simulation& sim, int index, std::string user, std::vector<std::string> projects, rng r)
  : index(index), user(std::move(user)), sim_(sim), rng_(r) {
  for (auto& p : projects) rooms[p];
}

void virtual_client::start() { connect(); }

// -- replay ----------------------------------------------------------------------------------

void virtual_client::play(script sc) {
  scripted_ = true;
  next_ack_ = 1'000'000'000;  // our own acks (probes, syncs, rejoins) never collide with recorded ids
  rooms.clear();
  sim_.at(sc.opened, [this] { connect(); });
  for (auto& it : sc.items) sim_.at(std::max(it.at, sc.opened), [this, it] { play_item(it); });
}

void virtual_client::play_item(const script_item& it) {
  if (done_) return;
  if (it.ev == "close") {
    // The recorded transport ended. A close the server caused is the server's to
    // repeat (or not); a client-side one is replayed.
    if (it.data == "forced close") return;
    sim_.log(index, "replay-close", "\"reason\":" + json_escape(it.data));
    done_ = true;
    if (link_) {
      auto l = link_;
      sim_.net.client_close(l);
      link_.reset();
    }
    ph = phase::offline;
    return;
  }
  if (it.ev != "text") return;  // binary attachments: the hub uses none
  if (!it.data.empty() && it.data[0] == '0') {
    connect_text_ = it.data;
    if (ph == phase::open) send_connect();
    return;
  }
  if (ph == phase::connected)
    send_recorded(it.data);
  else
    pending_.push_back(it.data);
}

void virtual_client::send_connect() {
  // The recorded CONNECT, with this run's pid and offset when there is a session to recover.
  std::string text = connect_text_;
  auto brace = text.find('{');
  if (pid_ && brace != std::string::npos) {
    auto auth = json::parse(text.substr(brace), nullptr, false);
    if (auth.is_object()) {
      auth["pid"] = *pid_;
      if (offset_)
        auth["offset"] = *offset_;
      else
        auth.erase("offset");
      text = text.substr(0, brace) + auth.dump();
    }
  } else if (brace != std::string::npos) {
    auto auth = json::parse(text.substr(brace), nullptr, false);
    if (auth.is_object() && (auth.contains("pid") || auth.contains("offset"))) {
      auth.erase("pid");  // the recorded server's session means nothing here
      auth.erase("offset");
      text = text.substr(0, brace) + auth.dump();
    }
  }
  sim_.log(index, "out", "\"p\":" + json_escape("4" + text));
  sim_.net.client_send(link_, "4" + text);
}

void virtual_client::send_recorded(const std::string& sio_text) {
  // Track what the recorded client asked for, so that acks and rooms are understood.
  sio::decoder d;
  auto r = d.feed_text(sio_text);
  if (auto* p = std::get_if<sio::packet>(&r); p && sio::is_event(p->type)) {
    auto args = json::parse(p->data, nullptr, false);
    if (args.is_array() && !args.empty() && args[0].is_string()) {
      auto name = args[0].get<std::string>();
      json payload = args.size() > 1 ? args[1] : json();
      std::string project = payload.is_object() ? payload.value("projectId", json()).dump() : payload.dump();
      if (payload.is_object() && payload.contains("projectId") && payload["projectId"].is_string())
        project = payload["projectId"].get<std::string>();
      else if (payload.is_string())
        project = payload.get<std::string>();
      std::string kind = "other";
      if (name == "join-chat-room") {
        auto& rv = rooms[project];
        rv.want = true;
        rv.m = room_view::member::joining;
        rv.chain_on = true;
        rv.chain_last.reset();
        kind = "join";
      } else if (name == "leave-chat-room") {
        auto& rv = rooms[project];
        rv.want = false;
        rv.m = room_view::member::leaving;
        rv.chain_on = false;
        kind = "leave";
      } else if (name == "send-message") {
        kind = "send";
      }
      if (p->id) acks_[*p->id] = pending{kind, project, 0};
    }
  }
  sim_.log(index, "out", "\"p\":" + json_escape("4" + sio_text));
  sim_.net.client_send(link_, "4" + sio_text);
}

// -- connection lifecycle ------------------------------------------------------------------

void virtual_client::connect() {
  if (paused_ || ph != phase::offline || done_) return;  // a paused tab reconnects when it wakes
  ph = phase::connecting;
  sim_.log(index, "connecting", "\"attempt\":" + std::to_string(attempts_));
  if (partitioned || sim_.node_for(index) < 0) {
    // Nothing answers: the attempt times out (partition) or is refused (server down).
    nanos wait = partitioned ? sim_.m.connect_timeout : 2 * sim_.net.delay(index);
    sim_.after(wait, [this] {
      if (ph == phase::connecting && !link_) on_connect_failed();
    });
    return;
  }
  link_ = sim_.net.open(index);
}

void virtual_client::on_connect_failed() {
  sim_.log(index, "connect-failed");
  ph = phase::offline;
  schedule_reconnect();
}

void virtual_client::schedule_reconnect() {
  // socket.io-client: reconnectionDelay 1 s doubling to 5 s, randomizationFactor 0.5.
  ++attempts_;
  std::int64_t base = std::min<std::int64_t>(5000, 1000LL << std::min(attempts_ - 1, 8));
  std::int64_t delay = base / 2 + static_cast<std::int64_t>(rng_.below(static_cast<std::uint64_t>(base) + 1));
  sim_.after(ms(delay), [this] { connect(); });
}

void virtual_client::on_open(std::uint64_t link) {
  if (!link_ || link_->id != link || ph != phase::connecting) return;
  ph = phase::open;
  if (scripted_) {
    if (!connect_text_.empty()) send_connect();
    return;
  }
  json auth = json{{"userId", user}, {"userName", user}};
  if (pid_) {
    auth["pid"] = *pid_;
    if (offset_) auth["offset"] = *offset_;
  }
  sio::packet p;
  p.type = sio::packet_type::connect;
  p.data = auth.dump();
  std::string text = "4" + sio::encode(p);
  sim_.log(index, "out", "\"p\":" + json_escape(text));
  sim_.net.client_send(link_, std::move(text));
}

void virtual_client::on_closed(std::uint64_t link, const std::string& reason) {
  if (done_) return;
  if (paused_) {
    inbox_.push_back([this, link, reason] { on_closed(link, reason); });
    return;
  }
  if (!link_ || link_->id != link) return;
  lost(reason);
}

void virtual_client::lost(const std::string& reason) {
  sim_.log(index, "disconnected", "\"reason\":" + json_escape(reason));
  link_.reset();
  ph = phase::offline;
  acks_.clear();         // socket.io-client never calls acks of a lost connection
  typing_shown.clear();  // a UI drops typing indicators when it goes offline
  decoder_ = sio::decoder{};
  for (auto& [p, r] : rooms) r.syncing = false;
  if (done_) return;
  ++reconnects;
  ++sim_.stats.reconnects;
  schedule_reconnect();
}

// -- receiving -----------------------------------------------------------------------------

void virtual_client::on_packet(std::uint64_t link, const std::string& text, nanos sent_at, int incarnation) {
  if (paused_) {
    inbox_.push_back([this, link, text, sent_at, incarnation] { on_packet(link, text, sent_at, incarnation); });
    return;
  }
  if (!link_ || link_->id != link) return;
  sim_.tr.mix(text);
  auto e = eio::decode_text(text);
  if (!e || e->type != eio::packet_type::message)
    sim_.check.fail("client-protocol", "not an Engine.IO message: " + text, index, sim_.now());
  auto r = decoder_.feed_text(e->data);
  if (auto* err = std::get_if<sio::decode_error>(&r))
    sim_.check.fail("client-protocol", err->reason + ": " + text, index, sim_.now());
  if (auto* p = std::get_if<sio::packet>(&r)) handle(*p, sent_at, incarnation);
}

void virtual_client::handle(const sio::packet& p, nanos sent_at, int incarnation) {
  using sio::packet_type;
  if (p.type == packet_type::connect) {
    on_connected(json::parse(p.data, nullptr, false));
  } else if (p.type == packet_type::connect_error) {
    sim_.log(index, "connect-error", "\"data\":" + json_escape(p.data));
    auto l = link_;
    sim_.net.client_close(l);
    lost("connect_error");
  } else if (p.type == packet_type::disconnect) {
    auto l = link_;
    sim_.net.client_close(l);
    pid_.reset();  // io server disconnect: not recoverable
    lost("io server disconnect");
  } else if (sio::is_event(p.type)) {
    json args = json::parse(p.data, nullptr, false);
    if (!args.is_array() || args.empty() || !args[0].is_string())
      sim_.check.fail("client-protocol", "bad event: " + p.data, index, sim_.now());
    // socket.io-client with recovery: the last string argument is the offset.
    if (pid_ && args.size() > 1 && args.back().is_string()) {
      offset_ = args.back().get<std::string>();
      args.erase(args.size() - 1);
    }
    std::string name = args[0].get<std::string>();
    args.erase(0);
    on_event(name, args);
  } else if (sio::is_ack(p.type) && p.id) {
    auto it = acks_.find(*p.id);
    if (it == acks_.end()) return;
    auto what = std::move(it->second);
    acks_.erase(it);
    on_ack(what, json::parse(p.data, nullptr, false), sent_at, incarnation);
  }
}

void virtual_client::on_connected(const json& body) {
  if (!body.is_object() || !body.contains("sid"))
    sim_.check.fail("client-protocol", "CONNECT reply without sid: " + body.dump(), index, sim_.now());
  std::string pid = body.value("pid", std::string{});
  bool recovered = pid_ && !pid.empty() && pid == *pid_;
  ph = phase::connected;
  attempts_ = 0;
  healthy_since = sim_.now();
  sim_.log(index, "connected", std::string("\"recovered\":") + (recovered ? "true" : "false"));
  if (recovered) {
    ++recoveries;
    ++sim_.stats.recovered;
    for (auto& [project, r] : rooms) {
      if (r.m == room_view::member::joined) {
        // The session must still be in this room: stop-typing is refused outside it.
        emit("stop-typing", json{{"projectId", project}}, "probe", project);
      } else if (r.m == room_view::member::joining) {
        join(project);
      } else if (r.m == room_view::member::leaving) {
        emit("leave-chat-room", project, "leave", project);
      }
      // A sync cut off by the disconnect is still owed: the recovered session only
      // replays what followed its join.
      if (r.m == room_view::member::joined && r.base && (r.contiguous < r.owed || !r.ahead.empty())) sync(project);
    }
    flush_pending();
    return;
  }
  pid_ = pid.empty() ? std::nullopt : std::optional<std::string>(pid);
  offset_.reset();
  for (auto& [project, r] : rooms) {
    r.m = room_view::member::none;
    r.chain_on = false;
    r.chain_last.reset();
    if (r.want) join(project);
  }
  flush_pending();
}

void virtual_client::flush_pending() {
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& t : pending) send_recorded(t);
}

void virtual_client::on_event(const std::string& name, json& args) {
  const json payload = args.empty() ? json() : args[0];
  if (name == "new-message") {
    on_message(payload, true);
  } else if (name == "user-typing") {
    auto u = payload.value("userId", std::string{});
    typing_shown.try_emplace(u, sim_.now());
    sim_.log(index, "typing-shown", "\"user\":" + json_escape(u));
  } else if (name == "user-stopped-typing") {
    typing_shown.erase(payload.value("userId", std::string{}));
  }
}

void virtual_client::on_message(const json& msg, bool live) {
  auto project = msg.value("projectId", std::string{});
  auto seq = msg.value("seq", std::uint64_t{0});
  auto it = rooms.find(project);
  if (it == rooms.end())
    sim_.check.fail("delivery-order", "new-message of " + project + ", a room this client never joined", index,
                    sim_.now());
  auto& r = it->second;
  sim_.log(index, "msg", "\"room\":" + json_escape(project) + ",\"seq\":" + std::to_string(seq));
  if (live && r.chain_on && (r.m == room_view::member::joined || r.m == room_view::member::joining)) {
    if (r.chain_last && seq <= *r.chain_last)
      sim_.check.fail(
        "delivery-order",
        project + "#" + std::to_string(seq) + " received again or out of order after #" + std::to_string(*r.chain_last),
        index, sim_.now());
    if (r.chain_last && seq > *r.chain_last + 1)
      sim_.check.fail("delivery-order",
                      "gap: " + project + "#" + std::to_string(seq) + " arrived after #" +
                        std::to_string(*r.chain_last) + " in one (recovered) membership",
                      index, sim_.now());
    r.chain_last = seq;
  }
  record(r, seq);
}

void virtual_client::record(room_view& r, std::uint64_t seq) {
  if (r.base && seq <= r.contiguous) return;
  r.ahead.insert(seq);
  if (!r.base) return;  // normalised once the join ack names the base
  while (!r.ahead.empty() && *r.ahead.begin() <= r.contiguous + 1) {
    r.contiguous = std::max(r.contiguous, *r.ahead.begin());
    r.ahead.erase(r.ahead.begin());
  }
}

void virtual_client::on_ack(const pending& what, const json& args, nanos sent_at, int incarnation) {
  const json reply = args.is_array() && !args.empty() ? args[0] : json();
  bool ok = reply.is_object() && reply.value("ok", false);
  sim_.log(index, "ack",
           "\"kind\":" + json_escape(what.kind) + ",\"ok\":" + (ok ? "true" : "false") +
             (ok ? std::string{} : ",\"error\":" + json_escape(reply.is_object() ? reply.value("error", "") : "")));
  auto& r = rooms[what.project];
  if (what.kind == "send") {
    if (!ok) return;
    const auto& m = reply["message"];
    sim_.check.acked(index, user, what.project, m.value("seq", std::uint64_t{0}), message_fingerprint(m), sent_at,
                     incarnation);
    ++sim_.stats.acked;
  } else if (what.kind == "join") {
    if (!ok) return;
    if (r.m == room_view::member::joining) r.m = room_view::member::joined;
    auto last = reply.value("lastSeq", std::uint64_t{0});
    if (!r.base) {
      r.base = last;
      r.contiguous = last;
      record(r, last);  // normalise what arrived before the ack
    }
    r.owed = std::max(r.owed, last);
    if (r.contiguous < last) sync(what.project);
  } else if (what.kind == "leave") {
    if (r.m == room_view::member::leaving) r.m = room_view::member::none;
    // user-typing names no room, so the client cannot tell which indicators belonged
    // to the room it left (their stop now goes to the others only): drop them all.
    typing_shown.clear();
  } else if (what.kind == "sync") {
    r.syncing = false;
    if (!ok) return;
    std::vector<std::uint64_t> seqs;
    for (const auto& m : reply["messages"]) seqs.push_back(m.value("seq", std::uint64_t{0}));
    sim_.check.check_page(index, what.project, what.after, seqs, sim_.now());
    for (auto s : seqs) record(r, s);
    if (reply.value("hasMore", false) || (!r.ahead.empty() && !seqs.empty())) sync(what.project);
  } else if (what.kind == "probe") {
    if (!ok && reply.value("error", "") == "forbidden")
      sim_.check.fail("recovered-rooms", "recovered session is not in room group:" + what.project, index, sim_.now());
  }
}

// -- sending -------------------------------------------------------------------------------

void virtual_client::emit(const std::string& event, json payload, const std::string& ack_kind,
                          const std::string& project, std::uint64_t after) {
  if (ph != phase::connected || !link_) return;
  sio::packet p;
  p.type = sio::packet_type::event;
  p.data = json::array({event, std::move(payload)}).dump();
  if (!ack_kind.empty()) {
    p.id = next_ack_++;
    acks_[*p.id] = pending{ack_kind, project, after};
  }
  std::string text = "4" + sio::encode(p);
  sim_.log(index, "out", "\"p\":" + json_escape(text));
  sim_.net.client_send(link_, std::move(text));
}

void virtual_client::join(const std::string& project) {
  auto& r = rooms[project];
  r.m = room_view::member::joining;
  r.chain_on = true;
  r.chain_last.reset();
  emit("join-chat-room", project, "join", project);
}

void virtual_client::sync(const std::string& project) {
  auto& r = rooms[project];
  if (r.syncing || ph != phase::connected) return;
  r.syncing = true;
  emit("sync", json{{"projectId", project}, {"afterSeq", r.contiguous}, {"limit", 500}}, "sync", project, r.contiguous);
}

std::vector<std::string> virtual_client::joined() const {
  std::vector<std::string> out;
  for (const auto& [p, r] : rooms)
    if (r.m == room_view::member::joined) out.push_back(p);
  return out;
}

void virtual_client::send_message() {
  auto j = joined();
  if (j.empty() || ph != phase::connected) return;
  auto& p = j[rng_.below(j.size())];
  emit("send-message", json{{"projectId", p}, {"content", "m" + std::to_string(index) + "-" + std::to_string(++sent_)}},
       "send", p);
}

void virtual_client::typing(bool start) {
  auto j = joined();
  if (j.empty()) return;
  emit(start ? "typing" : "stop-typing", json{{"projectId", j[rng_.below(j.size())]}});
}

void virtual_client::mark_read() {
  auto j = joined();
  if (j.empty()) return;
  auto& p = j[rng_.below(j.size())];
  if (rooms[p].contiguous == 0) return;
  emit("mark-read", json{{"projectId", p}, {"seq", rooms[p].contiguous}}, "read", p);
}

void virtual_client::get_presence() {
  auto j = joined();
  if (j.empty()) return;
  auto& p = j[rng_.below(j.size())];
  emit("get-presence", json{{"projectId", p}}, "presence", p);
}

void virtual_client::toggle_room() {
  if (ph != phase::connected) return;
  auto it = rooms.begin();
  std::advance(it, static_cast<std::ptrdiff_t>(rng_.below(rooms.size())));
  auto& [project, r] = *it;
  if (r.m == room_view::member::joined && joined().size() > 1) {
    r.want = false;
    r.m = room_view::member::leaving;
    r.chain_on = false;
    emit("leave-chat-room", project, "leave", project);
  } else if (r.m == room_view::member::none && !r.want) {
    r.want = true;
    join(project);
  }
}

void virtual_client::reload() {
  if (ph != phase::connected || !link_) return;
  sim_.log(index, "reload");
  sim_.net.client_send(link_, "41");
  auto l = link_;
  sim_.net.client_close(l);
  pid_.reset();
  offset_.reset();
  link_.reset();
  ph = phase::offline;
  acks_.clear();
  typing_shown.clear();
  decoder_ = sio::decoder{};
  for (auto& [p, r] : rooms) r.syncing = false;
  attempts_ = 0;
  sim_.after(ms(200), [this] { connect(); });
}

// -- faults ----------------------------------------------------------------------------------

void virtual_client::pause(nanos d) {
  if (paused_) return;
  paused_ = true;
  sim_.log(index, "pause", "\"ms\":" + std::to_string(d / 1'000'000));
  sim_.net.pause_started(index);
  sim_.after(d, [this, gen = ++pause_gen_] {
    if (gen == pause_gen_) resume();
  });
}

void virtual_client::resume() {
  if (!paused_) return;
  paused_ = false;
  healthy_since = sim_.now();
  sim_.log(index, "resume");
  sim_.net.pause_ended(index);
  auto inbox = std::move(inbox_);
  inbox_.clear();
  for (auto& f : inbox) f();
  if (ph == phase::offline) connect();
}

void virtual_client::die_mid_frame() {
  if (ph != phase::connected || !link_) return;
  // The frame never completes: the server's transport discards a partial frame, so
  // the actor sees only the close.
  sim_.log(index, "mid-frame-death");
  auto l = link_;
  sim_.net.drop(l, "transport error");
}

// -- checks ----------------------------------------------------------------------------------

void virtual_client::check_typing(nanos now) const {
  if (ph != phase::connected || paused_ || partitioned) return;
  for (const auto& [u, since] : typing_shown) sim_.check.check_typing_shown(index, u, "*", now, healthy_since);
}

std::string virtual_client::describe() const {
  static const char* phases[] = {"offline", "connecting", "open", "connected"};
  static const char* members[] = {"none", "joining", "joined", "leaving"};
  std::string s = std::string("phase ") + phases[static_cast<int>(ph)] + (paused_ ? " paused" : "") + ", pending acks:";
  for (const auto& [id, p] : acks_) s += " " + std::to_string(id) + "=" + p.kind + "(" + p.project + ")";
  for (const auto& [p, r] : rooms) {
    s += "; " + p + ": " + members[static_cast<int>(r.m)] + (r.want ? " wanted" : " not wanted") + ", contiguous " +
         std::to_string(r.contiguous) + (r.syncing ? ", syncing" : "");
    if (!r.ahead.empty()) s += ", holes before " + std::to_string(*r.ahead.begin());
  }
  return s;
}

bool virtual_client::settled() const {
  if (done_) return true;
  if (ph != phase::connected || !acks_.empty() || paused_) return false;
  for (const auto& [p, r] : rooms) {
    if (r.want ? r.m != room_view::member::joined : r.m != room_view::member::none) return false;
    if (r.syncing || !r.ahead.empty() || (r.want && r.contiguous < r.owed)) return false;
  }
  return true;
}

}  // namespace hub::sim
