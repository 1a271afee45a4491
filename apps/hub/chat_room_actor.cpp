#include "apps/hub/chat_room_actor.hpp"

#include "apps/hub/log_feed.hpp"
#include "apps/hub/serial_ops.hpp"
#include "storage/storage_actor.hpp"
#include "util/log.hpp"
#include "util/sources.hpp"
#include "util/metrics.hpp"

#include <charconv>
#include <ctime>
#include <map>
#include <set>

namespace hub {
namespace {

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
  storage::storage_actor storage;
  sio::broadcaster group{caf::actor{}, nullptr, "/"};
  chat_room_config cfg;
  std::uint64_t last_seq = 0;
  std::uint64_t pruned_below = 0;  // entries below this seq were pruned by count
  bool sweep_armed = false;        // an age sweep is scheduled
  bool posted_since_sweep = false;
  std::uint64_t typing_generation = 0;
  std::map<std::string, typing_entry> typing;         // by user id
  std::map<std::string, presence_entry> present;      // by user id, sorted for stable output
  std::map<std::string, leaving_entry> leaving;       // by user id
  std::map<std::string, std::uint64_t> read_markers;  // durable ones, loaded on first use
  // Read-marker writes, one at a time per user: a marker is acknowledged and announced
  // only once stored, and never moves backwards even when a write fails.
  std::map<std::string, serial_ops> marker_writes;
  std::uint64_t presence_generation = 0;
  // Everyone stored as having joined the room at least once: absent members get chat
  // notifications. Only what is durable: a user joins it once the write landed.
  std::set<std::string> members;
  serial_ops member_writes;  // membership writes, one at a time
  // Reactions by message seq: emoji -> users. Loaded at spawn; small next to the log.
  std::map<std::uint64_t, std::map<std::string, std::set<std::string>>> reactions;
  int loads_pending = 0;       // initial loads still outstanding (messages wait meanwhile)
  // In seq order, once: entries past last_seq + 1 wait in `order` while the gap before
  // them is read from the log; `filling` while that read is under way.
  app::log_order order;
  bool filling = false;
  // The log's last seq could not be read at spawn: the first entry seen sets it (never
  // a replay of the whole log as if it were new).
  bool position_unknown = false;
  // The storage's epoch (keys::epoch()): a log feed entry of another epoch means the
  // shared engine lost its data and seqs started again.
  std::string epoch;
  // A cluster: who the other nodes' rooms say is present (user -> node -> name) and
  // typing (user -> typist), from their events; a remote typist also expires here, so
  // that a typist whose node died leaves no ghost.
  struct remote_member {
    std::string name;
    bool connected = true;  // false: its last connection there left, within the grace
  };
  std::map<std::string, std::map<std::string, remote_member>> remote_present;
  struct remote_typist {
    std::string name;
    std::string node;
    std::uint64_t generation = 0;
  };
  std::map<std::string, remote_typist> remote_typing;
  serial_ops reaction_writes;  // reaction writes, one at a time
};

using room_self = chat_room_actor::stateful_pointer<chat_room_state>;

chat_room_actor::behavior_type running_room(room_self self);

// Broadcast to the room, leaving out every connection of `user` (all its tabs).
void to_others(room_self self, const std::string& user, std::string_view event, json payload) {
  auto b = self->state.group;
  b.except(user_room(user)).emit(event, json::array({std::move(payload)}));
}

// Presence and typing events to the room: in a cluster to this node's sockets only, as
// every node announces them itself from the same cluster-wide view.
void announce(room_self self, const std::string& user, std::string_view event, json payload) {
  auto b = self->state.group;
  if (self->state.cfg.shared_log) b.local();
  b.except(user_room(user)).emit(event, json::array({std::move(payload)}));
}

// Tells the other nodes' rooms (a cluster; no-op alone).
void tell_peers(room_self self, const char* kind, const std::string& user, const std::string& name = {}) {
  auto& s = self->state;
  if (s.cfg.tell_peers) s.cfg.tell_peers(json::array({s.project, kind, s.cfg.node, user, name}));
}

bool online_elsewhere(const chat_room_state& s, const std::string& user) {
  auto it = s.remote_present.find(user);
  return it != s.remote_present.end() && !it->second.empty();
}

// In the room on another node now (not only within its grace there): as `present` here.
bool connected_elsewhere(const chat_room_state& s, const std::string& user) {
  auto it = s.remote_present.find(user);
  if (it == s.remote_present.end()) return false;
  for (const auto& [node, m] : it->second)
    if (m.connected) return true;
  return false;
}

// Online in the cluster: connected here, within this node's grace, or on another node.
bool online_anywhere(const chat_room_state& s, const std::string& user) {
  return s.present.count(user) > 0 || s.leaving.count(user) > 0 || online_elsewhere(s, user);
}

bool typing_anywhere(const chat_room_state& s, const std::string& user) {
  return s.typing.count(user) > 0 || s.remote_typing.count(user) > 0;
}

// Retention by count: prune in steps (a prune is a synced write) of about 1 % of the limit.
void prune_by_count(room_self self, std::uint64_t seq) {
  auto& s = self->state;
  if (s.cfg.retention_count == 0 || seq <= s.cfg.retention_count) return;
  std::uint64_t keep_from = seq - s.cfg.retention_count + 1;
  std::uint64_t step = std::max<std::uint64_t>(1, s.cfg.retention_count / 100);
  if (keep_from < s.pruned_below + step) return;
  s.pruned_below = keep_from;
  self->request(s.storage, storage::request_timeout, storage::prune_atom::value, keys::room_log(s.project), keep_from)
    .then(
      [](std::uint64_t) {},
      [self](caf::error& e) { log::warn("room ", self->state.project, ": prune failed: ", self->system().render(e)); });
}

// Retention by age runs on a timer armed at spawn and re-armed while the room gets posts,
// so an idle room schedules nothing (and a deterministic run can drain its timers).
void arm_sweep(room_self self) {
  auto& s = self->state;
  if (s.sweep_armed || s.cfg.retention_age.count() <= 0) return;
  s.sweep_armed = true;
  auto interval = std::min<std::chrono::milliseconds>(std::chrono::hours(1), s.cfg.retention_age / 10);
  self->delayed_send(self, std::max<std::chrono::milliseconds>(interval, std::chrono::seconds(1)), sweep_atom::value);
}

// Entries are in createdAt order, and ISO-8601 strings of one format compare like the
// times they name.
void sweep_by_age(room_self self) {
  auto& s = self->state;
  auto cutoff = iso8601(wall_now() - s.cfg.retention_age);
  self
    ->request(s.storage, storage::request_timeout, storage::read_atom::value, keys::room_log(s.project),
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
        self
          ->request(self->state.storage, storage::request_timeout, storage::prune_atom::value,
                    keys::room_log(self->state.project), keep_from)
          .then([](std::uint64_t) {}, [](caf::error&) {});
      },
      [](caf::error&) {});
}

// Runs `then(marker)` with the user's durable read marker, loading it from storage
// first, or `failed(error)` when it cannot be read (never a guessed 0: a write built on
// it could move the marker backwards).
template <class F, class G>
void with_read_marker(room_self self, const std::string& user, F then, G failed) {
  // In a cluster another node may have moved it: read it each time.
  auto it = self->state.read_markers.find(user);
  if (it != self->state.read_markers.end() && !self->state.cfg.shared_log) {
    then(it->second);
    return;
  }
  self
    ->request(self->state.storage, storage::request_timeout, storage::kv_get_atom::value,
              keys::read_marker(self->state.project, user))
    .then(
      [self, user, then](bool found, const std::string& value) mutable {
        std::uint64_t seq = 0;
        if (found) seq = std::strtoull(value.c_str(), nullptr, 10);
        // Another request may have loaded it meanwhile: keep the larger.
        auto& m = self->state.read_markers[user];
        m = std::max(m, seq);
        then(m);
      },
      [failed](caf::error& e) mutable { failed(e); });
}

// A message's stored reactions ({emoji: [users]}) into the room's state.
void set_reactions(chat_room_state& s, std::uint64_t seq, const std::string& stored) {
  json r = json::parse(stored, nullptr, false);
  std::map<std::string, std::set<std::string>> by_emoji;
  if (r.is_object())
    for (const auto& [emoji, users] : r.items())
      if (users.is_array())
        for (const auto& u : users)
          if (u.is_string()) by_emoji[emoji].insert(u.get<std::string>());
  if (by_emoji.empty())
    s.reactions.erase(seq);
  else
    s.reactions[seq] = std::move(by_emoji);
}

// Every stored reaction of the room (a scan of keys::reactions_prefix), replacing what
// the room held.
void load_reactions(chat_room_state& s, const storage::kv_scan_result& rows) {
  s.reactions.clear();
  for (const auto& [key, value] : rows)
    if (auto seq = keys::parse_reactions(s.project, key); seq && *seq != 0) set_reactions(s, *seq, value);
}

// {emoji: count} of message `seq` ({} when nobody reacted).
json reaction_counts(room_self self, std::uint64_t seq) {
  json out = json::object();
  if (auto it = self->state.reactions.find(seq); it != self->state.reactions.end())
    for (const auto& [emoji, users] : it->second) out[emoji] = users.size();
  return out;
}

// Adds replyCount and reactions to a message returned by history.
void decorate(room_self self, json& m, std::uint64_t reply_count) {
  m["replyCount"] = reply_count;
  m["reactions"] = reaction_counts(self, m["seq"].get<std::uint64_t>());
}

// Reads the reply counts of `messages` (one index log each) and delivers the decorated
// page; `extra` fields (hasMore, root) are merged into the reply.
void deliver_page_now(room_self self, json messages, json extra, caf::response_promise promise);

// In a cluster other nodes toggle reactions too: a page reads them fresh (one scan).
void deliver_page(room_self self, json messages, json extra, caf::response_promise promise) {
  if (!self->state.cfg.shared_log) return deliver_page_now(self, std::move(messages), std::move(extra), promise);
  self
    ->request(self->state.storage, storage::request_timeout, storage::kv_scan_atom::value,
              keys::reactions_prefix(self->state.project))
    .then(
      [self, messages, extra, promise](const storage::kv_scan_ptr& rows) mutable {
        load_reactions(self->state, *rows);
        deliver_page_now(self, std::move(messages), std::move(extra), promise);
      },
      [promise](caf::error& e) mutable { promise.deliver(std::move(e)); });
}

void deliver_page_now(room_self self, json messages, json extra, caf::response_promise promise) {
  std::vector<std::string> logs;
  for (const auto& m : messages) logs.push_back(keys::thread_log(self->state.project, m["seq"].get<std::uint64_t>()));
  self->request(self->state.storage, storage::request_timeout, storage::last_seqs_atom::value, std::move(logs))
    .then(
      [self, messages = std::move(messages), extra = std::move(extra),
       promise](const std::vector<std::uint64_t>& counts) mutable {
        for (std::size_t i = 0; i < messages.size(); ++i)
          decorate(self, messages[i], i < counts.size() ? counts[i] : 0);
        json reply = json{{"ok", true}, {"messages", std::move(messages)}};
        for (auto& [k, v] : extra.items()) reply[k] = std::move(v);
        promise.deliver(make_json(std::move(reply)));
      },
      [promise](caf::error& e) mutable { promise.deliver(std::move(e)); });
}

void room_history(room_self self, std::uint64_t after, std::uint64_t limit, caf::response_promise promise) {
  self
    ->request(self->state.storage, storage::request_timeout, storage::read_atom::value,
              keys::room_log(self->state.project), after, limit)
    .then(
      [self, after, promise](const storage::read_result_ptr& r) mutable {
        if (auto oldest = pruned_gap(after, r->first_seq, r->last_seq)) {
          promise.deliver(
            make_json(json{{"ok", false}, {"error", app::to_string(app::error_code::gap)}, {"oldestSeq", *oldest}}));
          return;
        }
        json messages = json::array();
        for (const auto& e : r->entries) messages.push_back(message_from_log(e.seq, e.value));
        deliver_page(self, std::move(messages), json{{"hasMore", r->has_more}}, promise);
      },
      [promise](caf::error& e) mutable { promise.deliver(std::move(e)); });
}

// The replies to `root` after `after` (room seqs), oldest first, plus the root message.
void thread_history(room_self self, std::uint64_t root, std::uint64_t after, std::uint64_t limit,
                    caf::response_promise promise) {
  auto& s = self->state;
  if (root == 0 || root > s.last_seq) {
    promise.deliver(make_json(json{{"ok", false}, {"error", app::to_string(app::error_code::not_found)}}));
    return;
  }
  self
    ->request(s.storage, storage::request_timeout, storage::read_atom::value, keys::thread_log(s.project, root),
              std::uint64_t{0}, max_thread_replies)
    .then(
      [self, root, after, limit, promise](const storage::read_result_ptr& index) mutable {
        std::vector<std::uint64_t> seqs{root};
        bool has_more = false;
        for (const auto& e : index->entries) {
          auto seq = std::strtoull(e.value.c_str(), nullptr, 10);
          if (seq <= after) continue;
          if (seqs.size() > limit) {
            has_more = true;
            break;
          }
          seqs.push_back(seq);
        }
        self
          ->request(self->state.storage, storage::request_timeout, storage::read_seqs_atom::value,
                    keys::room_log(self->state.project), std::move(seqs))
          .then(
            [self, root, has_more, reply_count = index->last_seq, promise](const storage::read_result_ptr& r) mutable {
              json root_message;  // null when pruned
              json messages = json::array();
              for (const auto& e : r->entries) {
                if (e.seq == root)
                  root_message = message_from_log(e.seq, e.value);
                else
                  messages.push_back(message_from_log(e.seq, e.value));
              }
              if (!root_message.is_null()) decorate(self, root_message, reply_count);
              deliver_page(self, std::move(messages), json{{"hasMore", has_more}, {"root", std::move(root_message)}},
                           promise);
            },
            [promise](caf::error& e) mutable { promise.deliver(std::move(e)); });
      },
      [promise](caf::error& e) mutable { promise.deliver(std::move(e)); });
}

// Chat notifications to the members who are not in the room now (not the sender).
void notify_absent(room_self self, const std::string& sender, const json& message) {
  auto& s = self->state;
  if (!s.cfg.user_mailbox) return;
  json_ptr m;
  for (const auto& member : s.members) {
    // In the room here or on another node of the cluster: no notification.
    if (member == sender || s.present.count(member) || connected_elsewhere(s, member)) continue;
    if (!m) m = make_json(message);
    if (auto mailbox = s.cfg.user_mailbox(member)) self->send(mailbox, chat_notify_atom::value, s.project, m);
  }
}

// Stores `user` as a member unless it is one already, then runs `then(error)` (an empty
// error: the user is durably a member). One membership write at a time, each built
// from what the previous one stored.
template <class F>
void ensure_member(room_self self, const std::string& user, F then) {
  self->state.member_writes.push([self, user, then]() mutable {
    auto& s = self->state;
    if (s.members.count(user)) {
      then(caf::error{});
      return s.member_writes.done();
    }
    self
      ->request(s.storage, storage::request_timeout, storage::kv_put_atom::value, keys::member(s.project, user),
                std::string("1"))
      .then(
        [self, user, then](bool) mutable {
          auto& s = self->state;
          s.members.insert(user);
          if (s.cfg.member_added) s.cfg.member_added(s.project, user);
          then(caf::error{});
          s.member_writes.done();
        },
        [self, then](caf::error& e) mutable {
          log::warn("room ", self->state.project, ": membership not stored: ", self->system().render(e));
          then(e);
          self->state.member_writes.done();
        });
  });
}

// mark-read: moves `user`'s marker to `seq` (never backwards), stores it, and only then
// answers (true, marker) and tells the user's other members' clients (message-read).
// A storage error is the answer when the marker cannot be read or stored.
void mark_read(room_self self, const std::string& user, std::uint64_t seq, caf::response_promise promise) {
  auto finish = [self, user] { self->state.marker_writes[user].done(); };
  auto failed = [promise, finish](const caf::error& e) mutable {
    promise.deliver(e);
    finish();
  };
  with_read_marker(
    self, user,
    [self, user, seq, promise, finish, failed](std::uint64_t current) mutable {
      auto& s = self->state;
      if (seq <= current) {  // never backwards
        promise.deliver(true, current);
        return finish();
      }
      self
        ->request(s.storage, storage::request_timeout, storage::kv_max_atom::value, keys::read_marker(s.project, user),
                  seq)
        .then(
          [self, user, seq, promise, finish](bool) mutable {
            auto& s = self->state;
            auto& marker = s.read_markers[user];
            marker = std::max(marker, seq);
            to_others(self, user, "message-read", json{{"projectId", s.project}, {"userId", user}, {"seq", seq}});
            promise.deliver(true, seq);
            finish();
          },
          [self, failed](caf::error& e) mutable {
            log::warn("room ", self->state.project, ": read marker not stored: ", self->system().render(e));
            failed(e);
          });
    },
    failed);
}

void stop_typing(room_self self, const std::string& user) {
  if (self->state.typing.erase(user) == 0) return;
  tell_peers(self, "stop", user);
  if (!typing_anywhere(self->state, user)) announce(self, user, "user-stopped-typing", json{{"userId", user}});
}

// A user is no longer present on this node (the grace ended, or there is none).
void left_here(room_self self, const std::string& user, const std::string& name) {
  tell_peers(self, "offline", user, name);
  if (!online_anywhere(self->state, user))
    announce(self, user, "user-left", json{{"userId", user}, {"userName", name}});
}

void drop_remote_typist(room_self self, const std::string& user) {
  if (self->state.remote_typing.erase(user) == 0) return;
  if (!typing_anywhere(self->state, user)) announce(self, user, "user-stopped-typing", json{{"userId", user}});
}

// Another node's room says `user` is online or offline there, typing or not.
void on_peer(room_self self, const std::string& kind, const std::string& node, const std::string& user,
             const std::string& name) {
  auto& s = self->state;
  if (node == s.cfg.node) return;
  if (kind == "online") {
    const bool was = online_anywhere(s, user);
    s.remote_present[user][node] = chat_room_state::remote_member{name, true};
    if (!was) announce(self, user, "user-joined", json{{"userId", user}, {"userName", name}});
  } else if (kind == "away") {  // still online for presence, within its grace there
    if (auto it = s.remote_present.find(user); it != s.remote_present.end())
      if (auto m = it->second.find(node); m != it->second.end()) m->second.connected = false;
  } else if (kind == "offline") {
    auto it = s.remote_present.find(user);
    if (it == s.remote_present.end() || it->second.erase(node) == 0) return;
    if (it->second.empty()) s.remote_present.erase(it);
    if (auto t = s.remote_typing.find(user); t != s.remote_typing.end() && t->second.node == node)
      drop_remote_typist(self, user);
    if (!online_anywhere(s, user)) announce(self, user, "user-left", json{{"userId", user}, {"userName", name}});
  } else if (kind == "typing") {
    const bool was = typing_anywhere(s, user);
    auto& t = s.remote_typing[user];
    t.name = name;
    t.node = node;
    t.generation = ++s.typing_generation;
    if (!was) announce(self, user, "user-typing", json{{"userId", user}, {"userName", name}});
    // A little longer than the typist's own timeout: its node's `stop` normally comes first.
    self->delayed_send(self, s.cfg.typing_timeout + std::chrono::seconds(1), peer_typing_expire_atom::value, user,
                       t.generation);
  } else if (kind == "stop") {
    if (auto t = s.remote_typing.find(user); t != s.remote_typing.end() && t->second.node == node)
      drop_remote_typist(self, user);
  }
}

// hub:who answers and hub:here snapshots, [[node, [[user, name], ...]], ...], as
// node -> user -> name; this node's own and malformed parts are skipped.
std::map<std::string, std::map<std::string, std::string>> present_by_node(const chat_room_state& s,
                                                                          const json& answers) {
  std::map<std::string, std::map<std::string, std::string>> out;
  for (const auto& a : answers) {
    if (!a.is_array() || a.size() != 2 || !a[0].is_string() || !a[1].is_array()) continue;
    const auto node = a[0].get<std::string>();
    if (node == s.cfg.node) continue;
    auto& there = out[node];
    for (const auto& u : a[1])
      if (u.is_array() && u.size() == 2 && u[0].is_string() && u[1].is_string())
        there[u[0].get<std::string>()] = u[1].get<std::string>();
  }
  return out;
}

// The peers' state after a link loss (their answers to an ask again, or a node's own
// snapshot when its link came back): each node's present users replace what it had said
// (events lost meanwhile: a user who left there, one who came); nodes not in `answers`
// keep theirs (their heartbeat decides). Changes are announced.
void reconcile_peers(room_self self, const json& answers) {
  auto& s = self->state;
  for (const auto& [node, there] : present_by_node(s, answers)) {
    std::vector<std::pair<std::string, std::string>> left;
    for (auto it = s.remote_present.begin(); it != s.remote_present.end();) {
      if (auto n = it->second.find(node); n != it->second.end() && !there.count(it->first)) {
        left.emplace_back(it->first, n->second.name);
        it->second.erase(n);
      }
      it = it->second.empty() ? s.remote_present.erase(it) : std::next(it);
    }
    for (const auto& [user, name] : left) {
      if (auto t = s.remote_typing.find(user); t != s.remote_typing.end() && t->second.node == node)
        drop_remote_typist(self, user);
      if (!online_anywhere(s, user)) announce(self, user, "user-left", json{{"userId", user}, {"userName", name}});
    }
    for (const auto& [user, name] : there) {
      const bool was = online_anywhere(s, user);
      s.remote_present[user][node] = chat_room_state::remote_member{name, true};
      if (!was) announce(self, user, "user-joined", json{{"userId", user}, {"userName", name}});
    }
  }
}

// A node died: its users and typists are gone (after its heartbeat stopped).
void on_node_gone(room_self self, const std::string& node) {
  auto& s = self->state;
  std::vector<std::pair<std::string, std::string>> gone;
  for (auto it = s.remote_present.begin(); it != s.remote_present.end();) {
    if (auto n = it->second.find(node); n != it->second.end()) {
      gone.emplace_back(it->first, n->second.name);
      it->second.erase(n);
    }
    it = it->second.empty() ? s.remote_present.erase(it) : std::next(it);
  }
  std::vector<std::string> typists;
  for (const auto& [user, t] : s.remote_typing)
    if (t.node == node) typists.push_back(user);
  for (const auto& user : typists) drop_remote_typist(self, user);
  for (const auto& [user, name] : gone)
    if (!online_anywhere(s, user)) announce(self, user, "user-left", json{{"userId", user}, {"userName", name}});
}

}  // namespace

std::string iso8601(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

std::optional<std::uint64_t> pruned_gap(std::uint64_t after, std::uint64_t first_seq, std::uint64_t last_seq) {
  if (last_seq <= after) return std::nullopt;   // nothing after `after`
  if (first_seq == 0) return last_seq + 1;      // everything was pruned
  if (first_seq > after + 1) return first_seq;  // some of it was pruned
  return std::nullopt;
}

json message_from_log(std::uint64_t seq, const std::string& stored) {
  json v = json::parse(stored, nullptr, false);
  json m = json::object();
  if (!v.is_object()) return m;
  m["id"] = message_id(v.value("projectId", std::string{}), seq);
  m["seq"] = seq;
  for (const char* key : {"projectId", "senderId", "senderName", "content", "createdAt"})
    m[key] = v.value(key, std::string{});
  if (v.contains("replyTo") && !v["replyTo"].is_null()) m["replyTo"] = v["replyTo"];
  return m;
}

std::optional<std::uint64_t> message_seq(const std::string& project, const json& id) {
  if (!id.is_string()) return std::nullopt;
  const auto& text = id.get_ref<const std::string&>();
  auto colon = text.rfind(':');
  if (colon == std::string::npos || text.compare(0, colon, project) != 0 || colon != project.size())
    return std::nullopt;
  std::uint64_t seq = 0;
  const char* first = text.data() + colon + 1;
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(first, last, seq);
  if (ec != std::errc{} || end != last || first == last || seq == 0) return std::nullopt;
  return seq;
}

namespace {
// Who is here on other nodes when the room spawns: the state at spawn, not a change to
// announce.
void note_peers_present(chat_room_state& s, const json& answers) {
  for (const auto& [node, there] : present_by_node(s, answers))
    for (const auto& [user, name] : there) s.remote_present[user][node] = chat_room_state::remote_member{name, true};
}

// Who is present here: [[user, name], ...] (connected, or within their grace).
json who_here(const chat_room_state& s) {
  json here = json::array();
  for (const auto& [user, e] : s.present) here.push_back(json::array({user, e.name}));
  for (const auto& [user, e] : s.leaving) here.push_back(json::array({user, e.name}));
  return here;
}

// Asks the other nodes who is present here (hub:who); the answers come back as
// peers_present_atom.
void ask_peers(room_self self) {
  const auto& s = self->state;
  if (!s.cfg.ask_peers) return;
  s.cfg.ask_peers(s.project, [to = caf::actor_cast<caf::actor>(self)](json answers) {
    caf::anon_send(to, peers_present_atom::value, make_json(std::move(answers)));
  });
}
}  // namespace

chat_room_actor spawn_chat_room(caf::actor_system& sys, std::string project, storage::storage_actor storage,
                                sio::broadcaster io, chat_room_config cfg) {
  return sys.spawn([project = std::move(project), storage = std::move(storage), io = std::move(io),
                    cfg = std::move(cfg)](room_self self) -> chat_room_actor::behavior_type {
    auto& st = self->state;
    st.project = project;
    st.storage = storage;
    st.group = io;
    st.group.to(group_room(project));
    st.cfg = cfg;
    // Load what the room keeps beyond its log; until then, messages wait in the mailbox
    // (skip), so that no handler sees a half-loaded room.
    self->set_default_handler(caf::skip);
    // In a cluster the peers' answer (who is here on other nodes) is part of the load, so
    // that the first join's answer lists them; the ask is bounded (2 s).
    st.loads_pending = cfg.ask_peers ? 6 : 5;
    auto loaded = [self] {
      if (--self->state.loads_pending > 0) return;
      self->set_default_handler(caf::print_and_drop);
      self->become(running_room(self));
    };
    self->request(storage, storage::request_timeout, storage::last_seq_atom::value, keys::room_log(project))
      .then(
        [self, loaded](std::uint64_t seq) {
          self->state.last_seq = std::max(self->state.last_seq, seq);
          loaded();
        },
        [self, loaded](caf::error& e) {
          log::error("room ", self->state.project, ": last seq: ", self->system().render(e));
          self->state.position_unknown = true;
          loaded();
        });
    self->request(storage, storage::request_timeout, storage::kv_get_atom::value, keys::epoch())
      .then(
        [self, loaded](bool found, const std::string& value) {
          if (found) self->state.epoch = value;
          loaded();
        },
        [self, loaded](caf::error&) { loaded(); });
    self->request(storage, storage::request_timeout, storage::kv_scan_atom::value, keys::members_prefix(project))
      .then(
        [self, loaded](const storage::kv_scan_ptr& rows) {
          const auto prefix = keys::members_prefix(self->state.project);
          for (const auto& row : *rows) self->state.members.insert(row.first.substr(prefix.size()));
          loaded();
        },
        [self, loaded](caf::error& e) {
          log::error("room ", self->state.project, ": members: ", self->system().render(e));
          loaded();
        });
    // The list of before per-member keys, still read.
    self->request(storage, storage::request_timeout, storage::kv_get_atom::value, keys::members(project))
      .then(
        [self, loaded](bool found, const std::string& value) {
          json all = found ? json::parse(value, nullptr, false) : json::array();
          if (all.is_array())
            for (const auto& m : all)
              if (m.is_string()) self->state.members.insert(m.get<std::string>());
          loaded();
        },
        [self, loaded](caf::error& e) {
          log::error("room ", self->state.project, ": members: ", self->system().render(e));
          loaded();
        });
    self->request(storage, storage::request_timeout, storage::kv_scan_atom::value, keys::reactions_prefix(project))
      .then(
        [self, loaded](const storage::kv_scan_ptr& rows) {
          load_reactions(self->state, *rows);
          loaded();
        },
        [self, loaded](caf::error& e) {
          log::error("room ", self->state.project, ": reactions: ", self->system().render(e));
          loaded();
        });
    if (cfg.retention_age.count() > 0) sweep_by_age(self);
    ask_peers(self);
    // The loading phase only keeps the actor alive (a sweep is not armed before the load)
    // and skips the rest, so it is not the whole interface (hence unsafe_init);
    // running_room is, and the compiler checks it.
    return {chat_room_actor::behavior_type::unsafe_init{},
            caf::behavior{[](sweep_atom) {},
                          [self, loaded](peers_present_atom, const json_ptr& answers) {
                            note_peers_present(self->state, *answers);
                            loaded();
                          }}};
  });
}

namespace {

// Validates a reply target: a message id of this room that exists (nullopt: none given).
// Returns false when it is invalid.
bool reply_root(const chat_room_state& s, const json& reply_to, std::uint64_t& root) {
  root = 0;
  if (reply_to.is_null()) return true;
  auto seq = message_seq(s.project, reply_to);
  if (!seq || *seq > s.last_seq) return false;
  root = *seq;
  return true;
}

// Sends entry `seq` (the next one) to the room's sockets: `new-message`, tagged with its
// place in the log for connection state recovery. In a cluster, to this node's sockets
// only: every node delivers the shared log itself.
void deliver_entry(room_self self, std::uint64_t seq, const std::string& value,
                   std::chrono::steady_clock::time_point accepted) {
  auto& s = self->state;
  json message = message_from_log(seq, value);
  if (message.contains("senderId")) stop_typing(self, message["senderId"].get<std::string>());
  auto b = s.group;
  if (s.cfg.shared_log) b.local();
  b.from_stream(keys::room_log(s.project), seq).accepted_at(accepted).emit("new-message", json::array({message}));
}

void fill_gap(room_self self);
void accept_entry(room_self self, std::uint64_t seq, const std::string& value,
                  std::chrono::steady_clock::time_point accepted);

// A page of the room's log read after last_seq (a gap filled, a join catching up): what
// retention pruned before the read is skipped (nobody can have it), the rest delivered
// in order.
void accept_page(room_self self, const storage::read_result& r) {
  auto& s = self->state;
  if (auto oldest = pruned_gap(s.last_seq, r.first_seq, r.last_seq); oldest && *oldest > s.last_seq + 1)
    s.last_seq = std::min(*oldest, r.last_seq + 1) - 1;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& e : r.entries) accept_entry(self, e.seq, e.value, now);
}

// A cluster's join: the room delivers what the log holds beyond its own view first (a
// publication lost with a link that is still down), then answers. The joining socket
// records where the log stood (from the storage) as its position for recovery; the
// answer's lastSeq must not be behind it, or what lies between would reach the client
// neither live nor by replay.
template <class F>
void catch_up(room_self self, F then) {
  auto& s = self->state;
  self
    ->request(s.storage, storage::request_timeout, storage::read_atom::value, keys::room_log(s.project), s.last_seq,
              std::uint64_t{256})
    .then(
      [self, then](const storage::read_result_ptr& r) mutable {
        accept_page(self, *r);
        if (r->has_more && !r->entries.empty()) return catch_up(self, std::move(then));
        then();
      },
      [then](caf::error&) mutable { then(); });  // the feed catches up later; answer now
}

// An entry of the room's log, from this node's own append or from the log feed: the
// next one is delivered (and whatever waited behind it), a repeat is dropped, and one
// past a gap waits while the gap is read from the log.
void accept_entry(room_self self, std::uint64_t seq, const std::string& value,
                  std::chrono::steady_clock::time_point accepted) {
  auto& s = self->state;
  if (std::exchange(s.position_unknown, false)) s.last_seq = std::max(s.last_seq, seq - 1);
  for (const auto& [next, stored] : s.order.accept(s.last_seq, seq, value)) deliver_entry(self, next, stored, accepted);
  if (s.order.waiting()) fill_gap(self);
}

// Reads the log after last_seq and delivers what it finds; again while entries wait
// behind a gap. Entries pruned meanwhile (retention) are skipped: nobody can have them.
void fill_gap(room_self self) {
  auto& s = self->state;
  if (s.filling) return;
  s.filling = true;
  const auto ticket = s.order.ticket();
  self
    ->request(s.storage, storage::request_timeout, storage::read_atom::value, keys::room_log(s.project), s.last_seq,
              std::uint64_t{256})
    .then(
      [self, ticket](const storage::read_result_ptr& r) {
        auto& s = self->state;
        s.filling = false;
        const auto before = s.last_seq;
        accept_page(self, *r);
        if (r->has_more) return fill_gap(self);
        s.order.drop_after(r->last_seq, ticket);
        if (!s.order.waiting()) return;
        // Entries still wait behind a gap: they were stored after this read looked.
        if (s.last_seq != before)
          fill_gap(self);
        else
          self->delayed_send(self, std::chrono::milliseconds(100), resync_atom::value);
      },
      [self](caf::error& e) {
        auto& s = self->state;
        s.filling = false;
        log::warn("room ", s.project, ": cannot read the log to fill a gap (retrying in 1 s): ",
                  self->system().render(e));
        self->delayed_send(self, std::chrono::seconds(1), resync_atom::value);
      });
}

void post(room_self self, const chat_post_ptr& post) {
  const auto accepted = std::chrono::steady_clock::now();
  auto& s = self->state;
  std::uint64_t root = 0;
  if (!reply_root(s, post->reply_to, root)) {
    if (post->done) post->done(post_result{false, app::error_code::invalid_reply_target, json()});
    return;
  }
  json stored = json::object();
  stored["projectId"] = s.project;
  stored["senderId"] = post->user_id;
  stored["senderName"] = post->user_name;
  stored["content"] = post->content;
  stored["createdAt"] = iso8601(wall_now());
  if (root != 0) stored["replyTo"] = post->reply_to;
  std::string value = stored.dump();
  // A reply is indexed in its thread's log in the same batch as the message.
  std::string index = root != 0 ? keys::thread_log(s.project, root) : std::string{};
  // Responses from one storage actor arrive in request order, so broadcasts go out in
  // seq order.
  self
    ->request(s.storage, storage::request_timeout, storage::append_atom::value, keys::room_log(s.project), value, index)
    .then(
      [self, post, value, accepted](std::uint64_t seq) {
        auto& s = self->state;
        metrics::add(metrics::global().chat_messages);
        prune_by_count(self, seq);
        s.posted_since_sweep = true;
        arm_sweep(self);
        json message = message_from_log(seq, value);
        accept_entry(self, seq, value, accepted);
        notify_absent(self, post->user_id, message);
        if (post->done) post->done(post_result{true, {}, std::move(message)});
      },
      [self, post](caf::error& e) {
        log::error("room ", self->state.project, ": append failed: ", self->system().render(e));
        if (post->done) post->done(post_result{false, app::error_code::storage, json()});
      });
}

// Toggles `user`'s `emoji` on message `seq`. One reaction write at a time per room, and
// the room's reactions (what history shows) change only once the write is durable, so
// a history read never shows a reaction before (or without) its message-reaction.
void react_now(room_self self, const std::string& user, std::uint64_t seq, const std::string& emoji,
               caf::response_promise promise);

void react(room_self self, const std::string& user, std::uint64_t seq, const std::string& emoji,
           caf::response_promise promise) {
  auto& s = self->state;
  if (seq == 0 || seq > s.last_seq) {
    promise.deliver(react_result{false, false, app::error_code::not_found});
    return self->state.reaction_writes.done();
  }
  if (!s.cfg.shared_log) return react_now(self, user, seq, emoji, promise);
  // In a cluster another node may have toggled this message's reactions: the toggle
  // starts from what is stored (two nodes toggling one message at the same moment can
  // still race: the later write wins; docs/cluster.md).
  self->request(s.storage, storage::request_timeout, storage::kv_get_atom::value, keys::reactions(s.project, seq))
    .then(
      [self, user, seq, emoji, promise](bool found, const std::string& value) mutable {
        set_reactions(self->state, seq, found ? value : std::string("{}"));
        react_now(self, user, seq, emoji, promise);
      },
      [self, promise](caf::error&) mutable {
        promise.deliver(react_result{false, false, app::error_code::storage});
        self->state.reaction_writes.done();
      });
}

void react_now(room_self self, const std::string& user, std::uint64_t seq, const std::string& emoji,
               caf::response_promise promise) {
  auto& s = self->state;
  auto next = s.reactions[seq];  // a copy: the committed state stays until the write lands
  if (next.empty()) s.reactions.erase(seq);
  if (!next.count(emoji) && next.size() >= s.cfg.max_distinct_reactions) {
    // Every distinct emoji is in the message's record and in each history page.
    promise.deliver(react_result{false, false, app::error_code::too_many_reactions});
    return self->state.reaction_writes.done();
  }
  auto& users = next[emoji];
  bool added = users.insert(user).second;
  if (!added) users.erase(user);
  if (users.empty()) next.erase(emoji);
  json stored = json::object();
  for (const auto& [e, us] : next) {
    json list = json::array();
    for (const auto& u : us) list.push_back(u);
    stored[e] = std::move(list);
  }
  auto announce = [self, user, seq, emoji, added, next, promise](bool) mutable {
    auto& s = self->state;
    if (next.empty())
      s.reactions.erase(seq);
    else
      s.reactions[seq] = std::move(next);
    json event{{"projectId", s.project},
               {"messageId", message_id(s.project, seq)},
               {"userId", user},
               {"emoji", emoji},
               {"action", added ? "added" : "removed"}};
    auto b = s.group;
    b.emit("message-reaction", json::array({std::move(event)}));
    promise.deliver(react_result{true, added, {}});
    self->state.reaction_writes.done();
  };
  auto failed = [self, promise](caf::error& e) mutable {
    log::warn("room ", self->state.project, ": reaction not stored: ", self->system().render(e));
    promise.deliver(react_result{false, false, app::error_code::storage});
    self->state.reaction_writes.done();
  };
  if (stored.empty())
    self->request(s.storage, storage::request_timeout, storage::kv_erase_atom::value, keys::reactions(s.project, seq))
      .then(announce, failed);
  else
    self
      ->request(s.storage, storage::request_timeout, storage::kv_put_atom::value, keys::reactions(s.project, seq),
                stored.dump())
      .then(announce, failed);
}

room_info_ptr make_room_info(room_self self) {
  auto info = std::make_shared<room_info>();
  info->last_seq = self->state.last_seq;
  for (const auto& [user, e] : self->state.present)
    info->online.push_back(json{{"userId", user}, {"userName", e.name}});
  for (const auto& [user, nodes] : self->state.remote_present)
    if (!self->state.present.count(user) && !nodes.empty())
      info->online.push_back(json{{"userId", user}, {"userName", nodes.begin()->second.name}});
  return info;
}

chat_room_actor::behavior_type running_room(room_self self) {
  return {
    [self](sweep_atom) {
      self->state.sweep_armed = false;
      sweep_by_age(self);
      if (std::exchange(self->state.posted_since_sweep, false)) arm_sweep(self);
    },
    [self](post_atom, const chat_post_ptr& p) { post(self, p); },
    [self](log_entry_atom, const std::string& epoch, std::uint64_t seq, const std::string& value) {
      auto& s = self->state;
      if (s.epoch.empty()) s.epoch = epoch;  // not known at spawn: this one is current
      if (epoch == s.epoch) return accept_entry(self, seq, value, std::chrono::steady_clock::now());
      // Another epoch: believed only once the storage says so (a stray publication must
      // not make the room start over and send its history again).
      self->request(s.storage, storage::request_timeout, storage::kv_get_atom::value, keys::epoch())
        .then(
          [self, epoch, seq, value](bool found, const std::string& stored) {
            auto& s = self->state;
            if (!found || stored != epoch || epoch == s.epoch) {
              if (epoch == s.epoch) accept_entry(self, seq, value, std::chrono::steady_clock::now());
              return;
            }
            log::warn("room ", s.project, ": the shared storage lost its data (epoch ", s.epoch, " -> ", epoch,
                      "): the log starts again at seq 1");
            s.epoch = epoch;
            s.last_seq = 0;
            s.order.clear();
            s.read_markers.clear();
            s.reactions.clear();
            accept_entry(self, seq, value, std::chrono::steady_clock::now());
          },
          [](caf::error&) {});
    },
    [self](resync_atom) { fill_gap(self); },
    [self](member_atom, const std::string& user) { self->state.members.insert(user); },
    [self](react_atom, const std::string& user, std::uint64_t seq,
           const std::string& emoji) -> caf::result<react_result> {
      auto promise = self->make_response_promise<react_result>();
      self->state.reaction_writes.push(
        [self, user, seq, emoji, promise]() mutable { react(self, user, seq, emoji, promise); });
      return promise;
    },
    [self](history_atom, std::uint64_t after, std::uint64_t limit, std::uint64_t thread) -> caf::result<json_ptr> {
      auto promise = self->make_response_promise<json_ptr>();
      if (thread == 0)
        room_history(self, after, limit, promise);
      else
        thread_history(self, thread, after, limit, promise);
      return promise;
    },
    [self](typing_atom, const std::string& user, const std::string& name) {
      auto& s = self->state;
      auto [it, fresh] = s.typing.try_emplace(user);
      it->second.name = name;
      it->second.generation = ++s.typing_generation;
      if (fresh && !s.remote_typing.count(user))
        announce(self, user, "user-typing", json{{"userId", user}, {"userName", name}});
      tell_peers(self, "typing", user, name);  // each time: it re-arms their timers too
      self->delayed_send(self, s.cfg.typing_timeout, typing_expire_atom::value, user, it->second.generation);
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
      ensure_member(self, user, [](const caf::error&) {});  // a failure is logged; the next join retries
      const bool elsewhere = online_elsewhere(s, user);
      auto& e = s.present[user];
      e.name = name;
      if (e.connections++ > 0) return;
      // First connection here: announce, unless the user only stepped out within the
      // grace (here) or is online on another node.
      const bool returned = s.leaving.erase(user) > 0;
      tell_peers(self, "online", user, name);  // after an "away" too: connected again
      if (returned) return;
      if (!elsewhere) announce(self, user, "user-joined", json{{"userId", user}, {"userName", name}});
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
        left_here(self, user, name);
        return;
      }
      auto generation = ++s.presence_generation;
      tell_peers(self, "away", user, name);  // not in the room there: chat notifications again
      s.leaving[user] = leaving_entry{std::move(name), generation};
      self->delayed_send(self, s.cfg.presence_grace, presence_expire_atom::value, user, generation);
    },
    [self](presence_expire_atom, const std::string& user, std::uint64_t generation) {
      auto& s = self->state;
      auto it = s.leaving.find(user);
      if (it == s.leaving.end() || it->second.generation != generation) return;  // came back
      std::string name = std::move(it->second.name);
      s.leaving.erase(it);
      left_here(self, user, name);
    },
    [self](room_peer_atom, const std::string& kind, const std::string& node, const std::string& user,
           const std::string& name) { on_peer(self, kind, node, user, name); },
    [self](peer_typing_expire_atom, const std::string& user, std::uint64_t generation) {
      auto it = self->state.remote_typing.find(user);
      if (it == self->state.remote_typing.end() || it->second.generation != generation) return;  // refreshed
      drop_remote_typist(self, user);
    },
    [self](node_gone_atom, const std::string& node) { on_node_gone(self, node); },
    [self](who_atom) -> json_ptr { return make_json(who_here(self->state)); },
    // The answers to an ask after a link loss (the one at spawn is taken while loading).
    [self](peers_present_atom, const json_ptr& answers) { reconcile_peers(self, *answers); },
    // This node's link came back: what it heard and told meanwhile was lost. It asks the
    // others again, and tells them its own state once (which replaces what they had).
    [self](peers_ask_atom) {
      ask_peers(self);
      if (self->state.cfg.share_present) self->state.cfg.share_present(self->state.project, who_here(self->state));
    },
    [self](mark_read_atom, const std::string& user, std::uint64_t seq) -> caf::result<bool, std::uint64_t> {
      if (seq > self->state.last_seq) return {false, std::uint64_t{0}};  // no such message yet
      auto promise = self->make_response_promise<bool, std::uint64_t>();
      self->state.marker_writes[user].push(
        [self, user, seq, promise]() mutable { mark_read(self, user, seq, promise); });
      return promise;
    },
    // A join's answer: sent once the user is durably a member (a storage error otherwise).
    [self](room_info_atom, const std::string& user) -> caf::result<room_info_ptr> {
      auto promise = self->make_response_promise<room_info_ptr>();
      ensure_member(self, user, [self, user, promise](const caf::error& err) mutable {
        if (err) {
          promise.deliver(err);
          return;
        }
        with_read_marker(
          self, user,
          [self, promise](std::uint64_t marker) mutable {
            auto answer = [self, promise, marker]() mutable {
              auto info = std::make_shared<room_info>(*make_room_info(self));
              info->last_read_seq = marker;
              promise.deliver(room_info_ptr(std::move(info)));
            };
            if (self->state.cfg.shared_log)
              catch_up(self, std::move(answer));
            else
              answer();
          },
          [promise](const caf::error& e) mutable { promise.deliver(e); });
      });
      return promise;
    },
    [self](room_info_atom) -> room_info_ptr { return make_room_info(self); },
  };
}

}  // namespace

}  // namespace hub
