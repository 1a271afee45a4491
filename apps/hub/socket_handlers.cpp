// The "/" namespace of `--app hub`: the connect middleware, each client event's
// handler and the recovery hooks, installed on the server by hub_app::install().
#include "apps/hub/hub_app.hpp"
#include "apps/hub/log_feed.hpp"

#include "apps/hub/inbox.hpp"
#include "storage/storage_actor.hpp"
#include "apps/hub/payloads.hpp"
#include "util/log.hpp"
#include "util/metrics.hpp"

#include <charconv>

namespace hub::app {
namespace {

// What the "/" namespace keeps per socket.
struct socket_state {
  std::optional<identity> who;  // nullopt: development-mode client that sent no auth yet
  bool online = false;          // counted by the user's mailbox (offline at disconnect)
};

socket_state& state_of(sio::socket& s) { return *std::any_cast<socket_state>(&s.state()); }

// The ack of a refused or failed request: {ok:false, error} and the `extra` fields
// (retryAfterMs, maxRooms). The one place a code becomes text on Socket.IO.
json failure_reply(error_code code, json extra = json::object()) {
  json reply = json{{"ok", false}, {"error", to_string(code)}};
  for (auto& [k, v] : extra.items()) reply[k] = std::move(v);
  return json::array({std::move(reply)});
}

// The ack of a request done: {ok:true} and then `fields`, in their order.
void answer_ok(const sio::ack_sender& ack, json fields = json::object()) {
  if (!ack) return;
  json reply = json{{"ok", true}};
  for (auto& [k, v] : fields.items()) reply[k] = std::move(v);
  ack(json::array({std::move(reply)}));
}

// Refuses a client request: an `error` event, and {ok:false, error} when it asked for an
// ack. From any thread (the emitter and the ack are thread-safe).
void refuse(const sio::direct_emitter& out, const sio::ack_sender& ack, error_code code, const std::string& message,
            json extra = json::object()) {
  out.emit("error", json::array({json{{"message", message}}}));
  if (ack) ack(failure_reply(code, std::move(extra)));
}

void refuse(sio::socket& s, sio::event& ev, error_code code, const std::string& message, json extra = json::object()) {
  refuse(s.emitter(), ev.ack, code, message, std::move(extra));
}

// The error handler of a request to a domain actor: {ok:false, error} to the client's
// ack, and no error event (the client did nothing wrong).
auto fail_with(const sio::ack_sender& ack, error_code code) {
  return [ack, code](caf::error&) {
    if (ack) ack(failure_reply(code));
  };
}

// The first argument of an event (its payload), or null. A reference, not a copy: the
// payload is client input and copying it costs as much as it is large.
const json& first_arg(sio::event& ev) {
  static const json null_value;
  const json& args = ev.args();
  return args.empty() ? null_value : args[0];
}

// The project a request names (`projectId`, or {projectId}) when the socket's user may
// use it; otherwise the request is refused and nullopt returned.
std::optional<std::string> member_project(sio::socket& s, sio::event& ev, const json& named) {
  auto& st = state_of(s);
  if (!st.who) {
    refuse(s, ev, error_code::unauthenticated, "Not authenticated");
    return std::nullopt;
  }
  auto project = id_from(named, "projectId");
  if (!project) {
    refuse(s, ev, error_code::invalid, "Invalid project id");
    return std::nullopt;
  }
  if (!st.who->may_access(*project)) {
    refuse(s, ev, error_code::forbidden, "Forbidden");
    return std::nullopt;
  }
  return project;
}

// Runs `act(socket, ack)` once the user's bucket for `kind` gives a token, or refuses
// with rate_limited and retryAfterMs. The event is checked before and `act` captures only
// the small values taken from it: the event itself is gone when the answer comes. The
// user's mailbox answers in order, so a socket's events keep their order.
template <class Act>
void limited(hub_app& app, sio::socket& s, sio::event& ev, limited_event kind, Act act) {
  auto mailbox = app.user(state_of(s).who->user_id);
  if (!mailbox) return refuse(s, ev, error_code::unavailable, "Shutting down");
  s.self()
    ->request(mailbox, request_timeout, event_rate_atom::value, static_cast<std::uint8_t>(kind))
    .then(
      [ref = s.ref(), out = s.emitter(), ack = ev.ack, act = std::move(act)](bool ok, std::int64_t retry_ms) mutable {
        if (!ok)
          return refuse(out, ack, error_code::rate_limited, "Rate limit exceeded", json{{"retryAfterMs", retry_ms}});
        if (auto* sock = ref.get()) act(*sock, ack);
      },
      fail_with(ev.ack, error_code::unavailable));
}

}  // namespace

struct hub_app::socket_handlers {
  static void on_send_message(hub_app& app, sio::socket& s, sio::event& ev) {
    auto& st = state_of(s);
    if (!st.who) return refuse(s, ev, error_code::unauthenticated, "Not authenticated");
    const json& args = ev.args();
    auto p = parse_send_message(args.empty() ? json() : args[0], app.cfg_.max_content);
    if (!p) return refuse(s, ev, error_code::invalid, "Invalid message");
    if (!st.who->may_access(p->project)) return refuse(s, ev, error_code::forbidden, "Forbidden");
    auto ack = ev.ack;
    auto out = s.emitter();
    app.post_message(
      s.self(), *st.who, p->project, std::move(p->content), std::move(p->reply_to), [ack, out](const post_outcome& o) {
        if (o.ok) {
          answer_ok(ack, json{{"message", o.message}});
          return;
        }
        switch (o.error) {
          case error_code::rate_limited:
            return refuse(out, ack, o.error, "Rate limit exceeded", json{{"retryAfterMs", o.retry_after_ms}});
          case error_code::invalid_reply_target:  // Socket.IO clients get the general code
            return refuse(out, ack, error_code::invalid, "Invalid reply target");
          default: return refuse(out, ack, o.error, "Failed to send message");
        }
      });
  }

  static void on_join_user_room(hub_app& app, sio::socket& s, sio::event& ev) {
    auto& st = state_of(s);
    const json& args = ev.args();
    auto user = args.empty() ? std::nullopt : id_from(args[0], "userId");
    if (!user) return refuse(s, ev, error_code::invalid, "Invalid user id");
    if (!st.who) {
      // Development mode, no auth sent: the seed's client names itself here.
      identity who;
      who.user_id = *user;
      who.name = *user;
      who.all_projects = true;
      st.who = who;
      s.join(user_room(*user));
      come_online(app, s);
    } else if (st.who->user_id != *user) {
      return refuse(s, ev, error_code::forbidden, "Forbidden");
    }
    if (!ev.wants_ack()) return;
    auto ack = ev.ack;
    s.self()
      ->request(app.user(st.who->user_id), request_timeout, inbox_unread_atom::value)
      .then(
        [ack](std::uint64_t unread) {
          answer_ok(ack, json{{"unread", unread}});
        },
        fail_with(ack, error_code::unavailable));
  }

  // The user's mailbox counts the connection, and hands over what was stored while the
  // user was away (nothing for a recovered connection: its replay carried it).
  static void come_online(hub_app& app, sio::socket& s) {
    auto& st = state_of(s);
    if (!st.who || st.online) return;
    st.online = true;
    auto out = s.emitter();
    s.self()
      ->request(app.user(st.who->user_id), request_timeout, online_atom::value, s.recovered())
      .then(
        [out](const json_ptr& push) {
          for (const auto& n : *push) out.emit("notification", json::array({n}));
        },
        [](caf::error&) {});
  }

  // mark-notifications-read {ids} | {all:true} -> {ok, unread}; the user's other
  // connections get notifications-read.
  static void on_mark_notifications_read(hub_app& app, sio::socket& s, sio::event& ev) {
    auto& st = state_of(s);
    if (!st.who) return refuse(s, ev, error_code::unauthenticated, "Not authenticated");
    auto request = parse_mark_notifications(first_arg(ev));
    if (!request) return refuse(s, ev, error_code::invalid, "Invalid notification ids");
    limited(app, s, ev, limited_event::mark_read,
            [&app, request = make_json(std::move(*request))](sio::socket& s, const sio::ack_sender& ack) {
              s.self()
                ->request(app.user(state_of(s).who->user_id), request_timeout, inbox_read_atom::value, request, s.id())
                .then(
                  [ack](std::uint64_t unread) {
                    answer_ok(ack, json{{"unread", unread}});
                  },
                  fail_with(ack, error_code::storage));
            });
  }

  // react {projectId, messageId, emoji}: toggles the user's reaction.
  static void on_react(hub_app& app, sio::socket& s, sio::event& ev) {
    const json& payload = first_arg(ev);
    auto project = member_project(s, ev, payload.is_object() ? payload : json());
    if (!project) return;
    auto seq = message_seq(*project, payload.value("messageId", json()));
    if (!seq) return refuse(s, ev, error_code::invalid, "Invalid message id");
    if (!valid_emoji(payload.value("emoji", json()))) return refuse(s, ev, error_code::invalid, "Invalid emoji");
    limited(app, s, ev, limited_event::reaction,
            [&app, project = *project, seq = *seq, emoji = payload["emoji"].get<std::string>()](
              sio::socket& s, const sio::ack_sender& ack) {
              s.self()
                ->request(app.room(project), request_timeout, react_atom::value, state_of(s).who->user_id, seq, emoji)
                .then(
                  [ack, out = s.emitter()](const react_result& r) {
                    if (r.ok) {
                      answer_ok(ack, json{{"action", r.added ? "added" : "removed"}});
                      return;
                    }
                    refuse(out, ack, r.error,
                           r.error == error_code::not_found            ? "Message not found"
                           : r.error == error_code::too_many_reactions ? "Too many different reactions on this message"
                                                                       : "Failed to react");
                  },
                  fail_with(ack, error_code::unavailable));
            });
  }

  // Rooms per socket are capped: each is kept in the session record, rewritten at every
  // join, and each costs a broadcast filter.
  static bool room_allowed(hub_app& app, sio::socket& s, const std::string& room, const sio::ack_sender& ack) {
    if (s.rooms().count(room) || s.rooms().size() < app.cfg_.max_rooms_per_socket) return true;
    metrics::refused(metrics::refusal::too_many_rooms);
    refuse(s.emitter(), ack, error_code::too_many_rooms, "Too many rooms",
           json{{"maxRooms", app.cfg_.max_rooms_per_socket}});
    return false;
  }

  static void on_join_chat_room(hub_app& app, sio::socket& s, sio::event& ev) {
    auto project = member_project(s, ev, first_arg(ev));
    if (!project) return;
    limited(app, s, ev, limited_event::rooms, [&app, project = *project](sio::socket& s, const sio::ack_sender& ack) {
      auto& st = state_of(s);
      if (!room_allowed(app, s, group_room(project), ack)) return;
      auto room = app.room(project);
      if (!s.rooms().count(group_room(project))) {
        s.join(group_room(project));
        s.self()->send(room, present_atom::value, st.who->user_id, st.who->name);
      }
      if (!ack) return;
      s.self()
        ->request(room, request_timeout, room_info_atom::value, st.who->user_id)
        .then(
          [ack](const room_info_ptr& info) {
            answer_ok(
              ack, json{{"lastSeq", info->last_seq}, {"online", info->online}, {"lastReadSeq", info->last_read_seq}});
          },
          fail_with(ack, error_code::unavailable));
    });
  }

  // sync {projectId, afterSeq?, limit?, thread?}: the room's log after afterSeq (for
  // gaps longer than the recovery window and for fresh page loads), or a thread's replies.
  static void on_sync(hub_app& app, sio::socket& s, sio::event& ev) {
    const json& payload = first_arg(ev);
    auto project = member_project(s, ev, payload.is_object() ? payload : json());
    if (!project) return;
    std::uint64_t after = 0;
    bool valid = true;
    if (payload.contains("afterSeq")) {
      valid = valid && payload["afterSeq"].is_number_unsigned();
      if (valid) after = payload["afterSeq"].get<std::uint64_t>();
    }
    auto asked = payload.find("limit");
    auto limit = page_limit(asked == payload.end() ? nullptr : &*asked);
    valid = valid && limit.has_value();
    std::uint64_t thread = 0;
    if (payload.contains("thread")) {
      auto root = message_seq(*project, payload["thread"]);
      valid = valid && root.has_value();
      if (root) thread = *root;
    }
    if (!valid) return refuse(s, ev, error_code::invalid, "Invalid sync request");
    if (!ev.wants_ack()) return;
    limited(app, s, ev, limited_event::sync,
            [&app, project = *project, after, limit = *limit, thread](sio::socket& s, const sio::ack_sender& ack) {
              s.self()
                ->request(app.room(project), request_timeout, history_atom::value, after, limit, thread)
                .then([ack](const json_ptr& reply) { ack(json::array({*reply})); },
                      fail_with(ack, error_code::storage));
            });
  }

  // get-presence {projectId} -> {ok, online:[{userId, userName}]}
  static void on_get_presence(hub_app& app, sio::socket& s, sio::event& ev) {
    auto project = member_project(s, ev, first_arg(ev));
    if (!project || !ev.wants_ack()) return;
    auto ack = ev.ack;
    s.self()
      ->request(app.room(*project), request_timeout, room_info_atom::value)
      .then(
        [ack](const room_info_ptr& info) {
          answer_ok(ack, json{{"online", info->online}});
        },
        fail_with(ack, error_code::unavailable));
  }

  // mark-read {projectId, seq}: the user's read marker in the room (never backwards).
  static void on_mark_read(hub_app& app, sio::socket& s, sio::event& ev) {
    const json& payload = first_arg(ev);
    auto project = member_project(s, ev, payload.is_object() ? payload : json());
    if (!project) return;
    if (!payload.contains("seq") || !payload["seq"].is_number_unsigned())
      return refuse(s, ev, error_code::invalid, "Invalid read marker");
    limited(app, s, ev, limited_event::mark_read,
            [&app, project = *project, seq = payload["seq"].get<std::uint64_t>()](sio::socket& s,
                                                                                  const sio::ack_sender& ack) {
              s.self()
                ->request(app.room(project), request_timeout, mark_read_atom::value, state_of(s).who->user_id, seq)
                .then(
                  [ack, out = s.emitter()](bool ok, std::uint64_t last_read) {
                    if (!ok) return refuse(out, ack, error_code::invalid, "Invalid read marker");
                    answer_ok(ack, json{{"lastReadSeq", last_read}});
                  },
                  fail_with(ack, error_code::storage));
            });
  }

  // join-task-room {projectId, taskId}: members of the project get the task's events in
  // that project (a task of another project is another room: nothing to check in storage).
  static void on_join_task_room(hub_app& app, sio::socket& s, sio::event& ev) {
    const json& payload = first_arg(ev);
    auto project = member_project(s, ev, payload.is_object() ? payload : json());
    if (!project) return;
    auto task = id_from(payload, "taskId");
    if (!task) return refuse(s, ev, error_code::invalid, "Invalid task room");
    limited(app, s, ev, limited_event::rooms,
            [&app, room = task_room(*project, *task)](sio::socket& s, const sio::ack_sender& ack) {
              if (!room_allowed(app, s, room, ack)) return;
              s.join(room);
              answer_ok(ack);
            });
  }

  // leave-task-room {taskId} | {projectId, taskId} | taskId: leaves the task's room (in
  // every project it was joined for, when no project is named).
  static void on_leave_task_room(hub_app& app, sio::socket& s, sio::event& ev) {
    auto& st = state_of(s);
    if (!st.who) return refuse(s, ev, error_code::unauthenticated, "Not authenticated");
    const json& payload = first_arg(ev);
    auto task = id_from(payload, "taskId");
    if (!task) return refuse(s, ev, error_code::invalid, "Invalid task room");
    auto project = payload.is_object() ? id_from(payload, "projectId") : std::nullopt;
    limited(app, s, ev, limited_event::rooms, [task = *task, project](sio::socket& s, const sio::ack_sender& ack) {
      std::vector<std::string> leaving;
      for (const auto& r : s.rooms())
        if (auto t = parse_task_room(r); t && t->task == task && (!project || t->project == *project))
          leaving.push_back(r);
      for (const auto& r : leaving) s.leave(r);
      answer_ok(ack);
    });
  }

  static void on_leave_chat_room(hub_app& app, sio::socket& s, sio::event& ev) {
    auto& st = state_of(s);
    const json& args = ev.args();
    auto project = args.empty() ? std::nullopt : id_from(args[0], "projectId");
    if (!project) return refuse(s, ev, error_code::invalid, "Invalid project id");
    if (!st.who || !s.rooms().count(group_room(*project))) {  // nothing to leave
      answer_ok(ev.ack);
      return;
    }
    limited(app, s, ev, limited_event::rooms, [&app, project = *project](sio::socket& s, const sio::ack_sender& ack) {
      if (s.rooms().count(group_room(project))) {
        s.leave(group_room(project));
        s.self()->send(app.room(project), absent_atom::value, state_of(s).who->user_id);
      }
      answer_ok(ack);
    });
  }

  // typing / stop-typing {projectId}: only in a room the socket joined (and so may access).
  static void on_typing(hub_app& app, sio::socket& s, sio::event& ev, bool typing) {
    auto& st = state_of(s);
    if (!st.who) return refuse(s, ev, error_code::unauthenticated, "Not authenticated");
    const json& args = ev.args();
    auto project = args.empty() ? std::nullopt : id_from(args[0], "projectId");
    if (!project) return refuse(s, ev, error_code::invalid, "Invalid project id");
    if (!s.rooms().count(group_room(*project))) return refuse(s, ev, error_code::forbidden, "Join the room first");
    limited(app, s, ev, limited_event::typing,
            [&app, project = *project, typing](sio::socket& s, const sio::ack_sender& ack) {
              auto& who = *state_of(s).who;
              if (typing)
                s.self()->send(app.room(project), typing_atom::value, who.user_id, who.name);
              else
                s.self()->send(app.room(project), stop_typing_atom::value, who.user_id);
              answer_ok(ack);
            });
  }

  static json save_identity(sio::socket& s) {
    auto& st = state_of(s);
    if (!st.who) return json();
    json projects = json::array();
    for (const auto& p : st.who->projects) projects.push_back(p);
    return json{{"userId", st.who->user_id},
                {"name", st.who->name},
                {"projects", std::move(projects)},
                {"allProjects", st.who->all_projects}};
  }

  // A recovered session keeps its user: the reconnecting client must authenticate as the
  // same user (its fresh token wins), or, in development mode without auth, takes the
  // saved identity. Then its presence in the restored chat rooms is counted again.
  static bool restore_identity(hub_app& app, sio::socket& s, const json& saved) {
    auto& st = state_of(s);
    if (!saved.is_object() || !saved.contains("userId")) return false;
    auto user = saved["userId"].get<std::string>();
    if (st.who) {
      if (st.who->user_id != user) return false;
    } else {
      identity who;
      who.user_id = user;
      who.name = saved.value("name", user);
      who.all_projects = saved.value("allProjects", false);
      for (const auto& p : saved.value("projects", json::array())) who.projects.insert(p.get<std::string>());
      st.who = std::move(who);
    }
    for (const auto& r : s.rooms()) {
      if (auto project = parse_group_room(r); project && !st.who->may_access(*project))
        return false;  // the token no longer grants that project
      if (is_task_room(r)) {
        auto t = parse_task_room(r);
        if (!t || !st.who->may_access(t->project)) return false;  // nor that project's tasks
      }
    }
    for (const auto& r : s.rooms())
      if (auto project = parse_group_room(r))
        s.self()->send(app.room(*project), present_atom::value, st.who->user_id, st.who->name);
    return true;
  }

  static void on_disconnect(hub_app& app, sio::socket& s) {
    auto& st = state_of(s);
    if (!st.who) return;
    if (st.online)
      if (auto mailbox = app.user(st.who->user_id)) s.self()->send(mailbox, offline_atom::value);
    for (const auto& r : s.rooms())
      if (auto project = parse_group_room(r)) s.self()->send(app.room(*project), absent_atom::value, st.who->user_id);
  }
};

void hub_app::install() {
  auto& nsp = srv_.of("/");
  if (!cfg_.shared_log_prefix.empty())
    srv_.add_feed(sio::cluster_feed{log_feed_prefix(cfg_.shared_log_prefix),
                                    [this](std::string_view log, std::string payload) {
                                      on_log_publication(log, std::move(payload));
                                    },
                                    [this](bool up) { on_feed_link(up); }});
  nsp.on_server_side([this](const std::string& event, const json& args, const sio::server_side_reply& reply) {
    on_cluster_event(event, args, reply);
    if (reply && event != "hub:who") reply(json(true));
  });
  // A user's mailbox is the user's room: one actor per online user, not two.
  srv_.serve_rooms("/", std::string(user_room_prefix), [this](const std::string& room) -> caf::actor {
    auto user = parse_user_room(room);
    return user ? caf::actor_cast<caf::actor>(users_.get(*user)) : caf::actor{};
  });
  nsp.use([this](sio::socket& s) -> std::optional<sio::connect_refusal> {
    const auto& address = s.handshake_info().remote_address;
    if (auto wait = auth_failures_.blocked_ms(address)) {
      metrics::refused(metrics::refusal::too_many_auth_failures);
      return sio::connect_refusal{"Too many failed authentications", json{{"retryAfterMs", wait}}};
    }
    auto result = auth_.authenticate(s.auth());
    if (auto* no = std::get_if<authenticator::refusal>(&result)) {
      if (no->guess) auth_failures_.failed(address);
      // The client's auth callback runs again at each reconnect: "Token expired" tells
      // it to fetch a fresh token first.
      return sio::connect_refusal{no->message, std::nullopt};
    }
    socket_state st;
    if (auto* who = std::get_if<identity>(&result)) {
      if (revoked_.revoked(*who)) {
        metrics::refused(metrics::refusal::token_revoked);
        return sio::connect_refusal{"Token revoked", std::nullopt};
      }
      st.who = std::move(*who);
    }
    s.state() = std::move(st);
    return std::nullopt;
  });
  nsp.on_connection([this](sio::socket& s) {
    auto& st = state_of(s);
    if (!st.who) return;
    s.join(user_room(st.who->user_id));  // a recovered socket is in it already: no-op
    // The session lasts as long as its token: then the transport is closed with a
    // recoverable reason, the client reconnects with a fresh token from its auth
    // callback and recovers what it missed meanwhile.
    if (auto end = auth_.session_end(*st.who)) s.close_at(*end, "token expired");
    socket_handlers::come_online(*this, s);
  });
  nsp.on("mark-notifications-read",
         [this](sio::socket& s, sio::event& ev) { socket_handlers::on_mark_notifications_read(*this, s, ev); });
  nsp.on("react", [this](sio::socket& s, sio::event& ev) { socket_handlers::on_react(*this, s, ev); });
  nsp.on("join-user-room",
         [this](sio::socket& s, sio::event& ev) { socket_handlers::on_join_user_room(*this, s, ev); });
  nsp.on("join-chat-room",
         [this](sio::socket& s, sio::event& ev) { socket_handlers::on_join_chat_room(*this, s, ev); });
  nsp.on("leave-chat-room",
         [this](sio::socket& s, sio::event& ev) { socket_handlers::on_leave_chat_room(*this, s, ev); });
  nsp.on("send-message", [this](sio::socket& s, sio::event& ev) { socket_handlers::on_send_message(*this, s, ev); });
  nsp.on("get-presence", [this](sio::socket& s, sio::event& ev) { socket_handlers::on_get_presence(*this, s, ev); });
  nsp.on("mark-read", [this](sio::socket& s, sio::event& ev) { socket_handlers::on_mark_read(*this, s, ev); });
  nsp.on("join-task-room",
         [this](sio::socket& s, sio::event& ev) { socket_handlers::on_join_task_room(*this, s, ev); });
  nsp.on("leave-task-room",
         [this](sio::socket& s, sio::event& ev) { socket_handlers::on_leave_task_room(*this, s, ev); });
  nsp.on("sync", [this](sio::socket& s, sio::event& ev) { socket_handlers::on_sync(*this, s, ev); });
  nsp.on("typing", [this](sio::socket& s, sio::event& ev) { socket_handlers::on_typing(*this, s, ev, true); });
  nsp.on("stop-typing", [this](sio::socket& s, sio::event& ev) { socket_handlers::on_typing(*this, s, ev, false); });
  nsp.on_disconnect([this](sio::socket& s, sio::disconnect_reason) { socket_handlers::on_disconnect(*this, s); });
  nsp.recovery(
    // group:<project> rooms receive the project's chat log; user:<id> rooms the user's
    // notification inbox.
    [](const std::string& room) -> std::optional<std::string> {
      if (auto project = parse_group_room(room)) return keys::room_log(*project);
      if (auto user = parse_user_room(room)) return keys::inbox_log(*user);
      return std::nullopt;
    },
    [](const std::string& stream, std::uint64_t seq,
       const std::string& value) -> std::optional<std::pair<std::string, json>> {
      if (keys::parse_room_log(stream))
        return std::make_pair(std::string("new-message"), json::array({message_from_log(seq, value)}));
      if (keys::parse_inbox_log(stream)) {
        auto ev = inbox::replay_event(json::parse(value, nullptr, false));
        if (!ev) return std::nullopt;
        return std::make_pair(std::move(ev->first), json::array({std::move(ev->second)}));
      }
      return std::nullopt;
    },
    [](sio::socket& s) { return socket_handlers::save_identity(s); },
    [this](sio::socket& s, const json& saved) { return socket_handlers::restore_identity(*this, s, saved); });
}

}  // namespace hub::app
