// Connection state recovery in the connection actor (protocol.md §2.6, docs/recovery.md):
// session records in storage, per-client offsets, and replay of what a client missed
// from the durable streams (room logs, inboxes) its rooms map to.
#include "sio/recovery_codec.hpp"
#include "sio/sio_connection.hpp"
#include "storage/storage_actor.hpp"
#include "util/log.hpp"
#include "util/injected_bugs.hpp"
#include "util/random_id.hpp"
#include "util/sources.hpp"

namespace hub::sio {
namespace {

// Entries read per request while replaying, and at most per stream: a client that
// missed more than this gets a fresh session and syncs through the application.
constexpr std::uint64_t replay_page = 500;
constexpr std::size_t max_replay = 10000;

std::int64_t now_ms() { return recovery::to_ms(wall_now()); }

}  // namespace

bool connection::recovery_on(const socket& s) const {
  return srv->config().recovery.has_value() && s.def_->recoverable();
}

socket* connection::find_socket(const std::string& nsp, const std::string& sid) {
  auto it = sockets_.find(nsp);
  return it != sockets_.end() && it->second->id_ == sid ? it->second.get() : nullptr;
}

void connection::send_event(socket& s, wire_packet_ptr packet, const std::string& stream, std::uint64_t seq) {
  if (!recovery_on(s)) {
    send(std::move(packet));
    return;
  }
  if (s.recovering_) {
    s.replay_->held.push_back(socket::held_event{std::move(packet), stream, seq});
    return;
  }
  if (!stream.empty()) {
    auto& delivered = s.delivered_[stream];
    if (seq <= delivered) return;  // already replayed
    delivered = seq;
  }
  if (packet->text.empty() || packet->text.back() != ']') {
    send(std::move(packet));
    return;
  }
  // The shared packet plus this client's offset as an extra last argument, spliced in
  // before the closing ']' by the transport: no copy of the packet per recipient.
  // ("[]" never happens for an EVENT, the name is always there, so a comma is right.)
  if (s.offset_text_.empty() || !(stream.empty() || recovery::raise_offset(s.offset_text_, stream, seq))) {
    s.offset_text_.clear();
    recovery::append_offset(s.offset_text_, srv->config().recovery->epoch, s.joined_at_, s.delivered_);
  }
  std::string insert;
  insert.reserve(s.offset_text_.size() + 3);
  insert += ",\"";
  insert += s.offset_text_;
  insert += '"';  // plain characters only (recovery_codec escapes the rest)
  send(outbound{std::move(packet), std::move(insert)});
}

// -- the session record ----------------------------------------------------------------

void connection::persist(socket& s, std::optional<std::int64_t> disconnected_at_ms) {
  if (disconnected_at_ms) {
    write_record(s, disconnected_at_ms);
    return;
  }
  // Several changes in one handler (join, join, ...) make one write (on_persist).
  if (s.persist_pending_) return;
  s.persist_pending_ = true;
  self->send(self, persist_atom::value, s.nsp_, s.id_);
}

void connection::on_persist(const std::string& nsp, const std::string& sid) {
  if (auto* s = find_socket(nsp, sid)) {
    s->persist_pending_ = false;
    if (s->recovering_) return;
    // Changes made while a stream position is being read (a connect that joins a
    // stream's room) are written once that position is known, not before and after.
    if (s->positions_pending_ > 0) {
      s->persist_after_positions_ = true;
      return;
    }
    write_record(*s, std::nullopt);
  }
}

void connection::write_record(socket& s, std::optional<std::int64_t> disconnected_at_ms) {
  recovery::session_record r;
  r.sid = s.id_;
  r.pid = s.pid_;
  r.nsp = s.nsp_;
  r.rooms.assign(s.rooms_.begin(), s.rooms_.end());
  r.joined_at = s.joined_at_;
  if (s.def_->save_) r.data = s.def_->save_(s);
  r.updated_at_ms = now_ms();
  r.disconnected_at_ms = disconnected_at_ms;
  const auto& rc = *srv->config().recovery;
  r.node = rc.node;
  auto stored = [](bool) {};
  auto failed = [](caf::error&) { log::warn("could not store a session record"); };
  if (rc.node.empty()) {
    // One node: the window check on reading is what counts, and a record is erased
    // when its session ends.
    self->request(rc.storage, storage::request_timeout, storage::kv_put_atom::value, keys::session(s.pid_),
                  recovery::encode_record(r))
      .then(stored, failed);
    return;
  }
  // A cluster's shared engine forgets records by itself: a node that dies erases nothing.
  std::chrono::milliseconds ttl = disconnected_at_ms ? rc.window + heartbeat_slack
                                                     : std::chrono::milliseconds(connected_record_ttl);
  self
    ->request(rc.storage, storage::request_timeout, storage::kv_put_atom::value, keys::session(s.pid_),
              recovery::encode_record(r), static_cast<std::uint64_t>(ttl.count()))
    .then(stored, failed);
}

void connection::forget(socket& s) {
  if (s.pid_.empty()) return;
  self
    ->request(srv->config().recovery->storage, storage::request_timeout, storage::kv_erase_atom::value,
              keys::session(s.pid_))
    .then([](bool) {}, [](caf::error&) {});
}

void connection::track_stream_join(socket& s, const std::string& room) {
  auto stream = s.def_->stream_of_(room);
  if (!stream || s.joined_at_.count(*stream)) {
    persist(s);
    return;
  }
  // Where the stream stood when the socket joined: a client that receives nothing from
  // it before a disconnect resumes there.
  ++s.positions_pending_;
  self->request(srv->config().recovery->storage, storage::request_timeout, storage::last_seq_atom::value, *stream)
    .then(
      [this, nsp = s.nsp_, sid = s.id_, room, stream = *stream](std::uint64_t last) {
        socket* sp = find_socket(nsp, sid);
        if (!sp) return;
        bool changed = sp->rooms_.count(room) > 0;
        if (changed && sp->joined_at_.try_emplace(stream, last).second) sp->offset_text_.clear();
        position_known(*sp, changed);
      },
      [this, nsp = s.nsp_, sid = s.id_](caf::error&) {
        log::warn("could not read a stream position");
        if (socket* sp = find_socket(nsp, sid)) position_known(*sp, false);
      });
}

void connection::position_known(socket& s, bool changed) {
  if (s.positions_pending_ > 0) --s.positions_pending_;
  if (s.positions_pending_ > 0) {
    s.persist_after_positions_ = s.persist_after_positions_ || changed;
    return;
  }
  bool wanted = changed || s.persist_after_positions_;
  s.persist_after_positions_ = false;
  if (wanted) persist(s);
}

// -- recovering a session ------------------------------------------------------------------

void connection::start_recovery(std::unique_ptr<socket> s, const std::string& pid,
                                const std::optional<std::string>& offset) {
  auto nsp = s->nsp_;
  occ().pending_connects[nsp] = std::move(s);
  self
    ->request(srv->config().recovery->storage, storage::request_timeout, storage::kv_get_atom::value,
              keys::session(pid))
    .then([this, nsp, offset](bool found, const std::string& value) { on_session_record(nsp, found, value, offset); },
          [this, nsp](caf::error& e) {
            log::debug("session record not read: ", self->system().render(e));
            on_session_record(nsp, false, std::string{}, std::nullopt);
          });
}

void connection::on_session_record(const std::string& nsp, bool found, const std::string& value,
                                   const std::optional<std::string>& offset) {
  if (!occ_) return;
  if (!occ_->pending_connects.count(nsp) || closing_) {
    occ_->pending_connects.erase(nsp);
    return;
  }
  const auto& rc = *srv->config().recovery;
  auto rec = found ? recovery::decode_record(value) : std::nullopt;
  if (found && (!rec || rec->nsp != nsp)) log::debug("session record malformed or of another namespace");
  if (!rec || rec->nsp != nsp) return resume_session(nsp, std::nullopt, 0, offset);
  if (rec->disconnected_at_ms) return resume_session(nsp, std::move(rec), *rec->disconnected_at_ms, offset);
  // No disconnect time: the process that wrote it died, or the session is still
  // connected. Written by this process (since it started): still connected here. By this
  // node before a restart: it died, and counts from this process's start.
  if (rec->node.empty() || rec->node == rc.node) {
    if (rec->updated_at_ms < recovery::to_ms(rc.started))
      return resume_session(nsp, std::move(rec), recovery::to_ms(rc.started), offset);
    return resume_session(nsp, std::nullopt, 0, offset);
  }
  // By another node of the cluster: the client left it, which either died (its heartbeat
  // stopped: the session counts from its last beat) or dropped the connection (its beat
  // is current: the client, who alone knows the private id, is back here). With the
  // heartbeat key gone (the node died longer ago than the key lives, or Redis lost it)
  // the record's own write is the node's last sign of life.
  auto node = rec->node;
  self->request(rc.storage, storage::request_timeout, storage::kv_get_atom::value, keys::node_heartbeat(node))
    .then(
      [this, nsp, offset, rec = std::move(*rec)](bool alive, const std::string& beat) mutable {
        auto last = rec.updated_at_ms;
        if (alive) last = std::max<std::int64_t>(last, std::strtoll(beat.c_str(), nullptr, 10));
        resume_session(nsp, std::move(rec), std::min(last, now_ms()), offset);
      },
      [this, nsp, offset](caf::error&) { resume_session(nsp, std::nullopt, 0, offset); });
}

void connection::resume_session(const std::string& nsp, std::optional<recovery::session_record> found,
                                std::int64_t since, const std::optional<std::string>& offset) {
  if (!occ_) return;
  auto node = occ_->pending_connects.extract(nsp);
  if (node.empty() || closing_) return;
  std::unique_ptr<socket> s = std::move(node.mapped());
  const auto& rc = *srv->config().recovery;
  // Why a session is not recovered, at debug level: operators asking "why did my
  // client get recovered === false" turn it on.
  auto fresh = [&](const char* why) {
    log::debug("session not recovered: ", why);
    finish_connect(std::move(s));
  };
  if (!found) return fresh("no session record (unknown pid, expired, or from another data set)");
  auto rec = std::move(found);
  if (now_ms() - since > rc.window.count()) return fresh("disconnected longer than the recovery window");

  // Where to resume in each stream: the client's offset, else the join position.
  std::map<std::string, std::uint64_t> resume;
  std::optional<recovery::offset> client;
  if (offset) {
    client = recovery::parse_offset(*offset);
    if (!client || client->epoch != rc.epoch) return fresh("the offset is malformed or from another epoch");
  }
  for (const auto& room : rec->rooms) {
    auto stream = s->def_->stream_of_(room);
    if (!stream) continue;
    if (client && client->positions.count(*stream))
      resume[*stream] = client->positions.at(*stream);
    else if (rec->joined_at.count(*stream))
      resume[*stream] = rec->joined_at.at(*stream);
    else
      return fresh("a room's position is in neither the offset nor the record");
  }

  s->id_ = rec->sid;
  s->pid_ = rec->pid;
  s->recovered_ = true;
  s->recovering_ = true;
  s->replay_ = std::make_unique<socket::replay_state>();
  s->replay_->saved_data = std::move(rec->data);
  s->delivered_ = resume;
  s->offset_text_.clear();
  for (const auto& [stream, seq] : rec->joined_at)
    if (resume.count(stream)) s->joined_at_[stream] = seq;
  socket& ref = *s;
  sockets_.emplace(nsp, std::move(s));
  // Live events start flowing now; they are held until the replay is done.
  for (const auto& room : rec->rooms) join(ref, room);
  if (resume.empty()) return finish_recovery(ref);
  ref.replay_->pending_reads = resume.size();
  for (const auto& [stream, after] : resume) read_missed(nsp, ref.id_, stream, after, max_replay);
}

void connection::read_missed(const std::string& nsp, const std::string& sid, const std::string& stream,
                             std::uint64_t after, std::size_t budget) {
  self
    ->request(srv->config().recovery->storage, storage::request_timeout, storage::read_atom::value, stream, after,
              std::min<std::uint64_t>(replay_page, budget))
    .then(
      [this, nsp, sid, stream, after, budget](const storage::read_result_ptr& r) {
        socket* s = find_socket(nsp, sid);
        if (!s || !s->recovering_) return;
        // The log went backwards (wiped), or what follows `after` was pruned: the client
        // must sync instead.
        if (r->last_seq < after || (r->last_seq > after && r->first_seq > after + 1))
          return abort_recovery(*s, "the log went back (wiped) or what was missed was pruned");
        auto& missed = s->replay_->missed[stream];
        for (const auto& e : r->entries) missed.emplace_back(e.seq, e.value);
        if (r->has_more) {
          if (r->entries.empty() || r->entries.size() >= budget)
            return abort_recovery(*s, "more was missed than a replay sends");
          return read_missed(nsp, sid, stream, r->entries.back().seq, budget - r->entries.size());
        }
        if (--s->replay_->pending_reads == 0) finish_recovery(*s);
      },
      [this, nsp, sid](caf::error&) {
        if (socket* s = find_socket(nsp, sid); s && s->recovering_) abort_recovery(*s, "the log could not be read");
      });
}

void connection::finish_recovery(socket& s) {
  if (s.def_->restore_ && !s.def_->restore_(s, s.replay_->saved_data))
    return abort_recovery(s, "the application refused the saved data");
  auto replay = std::move(s.replay_);
  json reply = json::object();
  reply["sid"] = s.id_;
  reply["pid"] = s.pid_;
  send_packet(packet{packet_type::connect, s.nsp_, {}, reply.dump(), {}});
  s.recovering_ = false;
  register_own_room(s);
  // What was missed, stream by stream in seq order; then what arrived meanwhile, minus
  // what the replay already covered.
  auto missed = std::move(replay->missed);
  for (auto& [stream, entries] : missed) {
    for (auto& [seq, value] : entries) {
      if (injected_bug("skip-replay") && seq == entries.front().first) continue;  // hub-sim proof only
      auto ev = s.def_->replay_ ? s.def_->replay_(stream, seq, value) : std::nullopt;
      if (!ev) continue;
      send_event(s, encode_event(s.nsp_, ev->first, std::move(ev->second)), stream, seq);
    }
  }
  auto held = std::move(replay->held);
  for (auto& h : held) send_event(s, std::move(h.packet), h.stream, h.seq);
  if (s.def_->on_connection_) s.def_->on_connection_(s);
  s.auth_.reset();  // parsed again if a later handler asks
  persist(s);
}

void connection::abort_recovery(socket& s, const char* why) {
  log::debug("session not recovered: ", why);
  auto it = sockets_.find(s.nsp_);
  std::unique_ptr<socket> owned = std::move(it->second);
  sockets_.erase(it);
  auto rooms = owned->rooms_;
  for (const auto& r : rooms) leave_room(*owned, r);
  // Start over as a brand-new session (new sid and pid): the client sees
  // recovered === false and syncs through the application.
  owned->id_ = random_id();
  owned->pid_.clear();
  owned->recovered_ = false;
  owned->recovering_ = false;
  owned->delivered_.clear();
  owned->joined_at_.clear();
  owned->offset_text_.clear();
  owned->replay_.reset();
  finish_connect(std::move(owned));
}

}  // namespace hub::sio
