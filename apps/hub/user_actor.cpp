#include "apps/hub/user_actor.hpp"

#include "apps/hub/chat_room_actor.hpp"
#include "apps/hub/inbox.hpp"
#include "apps/hub/log_feed.hpp"
#include "apps/hub/serial_ops.hpp"
#include "sio/room_members.hpp"
#include "storage/storage_actor.hpp"
#include "util/log.hpp"
#include "util/sources.hpp"
#include "util/metrics.hpp"
#include "util/random_id.hpp"
#include "util/small_fifo.hpp"

#include <functional>

namespace hub {
namespace {

constexpr std::uint64_t load_page = 500;

struct user_state {
  std::string user;
  // The same for every user of an app: shared, not copied into each mailbox (the
  // broadcaster alone is ~150 bytes).
  std::shared_ptr<const user_config> config;
  const user_config& cfg() const { return *config; }
  // When each message still inside the window was accepted (clock of the actor, which
  // is virtual under the deterministic scheduler). Slots free as their window ends:
  // expired entries are dropped before each decision, and a timer drops the rest once
  // the user goes quiet, so an idle user holds none.
  small_fifo<caf::actor_clock::time_point> accepted;  // no memory while idle
  bool release_armed = false;                         // a rate_refill timer is pending
  // One bucket per limited event; none until the user sends one of them.
  std::unique_ptr<std::array<token_bucket, limited_event_count>> buckets;

  inbox box;
  std::size_t online = 0;               // counted connections of the user
  std::uint64_t delivered_through = 0;  // inbox seq up to which a connection had it
  std::uint64_t delivered_stored = 0;   // the value last written to storage
  serial_ops writes;                    // inbox writes, one at a time (see user_actor.hpp)
  // A cluster (shared_storage: the engine is shared): other nodes append to this inbox too,
  // and their entries come from the log feed. Every entry is folded through `order`, in
  // seq order, once; `folded` is the last folded seq. `epoch` as in the room actor.
  app::log_order order;
  std::uint64_t folded = 0;
  bool filling = false;
  std::string epoch;
  room_members room;                    // the connections in the user's `user:<id>` room
};

using user_self = user_actor::stateful_pointer<user_state>;

user_actor::behavior_type running_user(user_self self);

// The user's room, the same in both phases.
void room_join(user_self self, const std::string& key, const caf::actor& member) { self->state.room.join(key, member); }
void room_leave(user_self self, const caf::actor& member) { self->state.room.leave(member); }
void room_deliver(user_self self, const broadcast_ptr& b) { self->state.room.deliver(self, b); }

void release_expired(user_state& s, caf::actor_clock::time_point now) {
  while (!s.accepted.empty() && s.accepted.front() + s.cfg().rate.window <= now) s.accepted.pop_front();
}

void arm_release(user_self self, caf::actor_clock::duration_type after) {
  self->state.release_armed = true;
  self->delayed_send(self, std::max(after, caf::actor_clock::duration_type{1}), rate_refill_atom::value);
}

void persist_delivered(user_self self) {
  auto& s = self->state;
  if (s.delivered_through == s.delivered_stored) return;
  s.delivered_stored = s.delivered_through;
  // Only if larger: a user's mailboxes on several nodes never move it backwards.
  self
    ->request(s.cfg().storage, storage::request_timeout, storage::kv_max_atom::value, keys::inbox_delivered(s.user),
              s.delivered_through)
    .then([](bool) {},
          [self](caf::error& e) {
            log::warn("user ", self->state.user, ": delivery mark not stored: ", self->system().render(e));
          });
}

void fill_inbox_gap(user_self self);

// Folds entry `seq` into the inbox: the next one (and what waited behind it), or, past a
// gap, after the gap was read from the log. Alone every entry is this mailbox's own, so
// there is never a gap.
void fold(user_self self, std::uint64_t seq, std::string value) {
  auto& s = self->state;
  for (const auto& [next, stored] : s.order.accept(s.folded, seq, std::move(value)))
    s.box.apply(next, json::parse(stored, nullptr, false));
  if (s.order.waiting()) fill_inbox_gap(self);
}

void fill_inbox_gap(user_self self) {
  auto& s = self->state;
  if (s.filling) return;
  s.filling = true;
  const auto ticket = s.order.ticket();
  self
    ->request(s.cfg().storage, storage::request_timeout, storage::read_atom::value, keys::inbox_log(s.user), s.folded,
              load_page)
    .then(
      [self, ticket](const storage::read_result_ptr& r) {
        auto& s = self->state;
        s.filling = false;
        // Pruned before it was read: nobody can have it.
        if (r->first_seq > s.folded + 1) s.folded = r->first_seq - 1;
        for (const auto& e : r->entries) fold(self, e.seq, e.value);
        if (!r->has_more) s.order.drop_after(r->last_seq, ticket);
        if (r->has_more || s.order.waiting())
          self->delayed_send(self, std::chrono::milliseconds(100), resync_atom::value);
      },
      [self](caf::error&) {
        self->state.filling = false;
        self->delayed_send(self, std::chrono::seconds(1), resync_atom::value);
      });
}

// Appends `entry`, then (durable) folds it in and runs `done(seq)`; `failed` otherwise.
// Either way the next queued write starts afterwards.
void append_entry(user_self self, json entry, const std::function<void(std::uint64_t)>& done,
                  const std::function<void(caf::error&)>& failed) {
  auto& s = self->state;
  auto value = entry.dump();
  self
    ->request(s.cfg().storage, storage::request_timeout, storage::append_atom::value, keys::inbox_log(s.user),
              std::move(value))
    .then(
      [self, entry = std::move(entry), done](std::uint64_t seq) {
        auto& s = self->state;
        fold(self, seq, entry.dump());
        // A connection of the user is up: it gets this live.
        if (s.online > 0) s.delivered_through = seq;
        if (auto keep_from = s.box.trim(s.cfg().inbox_keep); keep_from > 0)
          self
            ->request(s.cfg().storage, storage::request_timeout, storage::prune_atom::value, keys::inbox_log(s.user),
                      keep_from)
            .then([](std::uint64_t) {}, [](caf::error&) {});
        done(seq);
        self->state.writes.done();
      },
      [self, failed](caf::error& e) {
        log::error("user ", self->state.user, ": inbox append failed: ", self->system().render(e));
        failed(e);
        self->state.writes.done();
      });
}

// Announces a notification (or a new version of one) to every connection of the user.
void announce(user_self self, std::uint64_t seq, json view) {
  auto b = self->state.cfg().io;
  b.to(user_room(self->state.user))
    .from_stream(keys::inbox_log(self->state.user), seq)
    .emit("notification", json::array({std::move(view)}));
}

void notify(user_self self, const json_ptr& input, caf::response_promise promise) {
  auto id = random_id();
  auto entry = inbox::notification_entry(id, *input, iso8601(wall_now()));
  append_entry(
    self, entry,
    [self, entry, promise](std::uint64_t seq) mutable {
      auto view = inbox::client_view(entry["n"], false);
      announce(self, seq, view);
      metrics::add(metrics::global().notifications);
      promise.deliver(make_json(std::move(view)));
    },
    [promise](caf::error& e) mutable { promise.deliver(e); });
}

void chat_notify(user_self self, const std::string& project, const json_ptr& message) {
  auto entry = self->state.box.chat_entry(project, *message, random_id(), iso8601(wall_now()));
  append_entry(
    self, entry,
    [self, entry](std::uint64_t seq) {
      announce(self, seq, inbox::client_view(entry["n"], false));
      metrics::add(metrics::global().notifications);
    },
    [](caf::error&) {});
}

void mark_read(user_self self, const json_ptr& request, const std::string& except_sid, caf::response_promise promise) {
  std::vector<std::string> ids;
  bool all = request->value("all", false) == true;
  if (auto it = request->find("ids"); it != request->end())
    for (const auto& id : *it) ids.push_back(id.get<std::string>());
  auto entry = self->state.box.read_entry(ids, all);
  if (!entry) {  // nothing was unread among them: nothing to store or tell
    promise.deliver(static_cast<std::uint64_t>(self->state.box.unread()));
    self->state.writes.done();
    return;
  }
  append_entry(
    self, *entry,
    [self, entry = *entry, except_sid, promise](std::uint64_t seq) mutable {
      auto& s = self->state;
      auto event = inbox::replay_event(entry);
      auto b = s.cfg().io;
      b.to(user_room(s.user)).from_stream(keys::inbox_log(s.user), seq);
      // The connection that asked gets the ack instead; its other tabs get the event.
      if (!except_sid.empty()) b.except_socket(except_sid);
      b.emit(event->first, json::array({std::move(event->second)}));
      promise.deliver(static_cast<std::uint64_t>(s.box.unread()));
    },
    [promise](caf::error& e) mutable { promise.deliver(e); });
}

// -- loading -------------------------------------------------------------------------------

void load_inbox(user_self self, std::uint64_t after) {
  auto& s = self->state;
  self
    ->request(s.cfg().storage, storage::request_timeout, storage::read_atom::value, keys::inbox_log(s.user), after,
              load_page)
    .then(
      [self](const storage::read_result_ptr& r) {
        auto& s = self->state;
        for (const auto& e : r->entries) s.box.apply(e.seq, json::parse(e.value, nullptr, false));
        if (r->has_more && !r->entries.empty()) return load_inbox(self, r->entries.back().seq);
        // The last seq may lie past the last kept entry (pruned versions).
        s.box.apply(r->last_seq, json());
        s.folded = s.box.last_seq();
        self
          ->request(s.cfg().storage, storage::request_timeout, storage::kv_get_atom::value,
                    keys::inbox_delivered(s.user))
          .then(
            [self](bool found, const std::string& value) {
              auto& s = self->state;
              if (found) s.delivered_through = s.delivered_stored = std::strtoull(value.c_str(), nullptr, 10);
              self->send(self, inbox_loaded_atom::value);
            },
            [self](caf::error&) { self->send(self, inbox_loaded_atom::value); });
      },
      [self](caf::error& e) {
        log::error("user ", self->state.user, ": inbox not loaded: ", self->system().render(e));
        self->send(self, inbox_loaded_atom::value);
      });
}

user_actor::behavior_type running_user(user_self self) {
  return {
    [self](rate_take_atom) -> caf::result<bool, std::int64_t> {
      auto& s = self->state;
      if (s.cfg().shared_storage && s.cfg().storage) {
        auto promise = self->make_response_promise<bool, std::int64_t>();
        self
          ->request(s.cfg().storage, storage::request_timeout, storage::rate_atom::value, keys::rate(s.user),
                    static_cast<std::uint64_t>(s.cfg().rate.count),
                    static_cast<std::uint64_t>(s.cfg().rate.window.count()))
          .then(
            [promise](std::int64_t wait) mutable {
              if (wait > 0) metrics::add(metrics::global().rate_limited);
              promise.deliver(wait == 0, wait);
            },
            [promise](caf::error& e) mutable { promise.deliver(std::move(e)); });
        return promise;
      }
      auto now = self->clock().now();
      release_expired(s, now);
      if (s.accepted.size() >= s.cfg().rate.count) {
        auto free_at = s.accepted.front() + s.cfg().rate.window;
        auto wait = std::chrono::ceil<std::chrono::milliseconds>(free_at - now).count();
        metrics::add(metrics::global().rate_limited);
        return {false, std::max<std::int64_t>(wait, 1)};
      }
      s.accepted.push_back(now);
      if (!s.release_armed)
        arm_release(self, std::chrono::duration_cast<caf::actor_clock::duration_type>(s.cfg().rate.window));
      return {true, std::int64_t{0}};
    },
    [self](event_rate_atom, std::uint8_t kind) -> std::tuple<bool, std::int64_t> {
      auto& s = self->state;
      if (kind >= limited_event_count) return {false, 0};
      if (!s.buckets) s.buckets = std::make_unique<std::array<token_bucket, limited_event_count>>();
      auto wait = (*s.buckets)[kind].take(self->clock().now(), s.cfg().events[kind]);
      if (wait == 0) return {true, 0};
      metrics::add(metrics::global().rate_limited);
      return {false, wait};
    },
    [self](rate_refill_atom) {
      auto& s = self->state;
      s.release_armed = false;
      auto now = self->clock().now();
      release_expired(s, now);
      // Once more, when everything accepted so far has expired: one timer per window,
      // not one per message.
      if (!s.accepted.empty()) arm_release(self, s.accepted.back() + s.cfg().rate.window - now);
    },
    [self](notify_atom, const json_ptr& input) -> caf::result<json_ptr> {
      if (!self->state.cfg().storage) return caf::make_error(caf::sec::unexpected_message);
      auto promise = self->make_response_promise<json_ptr>();
      self->state.writes.push([self, input, promise]() mutable { notify(self, input, promise); });
      return promise;
    },
    [self](chat_notify_atom, const std::string& project, const json_ptr& message) {
      if (!self->state.cfg().storage) return;
      self->state.writes.push([self, project, message] { chat_notify(self, project, message); });
    },
    [self](inbox_read_atom, const json_ptr& request, const std::string& except_sid) -> caf::result<std::uint64_t> {
      if (!self->state.cfg().storage) return caf::make_error(caf::sec::unexpected_message);
      auto promise = self->make_response_promise<std::uint64_t>();
      self->state.writes.push(
        [self, request, except_sid, promise]() mutable { mark_read(self, request, except_sid, promise); });
      return promise;
    },
    [self](inbox_list_atom, bool unread_only, std::uint64_t limit) -> json_ptr {
      auto& box = self->state.box;
      return make_json(
        json{{"notifications", box.list(unread_only, static_cast<std::size_t>(limit))}, {"unread", box.unread()}});
    },
    [self](inbox_unread_atom) -> std::uint64_t { return self->state.box.unread(); },
    [self](online_atom, bool recovered) -> json_ptr {
      auto& s = self->state;
      ++s.online;
      json push = json::array();
      // A recovered connection's replay already carried what it missed.
      if (!recovered)
        for (auto& n : s.box.unread_after(s.delivered_through)) push.push_back(std::move(n));
      s.delivered_through = std::max(s.delivered_through, s.box.last_seq());
      if (s.cfg().storage) persist_delivered(self);
      return make_json(std::move(push));
    },
    [self](offline_atom) {
      auto& s = self->state;
      if (s.online > 0) --s.online;
      if (s.online == 0 && s.cfg().storage) persist_delivered(self);
    },
    [self](join_atom, const std::string& key, const caf::actor& member) { room_join(self, key, member); },
    [self](leave_atom, const std::string&, const caf::actor& member) { room_leave(self, member); },
    [self](broadcast_atom, const broadcast_ptr& b) { room_deliver(self, b); },
    [](inbox_loaded_atom) {},  // only the loading phase waits for it
    [self](log_entry_atom, const std::string& epoch, std::uint64_t seq, std::string& value) {
      auto& s = self->state;
      if (s.epoch.empty()) s.epoch = epoch;
      if (epoch == s.epoch) return fold(self, seq, std::move(value));
      // Another epoch, once the storage confirms it: the shared engine lost its data, and
      // so did this inbox.
      self->request(s.cfg().storage, storage::request_timeout, storage::kv_get_atom::value, keys::epoch())
        .then(
          [self, epoch, seq, value](bool found, const std::string& stored) mutable {
            auto& s = self->state;
            if (!found || stored != epoch || epoch == s.epoch) {
              if (epoch == s.epoch) fold(self, seq, std::move(value));
              return;
            }
            s.epoch = epoch;
            s.box = inbox{};
            s.folded = 0;
            s.order.clear();
            s.delivered_through = s.delivered_stored = 0;
            fold(self, seq, std::move(value));
          },
          [](caf::error&) {});
    },
    [self](resync_atom) { fill_inbox_gap(self); },
  };
}

}  // namespace

const char* to_string(limited_event e) {
  static constexpr const char* names[] = {"typing", "reaction", "sync", "rooms", "mark_read"};
  return names[static_cast<std::size_t>(e)];
}

user_actor spawn_user_actor(caf::actor_system& sys, std::string user, std::shared_ptr<const user_config> cfg) {
  return sys.spawn([user = std::move(user), cfg = std::move(cfg)](user_self self) -> user_actor::behavior_type {
    self->state.user = user;
    self->state.config = cfg;
    if (!cfg->storage) return running_user(self);
    // Until the inbox is loaded, every other message waits in the mailbox: the loading
    // phase handles only the end of the load and the user's room, so it is not the whole
    // interface (hence unsafe_init); running_user is, and the compiler checks it.
    self->set_default_handler(caf::skip);
    if (self->state.cfg().shared_storage && self->state.cfg().storage)  // a cluster: the feed's epoch
      self->request(self->state.cfg().storage, storage::request_timeout, storage::kv_get_atom::value, keys::epoch())
        .then(
          [self](bool found, const std::string& value) {
            if (found && self->state.epoch.empty()) self->state.epoch = value;
          },
          [](caf::error&) {});
    load_inbox(self, 0);
    return {user_actor::behavior_type::unsafe_init{},
            caf::behavior{
              [self](inbox_loaded_atom) {
                self->set_default_handler(caf::print_and_drop);
                self->become(running_user(self));
              },
              // The user's room does not wait for the inbox: a connection's events must not.
              [self](join_atom, const std::string& key, const caf::actor& member) { room_join(self, key, member); },
              [self](leave_atom, const std::string&, const caf::actor& member) { room_leave(self, member); },
              [self](broadcast_atom, const broadcast_ptr& b) { room_deliver(self, b); },
            }};
  });
}

user_actor spawn_user_actor(caf::actor_system& sys, std::string user, user_config cfg) {
  return spawn_user_actor(sys, std::move(user), std::make_shared<const user_config>(std::move(cfg)));
}

user_actor spawn_user_actor(caf::actor_system& sys, std::string user, rate_limit limit) {
  user_config cfg;
  cfg.rate = limit;
  return spawn_user_actor(sys, std::move(user), std::move(cfg));
}

}  // namespace hub
