// Deterministic fixture for Project Hub's domain actors (chat room, user): the
// sio_fixture of deterministic.hpp plus
//   - a RocksDB store in a unique temp dir and a NON-detached storage actor on it
//     (a detached one would escape the test coordinator, toolchain.md §6);
//   - a namespace "/" whose sockets join rooms on ["join", room...], so that recorder
//     clients can stand in for users' connections in group:<p> and user:<id>;
//   - requesters that collect an actor's answer without blocking (room_info, rate_take);
//   - parsing of the events the clients received.
// Teardown: stop the domain actors and the storage actor, close the store, remove the
// dir; then sio_fixture closes the sessions and drops the server.
#pragma once

#include "apps/hub/chat_room_actor.hpp"
#include "apps/hub/hub_messages.hpp"
#include "storage/storage_actor.hpp"
#include "apps/hub/user_actor.hpp"
#include "storage/store.hpp"
#include "tests/unit/support/deterministic.hpp"
#include "tests/unit/support/temp_dir.hpp"

#include <caf/all.hpp>

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace hub::test {

// One Socket.IO event as a client received it on namespace "/": ["name", payload...].
struct received_event {
  std::string name;
  json args = json::array();  // the arguments after the name
  const json& payload() const { return args.at(0); }
};

// Parses "42[...]" texts (namespace "/"); anything else becomes {"<raw>", [text]}.
inline std::vector<received_event> parse_events(const std::vector<std::string>& texts) {
  std::vector<received_event> out;
  for (const auto& t : texts) {
    received_event e;
    json a = t.rfind("42[", 0) == 0 ? json::parse(t.substr(2), nullptr, false) : json();
    if (a.is_array() && !a.empty() && a[0].is_string()) {
      e.name = a[0].get<std::string>();
      for (std::size_t i = 1; i < a.size(); ++i) e.args.push_back(a[i]);
    } else {
      e.name = "<raw>";
      e.args.push_back(t);
    }
    out.push_back(std::move(e));
  }
  return out;
}

class hub_fixture : public sio_fixture {
 public:
  hub_fixture() {
    auto& srv = make_server();
    srv.of("/").on("join", [](sio::socket& s, sio::event& ev) {
      for (const auto& r : ev.args()) s.join(r.get<std::string>());
    });
    srv.of("/").on("leave", [](sio::socket& s, sio::event& ev) {
      for (const auto& r : ev.args()) s.leave(r.get<std::string>());
    });
    open_storage();
  }

  ~hub_fixture() {
    stop_domain_actors();
    close_storage();
  }

  // -- storage ---------------------------------------------------------------------------
  // Opens the store in `dir` (again) and spawns a non-detached storage actor on it.
  void open_storage() {
    if (db || storage) throw std::logic_error("storage already open");
    db = std::make_shared<storage::store>(dir.str(), storage::store_options{false});
    storage = spawn_storage_actor(sys, db, false);
    run();
  }

  // Stops the storage actor and closes the store (so that it can be reopened).
  void close_storage() {
    if (storage) {
      caf::anon_send_exit(storage, caf::exit_reason::user_shutdown);
      storage = storage::storage_actor{};
    }
    drain();
    if (db && db.use_count() != 1) throw std::logic_error("store still referenced after the storage actor stopped");
    db.reset();
  }

  // -- domain actors ---------------------------------------------------------------------
  chat_room_actor spawn_room(const std::string& project,
                             std::chrono::milliseconds typing_timeout = std::chrono::seconds(3)) {
    chat_room_config c;
    c.typing_timeout = typing_timeout;
    auto room = spawn_chat_room(sys, project, storage, server->in("/"), c);
    domain_.push_back(caf::actor_cast<caf::actor>(room));
    return room;
  }

  // A room with a configuration of the test's own (e.g. shared_log).
  chat_room_actor spawn_room_with(const std::string& project, chat_room_config c) {
    auto room = spawn_chat_room(sys, project, storage, server->in("/"), std::move(c));
    domain_.push_back(caf::actor_cast<caf::actor>(room));
    return room;
  }

  // A room whose chat notifications go to mailbox(user).
  chat_room_actor spawn_notifying_room(const std::string& project) {
    chat_room_config c;
    c.user_mailbox = [this](const std::string& user) { return mailbox(user); };
    auto room = spawn_chat_room(sys, project, storage, server->in("/"), c);
    domain_.push_back(caf::actor_cast<caf::actor>(room));
    return room;
  }

  // The user's mailbox with its inbox on the fixture's storage (spawned on first use;
  // forget_mailbox() + mailbox() respawns it from what is stored).
  user_actor mailbox(const std::string& user, std::size_t inbox_keep = 500) {
    if (mailboxes_closed_) return user_actor{};
    auto& m = mailboxes_[user];
    if (!m) {
      user_config c;
      c.storage = storage;
      c.io = server->in("/");
      c.inbox_keep = inbox_keep;
      m = spawn_user_actor(sys, user, c);
      domain_.push_back(caf::actor_cast<caf::actor>(m));
    }
    return m;
  }
  void forget_mailbox(const std::string& user) {
    auto it = mailboxes_.find(user);
    if (it == mailboxes_.end()) return;
    stop(it->second);
    mailboxes_.erase(it);
  }

  // A request from a fresh requester actor, answered after running the system; throws
  // when it failed or was not answered.
  template <class... Ts, class Handle, class... Args>
  std::tuple<Ts...> ask(const Handle& to, Args... args) {
    auto out = std::make_shared<answer<std::tuple<Ts...>>>();
    sys.spawn([to, out, args...](caf::event_based_actor* self) {
      self->request(to, caf::infinite, args...)
        .then([out](Ts... xs) { out->value = std::tuple<Ts...>{std::move(xs)...}; },
              [out, self](caf::error& e) { out->error = self->system().render(e); });
    });
    run();
    if (out->error) throw std::runtime_error("request failed: " + *out->error);
    if (!out->value) throw std::runtime_error("request not answered");
    return *out->value;
  }

  user_actor spawn_user(const std::string& user, rate_limit limit = {}) {
    auto u = spawn_user_actor(sys, user, limit);
    domain_.push_back(caf::actor_cast<caf::actor>(u));
    return u;
  }

  // Stops `a` (a room or user actor) and drops the fixture's handle to it.
  template <class Handle>
  void stop(Handle& a) {
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    for (auto& d : domain_)
      if (d.address() == a.address()) d = caf::actor{};
    a = Handle{};
    run();
  }

  void stop_domain_actors() {
    mailboxes_closed_ = true;
    for (auto& d : domain_)
      if (d) caf::anon_send_exit(d, caf::exit_reason::user_shutdown);
    domain_.clear();
    mailboxes_.clear();
    drain();
  }

  // -- clients ---------------------------------------------------------------------------
  // A connection of `user`, connected to "/" and in rooms user:<user> and group:<p>
  // for each project; what it received so far is discarded.
  sio_client& connection(const std::string& user, std::vector<std::string> projects) {
    auto& c = client();
    auto sid = c.connect("/");
    json a = json::array({"join", user_room(user)});
    for (const auto& p : projects) a.push_back(group_room(p));
    c.feed("42" + a.dump());
    c.take();
    sids[&c] = sid;
    return c;
  }

  // Socket ids of the connections made by connection().
  std::map<const sio_client*, std::string> sids;

  static std::vector<received_event> events(sio_client& c) { return parse_events(c.take_texts()); }

  // -- requests --------------------------------------------------------------------------
  // Sends the request from a fresh requester actor; the answer lands in the returned
  // slot once the system ran. Nothing runs here.
  template <class T>
  struct answer {
    std::optional<T> value;
    std::optional<std::string> error;
  };

  std::shared_ptr<answer<room_info_ptr>> request_room_info(const chat_room_actor& room) {
    auto out = std::make_shared<answer<room_info_ptr>>();
    sys.spawn([room, out](caf::event_based_actor* self) {
      self->request(room, caf::infinite, room_info_atom::value)
        .then([out](const room_info_ptr& p) { out->value = p; },
              [out, self](caf::error& e) { out->error = self->system().render(e); });
    });
    return out;
  }

  // room_info, answered after running the system (throws if it was not answered).
  room_info_ptr room_info_of(const chat_room_actor& room) {
    auto a = request_room_info(room);
    run();
    if (a->error) throw std::runtime_error("room_info failed: " + *a->error);
    if (!a->value || !*a->value) throw std::runtime_error("room_info not answered");
    return *a->value;
  }

  using take_result = std::tuple<bool, std::int64_t>;

  // (event_rate_atom, kind), answered after running the system.
  take_result event_take(const user_actor& user, limited_event kind) {
    auto out = std::make_shared<answer<take_result>>();
    sys.spawn([user, out, kind](caf::event_based_actor* self) {
      self->request(user, caf::infinite, event_rate_atom::value, static_cast<std::uint8_t>(kind))
        .then(
          [out](bool ok, std::int64_t retry) {
            out->value = take_result{ok, retry};
          },
          [out, self](caf::error& e) { out->error = self->system().render(e); });
    });
    run();
    if (out->error) throw std::runtime_error("event_rate failed: " + *out->error);
    if (!out->value) throw std::runtime_error("event_rate not answered");
    return *out->value;
  }

  // rate_take, answered after running the system (throws if it was not answered).
  take_result rate_take(const user_actor& user) {
    auto out = std::make_shared<answer<take_result>>();
    sys.spawn([user, out](caf::event_based_actor* self) {
      self->request(user, caf::infinite, rate_take_atom::value)
        .then(
          [out](bool ok, std::int64_t retry) {
            out->value = take_result{ok, retry};
          },
          [out, self](caf::error& e) { out->error = self->system().render(e); });
    });
    run();
    if (out->error) throw std::runtime_error("rate_take failed: " + *out->error);
    if (!out->value) throw std::runtime_error("rate_take not answered");
    return *out->value;
  }

  // -- posting ---------------------------------------------------------------------------
  // The `done` callbacks' results, in the order they ran.
  struct post_log {
    std::vector<post_result> results;
  };

  // Enqueues a post (nothing runs); its result is appended to `log`.
  void post(const chat_room_actor& room, std::shared_ptr<post_log> log, std::string user, std::string name,
            std::string content, json reply_to = json()) {
    auto p = std::make_shared<chat_post>();
    p->user_id = std::move(user);
    p->user_name = std::move(name);
    p->content = std::move(content);
    p->reply_to = std::move(reply_to);
    p->done = [log](const post_result& r) { log->results.push_back(r); };
    caf::anon_send(room, post_atom::value, chat_post_ptr(std::move(p)));
  }

  // Declared first among this class's members: removed last, after the store closed.
  unique_temp_dir dir{"hub-actors-test"};
  std::shared_ptr<storage::store> db;
  storage::storage_actor storage;

 private:
  std::vector<caf::actor> domain_;
  std::map<std::string, user_actor> mailboxes_;
  bool mailboxes_closed_ = false;
};

}  // namespace hub::test
