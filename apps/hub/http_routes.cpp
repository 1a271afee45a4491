// Project Hub's HTTP API on the same listener:
//   POST /api/chat                              {projectId, content, replyTo?} -> 201 message
//   GET  /api/chat/:projectId/messages?after=&limit=&thread=   -> {messages, hasMore[, root]}
//   GET  /api/notifications?unread=1&limit=                    -> {notifications, unread}
// These take "Authorization: Bearer <JWT>" (401 without, 403 for another project).
//   POST /api/notifications {userId, title, message, type, data?} -> 201 notification
//   POST /api/tasks/:taskId/events {projectId, task}               -> 200 task-updated event
//   POST /api/users/:userId/revoke                                 -> 200 {userId, revokedBefore}
// These take "Authorization: Bearer <HUB_API_KEY>" (server to server).
#include "storage/storage_actor.hpp"
#include "apps/hub/hub_app.hpp"
#include "apps/hub/payloads.hpp"
#include "protocol/json_limits.hpp"
#include "protocol/ws_frame.hpp"
#include "util/log.hpp"
#include "util/metrics.hpp"
#include "util/sources.hpp"
#include "util/url.hpp"

#include <openssl/crypto.h>

#include <charconv>

namespace hub::app {
namespace {

constexpr std::chrono::seconds http_request_timeout{10};

http::http_reply json_reply(int status, const json& body) {
  // Replace, never throw: every text in a reply was validated, but a dump() that throws
  // on a stray byte would turn a bad request into a dead one.
  return http::http_reply{status, "application/json", body.dump(-1, ' ', false, json::error_handler_t::replace),
                         {}, false};
}

// Request bodies are client input: bounded like every Socket.IO payload before a tree is
// built (json_bounds). Anything else (too deep, not JSON) is the discarded value.
json parse_body(const std::string& body) {
  auto value = json_bounds::parse(body, json_limits{});
  return value ? std::move(*value) : json(json::value_t::discarded);
}

// An id taken from the URL path: percent-decoding can yield any bytes, and an id goes
// into JSON text and storage keys, so it must be UTF-8 and short.
bool valid_path_id(const std::string& id) {
  return !id.empty() && id.size() <= max_id_length && ws::valid_utf8(id);
}

http::http_reply error_reply(int status, const std::string& error) {
  return json_reply(status, json{{"error", error}});
}

std::optional<std::uint64_t> parse_u64(const std::string& text) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string path_of(const std::string& target) { return target.substr(0, target.find('?')); }

// The decoded id in "<id><suffix>" (e.g. "t1/events"), or nullopt when the path does
// not end in the suffix.
std::optional<std::string> id_before(std::string_view rest, std::string_view suffix) {
  if (rest.size() <= suffix.size() || rest.substr(rest.size() - suffix.size()) != suffix) return std::nullopt;
  return url_decode(rest.substr(0, rest.size() - suffix.size()), false);
}

// The checks every server-to-server POST starts with; true when `r` was answered.
bool refuse_backend_call(const http::request_info& req, bool key_ok, const http::responder_ptr& r) {
  if (req.method != "POST") return r->reply(error_reply(405, "method not allowed")), true;
  if (!key_ok) return r->reply(error_reply(401, "unauthorized")), true;
  return false;
}

}  // namespace

// POST /api/tasks/:taskId/events {projectId, task} with the server-to-server API key
// -> task-updated {taskId, projectId, task, updatedAt} to the task's room in that project and
// group:<projectId>.
void hub_app::handle_task_event(const http::request_info& req, std::string_view rest,
                                const http::responder_ptr& r) {
  auto task_id = id_before(rest, "/events");
  if (!task_id) return r->reply(error_reply(404, "not found"));
  const std::string& task = *task_id;
  if (refuse_backend_call(req, req.method == "POST" && api_key_ok(req), r)) return;
  json body = parse_body(req.body);
  auto project = body.is_object() ? id_from(body, "projectId") : std::nullopt;
  if (!project || !valid_path_id(task) || !body.contains("task") || !body["task"].is_object())
    return r->reply(error_reply(400, "invalid"));
  // The backend is authoritative for the task's project: the event goes to that
  // project's task room, so members of another project never get it (task_room()).
  json event = json::object();
  event["taskId"] = task;
  event["projectId"] = *project;
  event["task"] = body["task"];
  event["updatedAt"] = iso8601(wall_now());
  srv_.in("/").to(task_room(*project, task)).to(group_room(*project)).emit("task-updated", json::array({event}));
  r->reply(json_reply(200, event));
}

bool hub_app::api_key_ok(const http::request_info& req) {
  auto auth = req.headers.find("authorization");
  std::string expected = "Bearer " + cfg_.api_key;
  // Constant time: the key is a secret.
  bool ok = !cfg_.api_key.empty() && auth != req.headers.end() && auth->second.size() == expected.size() &&
            CRYPTO_memcmp(auth->second.data(), expected.data(), expected.size()) == 0;
  if (!ok && auth != req.headers.end()) auth_failures_.failed(req.remote_address);
  return ok;
}

std::optional<identity> hub_app::bearer_identity(const http::request_info& req) {
  auto auth = req.headers.find("authorization");
  if (auth == req.headers.end()) return std::nullopt;
  auto who = auth_.from_bearer(auth->second);
  if (!who) auth_failures_.failed(req.remote_address);
  if (who && revoked_.revoked(*who)) {
    metrics::refused(metrics::refusal::token_revoked);
    return std::nullopt;
  }
  return who;
}

// POST /api/users/:userId/revoke with the server-to-server API key -> 200 {userId,
// revokedBefore} once the revocation is durable. Its sessions get a DISCONNECT ("io
// server disconnect": the client does not reconnect by itself), and tokens issued at or
// before that second are refused from then on, here and on restart.
void hub_app::handle_user_revoke(const http::request_info& req, std::string_view rest,
                                 const http::responder_ptr& r) {
  auto user_id = id_before(rest, "/revoke");
  if (!user_id) return r->reply(error_reply(404, "not found"));
  const std::string& user = *user_id;
  if (refuse_backend_call(req, req.method == "POST" && api_key_ok(req), r)) return;
  if (!valid_path_id(user) || user.find('/') != std::string::npos) return r->reply(error_reply(400, "invalid"));
  const auto before = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count();
  // In force at once (a reconnect racing the write is refused too), durable before the reply.
  revoked_.revoke(user, before);
  srv_.in("/").to(user_room(user)).disconnect_sockets();
  if (!storage_) return r->reply(error_reply(503, "shutting down"));
  srv_.system().spawn([r, storage = storage_, user, before](caf::event_based_actor* self) {
    self->request(storage, http_request_timeout, storage::kv_put_atom::value, keys::revoked(user),
                  std::to_string(before))
      .then([r, user, before](bool) { r->reply(json_reply(200, json{{"userId", user}, {"revokedBefore", before}})); },
            [r](caf::error&) { r->reply(error_reply(500, "storage")); });
  });
}

bool hub_app::refuse_blocked_address(const http::request_info& req, const http::responder_ptr& r) {
  auto wait = auth_failures_.blocked_ms(req.remote_address);
  if (wait == 0) return false;
  metrics::refused(metrics::refusal::too_many_auth_failures);
  auto reply = json_reply(429, json{{"error", "too_many_auth_failures"}, {"retryAfterMs", wait}});
  reply.headers.emplace_back("Retry-After", std::to_string((wait + 999) / 1000));
  r->reply(std::move(reply));
  return true;
}

// POST (API key): store and deliver a notification. GET (the user's JWT): list the inbox.
void hub_app::handle_notifications(const http::request_info& req, const http::responder_ptr& r) {
  if (req.method == "POST") {
    if (!api_key_ok(req)) return r->reply(error_reply(401, "unauthorized"));
    json body = parse_body(req.body);
    auto p = body.is_discarded() ? std::nullopt : parse_notification(body);
    if (!p) return r->reply(error_reply(400, "invalid"));
    auto mailbox = user(p->user);
    if (!mailbox) return r->reply(error_reply(503, "shutting down"));
    srv_.system().spawn([r, mailbox, input = make_json(std::move(p->input))](caf::event_based_actor* self) {
      self->request(mailbox, http_request_timeout, notify_atom::value, input)
        .then([r](const json_ptr& n) { r->reply(json_reply(201, *n)); },
              [r](caf::error&) { r->reply(error_reply(500, "storage")); });
    });
    return;
  }
  if (req.method != "GET") return r->reply(error_reply(405, "method not allowed"));
  auto who = bearer_identity(req);
  if (!who) return r->reply(error_reply(401, "unauthorized"));
  bool unread_only = false;
  if (auto it = req.query.find("unread"); it != req.query.end()) {
    if (it->second != "0" && it->second != "1" && it->second != "true" && it->second != "false")
      return r->reply(error_reply(400, "invalid unread"));
    unread_only = it->second == "1" || it->second == "true";
  }
  std::uint64_t limit = default_page;
  if (auto it = req.query.find("limit"); it != req.query.end()) {
    auto v = parse_u64(it->second);
    if (!v || *v == 0 || *v > max_page) return r->reply(error_reply(400, "invalid limit"));
    limit = *v;
  }
  auto mailbox = user(who->user_id);
  if (!mailbox) return r->reply(error_reply(503, "shutting down"));
  srv_.system().spawn([r, mailbox, unread_only, limit](caf::event_based_actor* self) {
    self->request(mailbox, http_request_timeout, inbox_list_atom::value, unread_only, limit)
      .then([r](const json_ptr& list) { r->reply(json_reply(200, *list)); },
            [r](caf::error&) { r->reply(error_reply(500, "unavailable")); });
  });
}

bool hub_app::handle_http(const http::request_info& req, const http::responder_ptr& r) {
  static const std::string chat = "/api/chat";
  static const std::string tasks = "/api/tasks/";
  static const std::string users = "/api/users/";
  std::string path = path_of(req.target);
  if ((path.rfind(tasks, 0) == 0 || path.rfind(users, 0) == 0 || path == "/api/notifications") &&
      refuse_blocked_address(req, r))
    return true;
  if (path.rfind(users, 0) == 0) {
    handle_user_revoke(req, std::string_view(path).substr(users.size()), r);
    return true;
  }
  if (path.rfind(tasks, 0) == 0) {
    handle_task_event(req, std::string_view(path).substr(tasks.size()), r);
    return true;
  }
  if (path == "/api/notifications") {
    handle_notifications(req, r);
    return true;
  }
  if (path.rfind(chat, 0) != 0) return false;
  std::string rest = path.substr(chat.size());

  if (refuse_blocked_address(req, r)) return true;
  auto who = bearer_identity(req);

  if (rest.empty() || rest == "/") {
    if (req.method != "POST") {
      r->reply(error_reply(405, "method not allowed"));
      return true;
    }
    if (!who) {
      r->reply(error_reply(401, "unauthorized"));
      return true;
    }
    json body = parse_body(req.body);
    auto p = body.is_discarded() ? std::nullopt : parse_send_message(body, cfg_.max_content);
    if (!p) {
      r->reply(error_reply(400, "invalid"));
      return true;
    }
    if (!who->may_access(p->project)) {
      r->reply(error_reply(403, "forbidden"));
      return true;
    }
    // A short-lived actor carries the request through the rate limiter and the room.
    srv_.system().spawn([this, r, who = *who, p = std::move(*p)](caf::event_based_actor* self) mutable {
      post_message(self, who, p.project, std::move(p.content), std::move(p.reply_to),
                   [r](const post_outcome& o) {
                     if (o.ok) return r->reply(json_reply(201, o.message));
                     if (o.error == "rate_limited") {
                       auto reply = json_reply(429, json{{"error", "rate_limited"}, {"retryAfterMs", o.retry_after_ms}});
                       reply.headers.emplace_back("Retry-After", std::to_string((o.retry_after_ms + 999) / 1000));
                       return r->reply(std::move(reply));
                     }
                     if (o.error == "invalid") return r->reply(error_reply(400, "invalid reply target"));
                     r->reply(error_reply(o.error == "unavailable" ? 503 : 500, o.error));
                   });
    });
    return true;
  }

  // /api/chat/:projectId/messages
  static const std::string suffix = "/messages";
  if (rest.size() > suffix.size() + 1 && rest.compare(rest.size() - suffix.size(), suffix.size(), suffix) == 0) {
    std::string project = url_decode(rest.substr(1, rest.size() - suffix.size() - 1), false);
    if (req.method != "GET") {
      r->reply(error_reply(405, "method not allowed"));
      return true;
    }
    if (!who) {
      r->reply(error_reply(401, "unauthorized"));
      return true;
    }
    if (!valid_path_id(project) || project.find('/') != std::string::npos) {
      r->reply(error_reply(400, "invalid"));
      return true;
    }
    if (!who->may_access(project)) {
      r->reply(error_reply(403, "forbidden"));
      return true;
    }
    std::uint64_t after = 0;
    std::size_t limit = default_page;
    if (auto it = req.query.find("after"); it != req.query.end()) {
      auto v = parse_u64(it->second);
      if (!v) return r->reply(error_reply(400, "invalid after")), true;
      after = *v;
    }
    if (auto it = req.query.find("limit"); it != req.query.end()) {
      auto v = parse_u64(it->second);
      if (!v || *v == 0 || *v > max_page) return r->reply(error_reply(400, "invalid limit")), true;
      limit = static_cast<std::size_t>(*v);
    }
    std::uint64_t thread = 0;
    if (auto it = req.query.find("thread"); it != req.query.end()) {
      auto root = message_seq(project, json(it->second));
      if (!root) return r->reply(error_reply(400, "invalid thread")), true;
      thread = *root;
    }
    auto room = this->room(project);
    if (!room) return r->reply(error_reply(503, "shutting down")), true;
    srv_.system().spawn([room, r, after, limit, thread](caf::event_based_actor* self) {
      self->request(room, http_request_timeout, history_atom::value, after, static_cast<std::uint64_t>(limit), thread)
        .then(
          [r](const json_ptr& reply) {
            json body = *reply;
            if (!body["ok"].get<bool>()) {
              // pruned: a sync from there can't be complete; an unknown thread root
              return r->reply(json_reply(body["error"] == "gap" ? 410 : 404, body));
            }
            body.erase("ok");
            r->reply(json_reply(200, body));
          },
          [r](caf::error&) { r->reply(error_reply(500, "storage")); });
    });
    return true;
  }
  r->reply(error_reply(404, "not found"));
  return true;
}

}  // namespace hub::app
