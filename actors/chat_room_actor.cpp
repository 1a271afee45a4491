#include "actors/chat_room_actor.hpp"

#include "actors/storage_actor.hpp"
#include "util/log.hpp"
#include "util/metrics.hpp"
#include "util/random_id.hpp"
#include "util/sources.hpp"

#include <ctime>
#include <map>

namespace hub {
namespace {

// A durable append normally takes well under a millisecond; this bounds a stuck disk.
constexpr std::chrono::seconds storage_timeout{10};

struct typing_entry {
  std::string name;
  std::uint64_t generation = 0;
};

struct presence_entry {
  std::string name;
  std::size_t connections = 0;
};

// A user whose last connection left: `user-left` goes out when the grace period ends,
// unless a connection comes back first (a reload, a recovered reconnect).
struct leaving_entry {
  std::string name;
  std::uint64_t generation = 0;
};

struct chat_room_state {
  std::string project;
  caf::actor storage;
  sio::broadcaster group{caf::actor{}, "/"};
  chat_room_config cfg;
  std::uint64_t last_seq = 0;
  std::uint64_t pruned_below = 0;  // entries below this seq were pruned by count
  bool sweep_armed = false;        // an age sweep is scheduled
  bool posted_since_sweep = false;
  bool loaded = false;  // last_seq read from the log
  std::uint64_t typing_generation = 0;
  std::map<std::string, typing_entry> typing;     // by user id
  std::map<std::string, presence_entry> present;  // by user id, sorted for stable output
  std::map<std::string, leaving_entry> leaving;   // by user id
  std::map<std::string, std::uint64_t> read_markers;  // loaded from storage on first use
  std::uint64_t presence_generation = 0;
};

using room_actor = caf::stateful_actor<chat_room_state>;

// Broadcast to the room, leaving out every connection of `user` (all its tabs).
void to_others(room_actor* self, const std::string& user, std::string_view event, json payload) {
  auto b = self->state.group;
  b.except(user_room(user)).emit(event, json::array({std::move(payload)}));
}

// Retention by count: prune in steps (a prune is a synced write) of about 1 % of the limit.
void prune_by_count(room_actor* self, std::uint64_t seq) {
  auto& s = self->state;
  if (s.cfg.retention_count == 0 || seq <= s.cfg.retention_count) return;
  std::uint64_t keep_from = seq - s.cfg.retention_count + 1;
  std::uint64_t step = std::max<std::uint64_t>(1, s.cfg.retention_count / 100);
  if (keep_from < s.pruned_below + step) return;
  s.pruned_below = keep_from;
  self->request(s.storage, storage_timeout, storage::prune_atom::value, room_log(s.project), keep_from)
    .then([](std::uint64_t) {}, [self](caf::error& e) {
      log::warn("room ", self->state.project, ": prune failed: ", self->system().render(e));
    });
}

// Retention by age runs on a timer armed at spawn and re-armed while the room gets posts,
// so an idle room schedules nothing (and a deterministic run can drain its timers).
void arm_sweep(room_actor* self) {
  auto& s = self->state;
  if (s.sweep_armed || s.cfg.retention_age.count() <= 0) return;
  s.sweep_armed = true;
  auto interval = std::min<std::chrono::milliseconds>(std::chrono::hours(1), s.cfg.retention_age / 10);
  self->delayed_send(self, std::max<std::chrono::milliseconds>(interval, std::chrono::seconds(1)),
                     sweep_atom::value);
}

// Entries are in createdAt order, and ISO-8601 strings of one format compare like the
// times they name.
void sweep_by_age(room_actor* self) {
  auto& s = self->state;
  auto cutoff = iso8601(wall_now() - s.cfg.retention_age);
  self->request(s.storage, storage_timeout, storage::read_atom::value, room_log(s.project),
                std::uint64_t{0}, std::uint64_t{256})
    .then(
      [self, cutoff](const storage::read_result_ptr& r) {
        std::uint64_t keep_from = 0;
        for (const auto& e : r->entries) {
          json v = json::parse(e.value, nullptr, false);
          if (!v.is_object() || !v.contains("createdAt") || !v["createdAt"].is_string()) break;
          if (v["createdAt"].get<std::string>() >= cutoff) break;
          keep_from = e.seq + 1;
        }
        if (keep_from == 0) return;
        self->request(self->state.storage, storage_timeout, storage::prune_atom::value,
                      room_log(self->state.project), keep_from)
          .then([](std::uint64_t) {}, [](caf::error&) {});
      },
      [](caf::error&) {});
}

// Runs `then(marker)` with the user's read marker, loading it from storage first.
template <class F>
void with_read_marker(room_actor* self, const std::string& user, F then) {
  auto it = self->state.read_markers.find(user);
  if (it != self->state.read_markers.end()) {
    then(it->second);
    return;
  }
  self->request(self->state.storage, storage_timeout, storage::kv_get_atom::value,
                read_marker_key(self->state.project, user))
    .then(
      [self, user, then](bool found, const std::string& value) mutable {
        std::uint64_t seq = 0;
        if (found) seq = std::strtoull(value.c_str(), nullptr, 10);
        // Another request may have loaded it meanwhile: keep the larger.
        auto& m = self->state.read_markers[user];
        m = std::max(m, seq);
        then(m);
      },
      [then](caf::error&) mutable { then(0); });
}

void stop_typing(room_actor* self, const std::string& user) {
  if (self->state.typing.erase(user) == 0) return;
  to_others(self, user, "user-stopped-typing", json{{"userId", user}});
}

}  // namespace

std::string iso8601(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

std::optional<std::uint64_t> pruned_gap(std::uint64_t after, std::uint64_t first_seq, std::uint64_t last_seq) {
  if (last_seq <= after) return std::nullopt;          // nothing after `after`
  if (first_seq == 0) return last_seq + 1;             // everything was pruned
  if (first_seq > after + 1) return first_seq;         // some of it was pruned
  return std::nullopt;
}

json message_from_log(std::uint64_t seq, const std::string& stored) {
  json v = json::parse(stored, nullptr, false);
  json m = json::object();
  if (!v.is_object()) return m;
  m["id"] = v.value("id", std::string{});
  m["seq"] = seq;
  for (const char* key : {"projectId", "senderId", "senderName", "content", "createdAt"})
    m[key] = v.value(key, std::string{});
  if (v.contains("replyTo") && !v["replyTo"].is_null()) m["replyTo"] = v["replyTo"];
  return m;
}

caf::actor spawn_chat_room(caf::actor_system& sys, std::string project, caf::actor storage,
                           sio::broadcaster io, chat_room_config cfg) {
  return sys.spawn([project = std::move(project), storage = std::move(storage), io = std::move(io),
                    cfg](room_actor* self) -> caf::behavior {
    auto& st = self->state;
    st.project = project;
    st.storage = storage;
    st.group = io;
    st.group.to(group_room(project));
    st.cfg = cfg;
    self->request(storage, storage_timeout, storage::last_seq_atom::value, room_log(project))
      .then([self](std::uint64_t seq) {
              self->state.last_seq = std::max(self->state.last_seq, seq);
              self->state.loaded = true;
            },
            [self](caf::error& e) { log::error("room ", self->state.project, ": last seq: ", self->system().render(e)); });
    if (cfg.retention_age.count() > 0) sweep_by_age(self);
    return {
      [self](sweep_atom) {
        self->state.sweep_armed = false;
        sweep_by_age(self);
        if (std::exchange(self->state.posted_since_sweep, false)) arm_sweep(self);
      },
      [self](post_atom, const chat_post_ptr& post) {
        auto& s = self->state;
        std::string id = random_id();
        json stored = json::object();
        stored["id"] = id;
        stored["projectId"] = s.project;
        stored["senderId"] = post->user_id;
        stored["senderName"] = post->user_name;
        stored["content"] = post->content;
        stored["createdAt"] = iso8601(wall_now());
        if (!post->reply_to.is_null()) stored["replyTo"] = post->reply_to;
        std::string value = stored.dump();
        // Responses from one storage actor arrive in request order, so broadcasts go
        // out in seq order.
        self->request(s.storage, storage_timeout, storage::append_atom::value, room_log(s.project), value)
          .then(
            [self, post, value](std::uint64_t seq) {
              auto& s = self->state;
              s.last_seq = std::max(s.last_seq, seq);
              metrics::add(metrics::global().chat_messages);
              prune_by_count(self, seq);
              s.posted_since_sweep = true;
              arm_sweep(self);
              json message = message_from_log(seq, value);
              stop_typing(self, post->user_id);
              auto b = s.group;
              b.from_stream(room_log(s.project), seq).emit("new-message", json::array({message}));
              if (post->done) post->done(post_result{true, {}, std::move(message)});
            },
            [self, post](caf::error& e) {
              log::error("room ", self->state.project, ": append failed: ", self->system().render(e));
              if (post->done) post->done(post_result{false, "storage", json()});
            });
      },
      [self](typing_atom, const std::string& user, const std::string& name) {
        auto& s = self->state;
        auto [it, fresh] = s.typing.try_emplace(user);
        it->second.name = name;
        it->second.generation = ++s.typing_generation;
        if (fresh) to_others(self, user, "user-typing", json{{"userId", user}, {"userName", name}});
        self->delayed_send(self, s.cfg.typing_timeout, typing_expire_atom::value, user,
                           it->second.generation);
      },
      [self](stop_typing_atom, const std::string& user) { stop_typing(self, user); },
      [self](typing_expire_atom, const std::string& user, std::uint64_t generation) {
        auto it = self->state.typing.find(user);
        // A later `typing` bumped the generation: this expiry is stale.
        if (it == self->state.typing.end() || it->second.generation != generation) return;
        stop_typing(self, user);
      },
      [self](present_atom, const std::string& user, const std::string& name) {
        auto& s = self->state;
        auto& e = s.present[user];
        e.name = name;
        if (e.connections++ > 0) return;
        // First connection: announce, unless the user only stepped out within the grace.
        if (s.leaving.erase(user) == 0)
          to_others(self, user, "user-joined", json{{"userId", user}, {"userName", name}});
      },
      [self](absent_atom, const std::string& user) {
        auto& s = self->state;
        auto it = s.present.find(user);
        if (it == s.present.end()) return;
        if (--it->second.connections > 0) return;
        std::string name = std::move(it->second.name);
        s.present.erase(it);
        stop_typing(self, user);
        if (s.cfg.presence_grace.count() <= 0) {
          to_others(self, user, "user-left", json{{"userId", user}, {"userName", name}});
          return;
        }
        auto generation = ++s.presence_generation;
        s.leaving[user] = leaving_entry{std::move(name), generation};
        self->delayed_send(self, s.cfg.presence_grace, presence_expire_atom::value, user, generation);
      },
      [self](presence_expire_atom, const std::string& user, std::uint64_t generation) {
        auto& s = self->state;
        auto it = s.leaving.find(user);
        if (it == s.leaving.end() || it->second.generation != generation) return;  // came back
        json payload{{"userId", user}, {"userName", it->second.name}};
        s.leaving.erase(it);
        to_others(self, user, "user-left", std::move(payload));
      },
      [self](mark_read_atom, const std::string& user,
             std::uint64_t seq) -> caf::result<bool, std::uint64_t> {
        auto promise = self->make_response_promise<bool, std::uint64_t>();
        auto mark = [self, user, seq, promise]() mutable {
          if (seq > self->state.last_seq) {  // no such message yet
            promise.deliver(false, std::uint64_t{0});
            return;
          }
          with_read_marker(self, user, [self, user, seq, promise](std::uint64_t current) mutable {
          auto& s = self->state;
          if (seq <= current) {  // never backwards
            promise.deliver(true, current);
            return;
          }
          s.read_markers[user] = seq;
          self->request(s.storage, storage_timeout, storage::kv_put_atom::value,
                        read_marker_key(s.project, user), std::to_string(seq))
            .then([](bool) {}, [self](caf::error& e) {
              log::warn("room ", self->state.project, ": read marker not stored: ", self->system().render(e));
            });
          to_others(self, user, "message-read", json{{"projectId", s.project}, {"userId", user}, {"seq", seq}});
          promise.deliver(true, seq);
          });
        };
        if (self->state.loaded) {
          mark();
        } else {
          // Right after spawn: the room's last seq is still being read.
          self->request(self->state.storage, storage_timeout, storage::last_seq_atom::value,
                        room_log(self->state.project))
            .then([self, mark](std::uint64_t last) mutable {
                    self->state.last_seq = std::max(self->state.last_seq, last);
                    self->state.loaded = true;
                    mark();
                  },
                  [promise](caf::error& e) mutable { promise.deliver(std::move(e)); });
        }
        return promise;
      },
      [self](room_info_atom, const std::string& user) -> caf::result<room_info_ptr> {
        auto promise = self->make_response_promise<room_info_ptr>();
        self->request(caf::actor_cast<caf::actor>(self), storage_timeout, room_info_atom::value)
          .then(
            [self, user, promise](const room_info_ptr& base) mutable {
              with_read_marker(self, user, [base, promise](std::uint64_t marker) mutable {
                auto info = std::make_shared<room_info>(*base);
                info->last_read_seq = marker;
                promise.deliver(room_info_ptr(std::move(info)));
              });
            },
            [promise](caf::error& e) mutable { promise.deliver(std::move(e)); });
        return promise;
      },
      [self](room_info_atom) -> caf::result<room_info_ptr> {
        auto make = [self](std::uint64_t last_seq) {
          auto info = std::make_shared<room_info>();
          info->last_seq = std::max(last_seq, self->state.last_seq);
          for (const auto& [user, e] : self->state.present)
            info->online.push_back(json{{"userId", user}, {"userName", e.name}});
          return room_info_ptr(std::move(info));
        };
        if (self->state.loaded) return make(self->state.last_seq);
        // Asked before the log's last seq came back: ask the log ourselves.
        auto promise = self->make_response_promise<room_info_ptr>();
        self->request(self->state.storage, storage_timeout, storage::last_seq_atom::value,
                      room_log(self->state.project))
          .then([promise, make](std::uint64_t seq) mutable { promise.deliver(make(seq)); },
                [promise](caf::error& e) mutable { promise.deliver(std::move(e)); });
        return promise;
      },
    };
  });
}

}  // namespace hub
