#include "apps/hub/hub_app.hpp"

#include "actors/storage_actor.hpp"
#include "apps/hub/payloads.hpp"
#include "util/log.hpp"

#include <charconv>

namespace hub::app {
namespace {

// Bounds for requests from a connection or HTTP actor to the domain actors.
constexpr std::chrono::seconds request_timeout{10};

// What the "/" namespace keeps per socket.
struct socket_state {
  std::optional<identity> who;  // nullopt: development-mode client that sent no auth yet
};

socket_state& state_of(sio::socket& s) { return *std::any_cast<socket_state>(&s.state()); }

// Refuses a client request: an `error` event, and {ok:false, error} when it asked for an ack.
void refuse(sio::socket& s, sio::event& ev, const std::string& code, const std::string& message,
            json extra = json::object()) {
  s.emit("error", json::array({json{{"message", message}}}));
  if (ev.wants_ack()) {
    json reply = json{{"ok", false}, {"error", code}};
    for (auto& [k, v] : extra.items()) reply[k] = v;
    ev.ack(json::array({std::move(reply)}));
  }
}

// The first argument of an event (its payload), or null.
json first_arg(sio::event& ev) {
  const json& args = ev.args();
  return args.empty() ? json() : args[0];
}

// The project a request names (`projectId`, or {projectId}) when the socket's user may
// use it; otherwise the request is refused and nullopt returned.
std::optional<std::string> member_project(sio::socket& s, sio::event& ev, const json& named) {
  auto& st = state_of(s);
  if (!st.who) {
    refuse(s, ev, "unauthenticated", "Not authenticated");
    return std::nullopt;
  }
  auto project = id_from(named, "projectId");
  if (!project) {
    refuse(s, ev, "invalid", "Invalid project id");
    return std::nullopt;
  }
  if (!st.who->may_access(*project)) {
    refuse(s, ev, "forbidden", "Forbidden");
    return std::nullopt;
  }
  return project;
}

}  // namespace

struct hub_app::impl {
  static void on_send_message(hub_app& app, sio::socket& s, sio::event& ev) {
    auto& st = state_of(s);
    if (!st.who) return refuse(s, ev, "unauthenticated", "Not authenticated");
    const json& args = ev.args();
    auto p = parse_send_message(args.empty() ? json() : args[0], app.cfg_.max_content);
    if (!p) return refuse(s, ev, "invalid", "Invalid message");
    if (!st.who->may_access(p->project)) return refuse(s, ev, "forbidden", "Forbidden");
    auto ack = ev.ack;
    auto out = s.emitter();
    app.post_message(s.self(), *st.who, p->project, std::move(p->content), std::move(p->reply_to),
                 [ack, out](const post_outcome& o) {
                   if (o.ok) {
                     ack(json::array({json{{"ok", true}, {"message", o.message}}}));
                     return;
                   }
                   json reply = json{{"ok", false}, {"error", o.error}};
                   if (o.error == "rate_limited") {
                     reply["retryAfterMs"] = o.retry_after_ms;
                     out.emit("error", json::array({json{{"message", "Rate limit exceeded"}}}));
                   } else {
                     out.emit("error", json::array({json{{"message", "Failed to send message"}}}));
                   }
                   ack(json::array({std::move(reply)}));
                 });
  }

  static void on_join_user_room(hub_app& app, sio::socket& s, sio::event& ev) {
    auto& st = state_of(s);
    const json& args = ev.args();
    auto user = args.empty() ? std::nullopt : id_from(args[0], "userId");
    if (!user) return refuse(s, ev, "invalid", "Invalid user id");
    if (!st.who) {
      // Development mode, no auth sent: the seed's client names itself here.
      identity who;
      who.user_id = *user;
      who.name = *user;
      who.all_projects = true;
      st.who = who;
      s.join(user_room(*user));
    } else if (st.who->user_id != *user) {
      return refuse(s, ev, "forbidden", "Forbidden");
    }
    (void)app;
    if (ev.wants_ack()) ev.ack(json::array({json{{"ok", true}, {"unread", 0}}}));
  }

  static void on_join_chat_room(hub_app& app, sio::socket& s, sio::event& ev) {
    auto project = member_project(s, ev, first_arg(ev));
    if (!project) return;
    auto& st = state_of(s);
    auto room = app.room(*project);
    if (!s.rooms().count(group_room(*project))) {
      s.join(group_room(*project));
      s.self()->send(room, present_atom::value, st.who->user_id, st.who->name);
    }
    if (!ev.wants_ack()) return;
    auto ack = ev.ack;
    s.self()->request(room, request_timeout, room_info_atom::value, st.who->user_id)
      .then([ack](const room_info_ptr& info) {
              ack(json::array({json{{"ok", true}, {"lastSeq", info->last_seq}, {"online", info->online},
                                    {"lastReadSeq", info->last_read_seq}}}));
            },
            [ack](caf::error&) { ack(json::array({json{{"ok", false}, {"error", "unavailable"}}})); });
  }

  // sync {projectId, afterSeq, limit?}: the room's log after afterSeq, for gaps longer
  // than the recovery window and for fresh page loads.
  static void on_sync(hub_app& app, sio::socket& s, sio::event& ev) {
    const json payload = first_arg(ev);
    auto project = member_project(s, ev, payload.is_object() ? payload : json());
    if (!project) return;
    std::uint64_t after = 0, limit = default_page;
    bool valid = true;
    if (payload.contains("afterSeq")) {
      valid = valid && payload["afterSeq"].is_number_unsigned();
      if (valid) after = payload["afterSeq"].get<std::uint64_t>();
    }
    if (payload.contains("limit")) {
      valid = valid && payload["limit"].is_number_unsigned();
      if (valid) limit = payload["limit"].get<std::uint64_t>();
    }
    if (!valid || limit == 0 || limit > max_page) return refuse(s, ev, "invalid", "Invalid sync request");
    if (!ev.wants_ack()) return;
    auto ack = ev.ack;
    s.self()->request(app.storage_, request_timeout, storage::read_atom::value, room_log(*project), after, limit)
      .then([ack, after](const storage::read_result_ptr& r) { ack(json::array({read_reply(*r, after)})); },
            [ack](caf::error&) { ack(json::array({json{{"ok", false}, {"error", "storage"}}})); });
  }

  // get-presence {projectId} -> {ok, online:[{userId, userName}]}
  static void on_get_presence(hub_app& app, sio::socket& s, sio::event& ev) {
    auto project = member_project(s, ev, first_arg(ev));
    if (!project || !ev.wants_ack()) return;
    auto ack = ev.ack;
    s.self()->request(app.room(*project), request_timeout, room_info_atom::value)
      .then([ack](const room_info_ptr& info) { ack(json::array({json{{"ok", true}, {"online", info->online}}})); },
            [ack](caf::error&) { ack(json::array({json{{"ok", false}, {"error", "unavailable"}}})); });
  }

  // mark-read {projectId, seq}: the user's read marker in the room (never backwards).
  static void on_mark_read(hub_app& app, sio::socket& s, sio::event& ev) {
    const json payload = first_arg(ev);
    auto project = member_project(s, ev, payload.is_object() ? payload : json());
    if (!project) return;
    if (!payload.contains("seq") || !payload["seq"].is_number_unsigned())
      return refuse(s, ev, "invalid", "Invalid read marker");
    auto& st = state_of(s);
    auto seq = payload["seq"].get<std::uint64_t>();
    auto ack = ev.ack;
    auto out = s.emitter();
    s.self()->request(app.room(*project), request_timeout, mark_read_atom::value, st.who->user_id, seq)
      .then(
        [ack, out](bool ok, std::uint64_t last_read) {
          if (!ok) {
            out.emit("error", json::array({json{{"message", "Invalid read marker"}}}));
            return ack(json::array({json{{"ok", false}, {"error", "invalid"}}}));
          }
          ack(json::array({json{{"ok", true}, {"lastReadSeq", last_read}}}));
        },
        [ack](caf::error&) { ack(json::array({json{{"ok", false}, {"error", "storage"}}})); });
  }

  // join-task-room {projectId, taskId}: members of the project; a task already seen with
  // another project cannot be claimed for this one.
  static void on_join_task_room(hub_app& app, sio::socket& s, sio::event& ev) {
    const json payload = first_arg(ev);
    auto project = member_project(s, ev, payload.is_object() ? payload : json());
    if (!project) return;
    auto task = id_from(payload, "taskId");
    if (!task || !payload.is_object()) return refuse(s, ev, "invalid", "Invalid task room");
    auto ack = ev.ack;
    auto out = s.emitter();
    s.self()->request(app.storage_, request_timeout, storage::kv_get_atom::value, task_project_key(*task))
      .then(
        [ref = s.ref(), ack, out, project = *project, task = *task](bool found, const std::string& owner) {
          if (found && owner != project) {
            out.emit("error", json::array({json{{"message", "Forbidden"}}}));
            return ack(json::array({json{{"ok", false}, {"error", "forbidden"}}}));
          }
          if (auto* sock = ref.get()) sock->join(task_room(task));
          ack(json::array({json{{"ok", true}}}));
        },
        [ack](caf::error&) { ack(json::array({json{{"ok", false}, {"error", "storage"}}})); });
  }

  static void on_leave_task_room(hub_app&, sio::socket& s, sio::event& ev) {
    const json& args = ev.args();
    auto task = args.empty() ? std::nullopt : id_from(args[0], "taskId");
    if (!task) return refuse(s, ev, "invalid", "Invalid task room");
    s.leave(task_room(*task));
    if (ev.wants_ack()) ev.ack(json::array({json{{"ok", true}}}));
  }

  static void on_leave_chat_room(hub_app& app, sio::socket& s, sio::event& ev) {
    auto& st = state_of(s);
    const json& args = ev.args();
    auto project = args.empty() ? std::nullopt : id_from(args[0], "projectId");
    if (!project) return refuse(s, ev, "invalid", "Invalid project id");
    if (st.who && s.rooms().count(group_room(*project))) {
      s.leave(group_room(*project));
      s.self()->send(app.room(*project), absent_atom::value, st.who->user_id);
    }
    if (ev.wants_ack()) ev.ack(json::array({json{{"ok", true}}}));
  }

  static void on_typing(hub_app& app, sio::socket& s, sio::event& ev, bool typing) {
    auto& st = state_of(s);
    if (!st.who) return refuse(s, ev, "unauthenticated", "Not authenticated");
    const json& args = ev.args();
    auto project = args.empty() ? std::nullopt : id_from(args[0], "projectId");
    if (!project) return refuse(s, ev, "invalid", "Invalid project id");
    // Typing only counts in a room the socket joined (and so may access).
    if (!s.rooms().count(group_room(*project))) return refuse(s, ev, "forbidden", "Join the room first");
    if (typing) s.self()->send(app.room(*project), typing_atom::value, st.who->user_id, st.who->name);
    else s.self()->send(app.room(*project), stop_typing_atom::value, st.who->user_id);
    if (ev.wants_ack()) ev.ack(json::array({json{{"ok", true}}}));
  }

  static json save_identity(sio::socket& s) {
    auto& st = state_of(s);
    if (!st.who) return json();
    json projects = json::array();
    for (const auto& p : st.who->projects) projects.push_back(p);
    return json{{"userId", st.who->user_id}, {"name", st.who->name}, {"projects", std::move(projects)},
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
    static const std::string prefix = "group:";
    for (const auto& r : s.rooms())
      if (r.rfind(prefix, 0) == 0 && !st.who->may_access(r.substr(prefix.size())))
        return false;  // the token no longer grants that project
    for (const auto& r : s.rooms())
      if (r.rfind(prefix, 0) == 0)
        s.self()->send(app.room(r.substr(prefix.size())), present_atom::value, st.who->user_id, st.who->name);
    return true;
  }

  static void on_disconnect(hub_app& app, sio::socket& s) {
    auto& st = state_of(s);
    if (!st.who) return;
    static const std::string prefix = "group:";
    for (const auto& r : s.rooms())
      if (r.rfind(prefix, 0) == 0)
        s.self()->send(app.room(r.substr(prefix.size())), absent_atom::value, st.who->user_id);
  }
};

json read_reply(const storage::read_result& r, std::uint64_t after) {
  if (auto oldest = pruned_gap(after, r.first_seq, r.last_seq))
    return json{{"ok", false}, {"error", "gap"}, {"oldestSeq", *oldest}};
  json messages = json::array();
  for (const auto& e : r.entries) messages.push_back(message_from_log(e.seq, e.value));
  return json{{"ok", true}, {"messages", std::move(messages)}, {"hasMore", r.has_more}};
}

void hub_app::post_message(caf::event_based_actor* self, const identity& who, const std::string& project,
                           std::string content, json reply_to,
                           std::function<void(const post_outcome&)> done) {
  auto room = rooms_.get(project);
  auto post = std::make_shared<chat_post>();
  post->user_id = who.user_id;
  post->user_name = who.name;
  post->content = std::move(content);
  post->reply_to = std::move(reply_to);
  post->done = [done](const post_result& r) {
    done(post_outcome{r.ok, r.ok ? std::string{} : r.error, r.message, 0});
  };
  self->request(users_.get(who.user_id), request_timeout, rate_take_atom::value)
    .then(
      [self, room, post = chat_post_ptr(std::move(post)), done](bool ok, std::int64_t retry_ms) {
        if (!ok) {
          done(post_outcome{false, "rate_limited", json(), retry_ms});
          return;
        }
        self->send(room, post_atom::value, post);
      },
      [done](caf::error&) { done(post_outcome{false, "storage", json(), 0}); });
}

hub_app::hub_app(sio::server& srv, hub_config cfg, caf::actor storage)
  : srv_(srv), cfg_(std::move(cfg)), storage_(std::move(storage)),
    auth_(cfg_.jwt_secret, cfg_.dev_auth),
    rooms_([this](const std::string& project) {
      return spawn_chat_room(srv_.system(), project, storage_, srv_.in("/"),
                             chat_room_config{cfg_.typing_timeout, cfg_.presence_grace, cfg_.retention_count, cfg_.retention_age});
    }),
    users_([this](const std::string& user) {
      return spawn_user_actor(srv_.system(), user, cfg_.rate);
    }) {}

hub_app::~hub_app() { shutdown(); }

void hub_app::shutdown() {
  rooms_.clear();
  users_.clear();
  storage_ = nullptr;
}

void hub_app::install() {
  auto& nsp = srv_.of("/");
  nsp.use([this](sio::socket& s) -> std::optional<sio::connect_refusal> {
    auto result = auth_.authenticate(s.auth());
    if (!result) return sio::connect_refusal{"Authentication failed", std::nullopt};
    socket_state st;
    if (auto* who = std::get_if<identity>(&*result)) st.who = *who;
    s.state() = std::move(st);
    return std::nullopt;
  });
  nsp.on_connection([](sio::socket& s) {
    auto& st = state_of(s);
    if (st.who) s.join(user_room(st.who->user_id));
  });
  nsp.on("join-user-room", [this](sio::socket& s, sio::event& ev) { impl::on_join_user_room(*this, s, ev); });
  nsp.on("join-chat-room", [this](sio::socket& s, sio::event& ev) { impl::on_join_chat_room(*this, s, ev); });
  nsp.on("leave-chat-room", [this](sio::socket& s, sio::event& ev) { impl::on_leave_chat_room(*this, s, ev); });
  nsp.on("send-message", [this](sio::socket& s, sio::event& ev) { impl::on_send_message(*this, s, ev); });
  nsp.on("get-presence", [this](sio::socket& s, sio::event& ev) { impl::on_get_presence(*this, s, ev); });
  nsp.on("mark-read", [this](sio::socket& s, sio::event& ev) { impl::on_mark_read(*this, s, ev); });
  nsp.on("join-task-room", [this](sio::socket& s, sio::event& ev) { impl::on_join_task_room(*this, s, ev); });
  nsp.on("leave-task-room", [this](sio::socket& s, sio::event& ev) { impl::on_leave_task_room(*this, s, ev); });
  nsp.on("sync", [this](sio::socket& s, sio::event& ev) { impl::on_sync(*this, s, ev); });
  nsp.on("typing", [this](sio::socket& s, sio::event& ev) { impl::on_typing(*this, s, ev, true); });
  nsp.on("stop-typing", [this](sio::socket& s, sio::event& ev) { impl::on_typing(*this, s, ev, false); });
  nsp.on_disconnect([this](sio::socket& s, std::string_view) { impl::on_disconnect(*this, s); });
  nsp.recovery(
    // group:<project> rooms receive the project's chat log.
    [](const std::string& room) -> std::optional<std::string> {
      static const std::string prefix = "group:";
      if (room.rfind(prefix, 0) != 0) return std::nullopt;
      return room_log(room.substr(prefix.size()));
    },
    [](const std::string& stream, std::uint64_t seq, const std::string& value)
      -> std::optional<std::pair<std::string, json>> {
      if (stream.rfind("room/", 0) != 0) return std::nullopt;
      return std::make_pair(std::string("new-message"), json::array({message_from_log(seq, value)}));
    },
    [](sio::socket& s) { return impl::save_identity(s); },
    [this](sio::socket& s, const json& saved) { return impl::restore_identity(*this, s, saved); });
}

}  // namespace hub::app
