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
  return http::http_reply{
    status, "application/json", body.dump(-1, ' ', false, json::error_handler_t::replace), {}, false};
}

// {error} with the code's status. The one place a code becomes text on HTTP.
http::http_reply error_reply(error_code code) {
  return json_reply(http_status(code), json{{"error", to_string(code)}});
}

// 429 {error, retryAfterMs} with Retry-After in whole seconds (rate_limited, too_many_auth_failures).
http::http_reply retry_later_reply(error_code code, std::int64_t wait_ms) {
  auto reply = json_reply(http_status(code), json{{"error", to_string(code)}, {"retryAfterMs", wait_ms}});
  reply.headers.emplace_back("Retry-After", std::to_string((wait_ms + 999) / 1000));
  return reply;
}

// Request bodies are client input: bounded like every Socket.IO payload before a tree is
// built (json_bounds). Anything else (too deep, not JSON) is the discarded value.
json parse_body(const std::string& body) {
  auto value = json_bounds::parse(body, json_limits{});
  return value ? std::move(*value) : json(json::value_t::discarded);
}

// An id taken from the URL path: percent-decoding can yield any bytes, and an id goes
// into JSON text and storage keys, so it must be UTF-8 and short.
bool valid_path_id(const std::string& id) { return !id.empty() && id.size() <= max_id_length && ws::valid_utf8(id); }

std::optional<std::uint64_t> parse_u64(const std::string& text) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// ?limit= through page_limit(): its text as a number (null when it is not one).
std::optional<std::uint64_t> query_page_limit(const http::request_info& req) {
  auto it = req.query.find("limit");
  if (it == req.query.end()) return page_limit(nullptr);
  auto v = parse_u64(it->second);
  json asked = v ? json(*v) : json();
  return page_limit(&asked);
}

std::string path_of(const std::string& target) { return target.substr(0, target.find('?')); }

// What a route needs before its handler runs (401 "unauthorized" without it).
enum class credential { api_key, bearer };

// A route's pattern is its path, with ":id" standing for one id: the decoded text
// between the parts before and after it, never empty (the handler checks what it may hold).
std::optional<std::string> match(std::string_view pattern, std::string_view path) {
  auto at = pattern.find(":id");
  if (at == std::string_view::npos) return pattern == path ? std::optional<std::string>{""} : std::nullopt;
  auto prefix = pattern.substr(0, at), suffix = pattern.substr(at + 3);
  if (path.size() <= prefix.size() + suffix.size() || path.substr(0, prefix.size()) != prefix ||
      path.substr(path.size() - suffix.size()) != suffix)
    return std::nullopt;
  return url_decode(path.substr(prefix.size(), path.size() - prefix.size() - suffix.size()), false);
}

// The API's parts of the path space: a path in one that no route takes is answered 404
// (any other path is not the API's). Under /api/chat a bearer token is read whatever
// the route, so a wrong one counts against the address there even on a 404 or 405.
struct api_area {
  std::string_view prefix;
  bool bearer_first;
};
constexpr api_area api_areas[] = {{"/api/chat", true}, {"/api/tasks/", false}, {"/api/users/", false}};

const api_area* area_of(std::string_view path) {
  for (const auto& a : api_areas)
    if (path.substr(0, a.prefix.size()) == a.prefix) return &a;
  return nullptr;
}

}  // namespace

// The handlers, one per route. Each returns its reply, or nullopt when an actor will
// send it later (`r` is thread-safe).
struct hub_app::http_routes {
  using outcome = std::optional<http::http_reply>;
  static constexpr std::nullopt_t replied_later = std::nullopt;

  // A request that passed its route's checks.
  struct call {
    const http::request_info& req;
    const http::responder_ptr& r;
    std::string id;               // the path's :id, decoded
    std::optional<identity> who;  // the bearer's, on routes that take one
  };

  struct route {
    std::string_view method;
    std::string_view pattern;
    credential needs;
    outcome (*handle)(hub_app&, const call&);
  };

  // POST /api/chat {projectId, content, replyTo?} -> 201 the stored message.
  static outcome post_chat(hub_app& app, const call& c) {
    json body = parse_body(c.req.body);
    auto p = body.is_discarded() ? std::nullopt : parse_send_message(body, app.cfg_.max_content);
    if (!p) return error_reply(error_code::invalid);
    if (!c.who->may_access(p->project)) return error_reply(error_code::forbidden);
    // A short-lived actor carries the request through the rate limiter and the room.
    app.srv_.system().spawn([&app, r = c.r, who = *c.who, p = std::move(*p)](caf::event_based_actor* self) mutable {
      app.post_message(self, who, p.project, std::move(p.content), std::move(p.reply_to), [r](const post_outcome& o) {
        if (o.ok) return r->reply(json_reply(201, o.message));
        if (o.error == error_code::rate_limited) return r->reply(retry_later_reply(o.error, o.retry_after_ms));
        r->reply(error_reply(o.error));
      });
    });
    return replied_later;
  }

  // GET /api/chat/:projectId/messages?after=&limit=&thread= -> {messages, hasMore[, root]}
  static outcome get_messages(hub_app& app, const call& c) {
    const std::string& project = c.id;
    if (!valid_path_id(project) || project.find('/') != std::string::npos) return error_reply(error_code::invalid);
    if (!c.who->may_access(project)) return error_reply(error_code::forbidden);
    std::uint64_t after = 0;
    if (auto it = c.req.query.find("after"); it != c.req.query.end()) {
      auto v = parse_u64(it->second);
      if (!v) return error_reply(error_code::invalid_after);
      after = *v;
    }
    auto limit = query_page_limit(c.req);
    if (!limit) return error_reply(error_code::invalid_limit);
    std::uint64_t thread = 0;
    if (auto it = c.req.query.find("thread"); it != c.req.query.end()) {
      auto root = message_seq(project, json(it->second));
      if (!root) return error_reply(error_code::invalid_thread);
      thread = *root;
    }
    auto room = app.room(project);
    if (!room) return error_reply(error_code::shutting_down);
    app.srv_.system().spawn([room, r = c.r, after, limit = *limit, thread](caf::event_based_actor* self) {
      self->request(room, http_request_timeout, history_atom::value, after, limit, thread)
        .then(
          [r](const json_ptr& reply) {
            json body = *reply;
            if (!body["ok"].get<bool>()) {
              // The room's page names its error (gap: pruned, a sync from there can't be
              // complete; not_found: no such thread root); the body goes out as it is.
              auto code = body["error"].is_string() ? error_code_from(body["error"].get<std::string>()) : std::nullopt;
              return r->reply(json_reply(http_status(code.value_or(error_code::not_found)), body));
            }
            body.erase("ok");
            r->reply(json_reply(200, body));
          },
          [r](caf::error&) { r->reply(error_reply(error_code::storage)); });
    });
    return replied_later;
  }

  // POST /api/notifications (API key): store and deliver a notification.
  static outcome post_notification(hub_app& app, const call& c) {
    json body = parse_body(c.req.body);
    auto p = body.is_discarded() ? std::nullopt : parse_notification(body);
    if (!p) return error_reply(error_code::invalid);
    auto mailbox = app.user(p->user);
    if (!mailbox) return error_reply(error_code::shutting_down);
    app.srv_.system().spawn([r = c.r, mailbox, input = make_json(std::move(p->input))](caf::event_based_actor* self) {
      self->request(mailbox, http_request_timeout, notify_atom::value, input)
        .then([r](const json_ptr& n) { r->reply(json_reply(201, *n)); },
              [r](caf::error&) { r->reply(error_reply(error_code::storage)); });
    });
    return replied_later;
  }

  // GET /api/notifications?unread=&limit= (the user's JWT): list the inbox.
  static outcome get_notifications(hub_app& app, const call& c) {
    bool unread_only = false;
    if (auto it = c.req.query.find("unread"); it != c.req.query.end()) {
      if (it->second != "0" && it->second != "1" && it->second != "true" && it->second != "false")
        return error_reply(error_code::invalid_unread);
      unread_only = it->second == "1" || it->second == "true";
    }
    auto limit = query_page_limit(c.req);
    if (!limit) return error_reply(error_code::invalid_limit);
    auto mailbox = app.user(c.who->user_id);
    if (!mailbox) return error_reply(error_code::shutting_down);
    app.srv_.system().spawn([r = c.r, mailbox, unread_only, limit = *limit](caf::event_based_actor* self) {
      self->request(mailbox, http_request_timeout, inbox_list_atom::value, unread_only, limit)
        .then([r](const json_ptr& list) { r->reply(json_reply(200, *list)); },
              // 500, not unavailable's 503: the status this reply has always had.
              [r](caf::error&) {
                r->reply(json_reply(500, json{{"error", to_string(error_code::unavailable)}}));
              });
    });
    return replied_later;
  }

  // POST /api/tasks/:taskId/events {projectId, task} with the server-to-server API key
  // -> task-updated {taskId, projectId, task, updatedAt} to the task's room in that project and
  // group:<projectId>.
  static outcome post_task_event(hub_app& app, const call& c) {
    const std::string& task = c.id;
    json body = parse_body(c.req.body);
    auto project = body.is_object() ? id_from(body, "projectId") : std::nullopt;
    if (!project || !valid_path_id(task) || !body.contains("task") || !body["task"].is_object())
      return error_reply(error_code::invalid);
    // The backend is authoritative for the task's project: the event goes to that
    // project's task room, so members of another project never get it (task_room()).
    json event = json::object();
    event["taskId"] = task;
    event["projectId"] = *project;
    event["task"] = body["task"];
    event["updatedAt"] = iso8601(wall_now());
    app.srv_.in("/").to(task_room(*project, task)).to(group_room(*project)).emit("task-updated", json::array({event}));
    return json_reply(200, event);
  }

  // POST /api/users/:userId/revoke with the server-to-server API key -> 200 {userId,
  // revokedBefore} once the revocation is durable. Its sessions get a DISCONNECT ("io
  // server disconnect": the client does not reconnect by itself), and tokens issued at or
  // before that second are refused from then on, here and on restart.
  static outcome post_user_revoke(hub_app& app, const call& c) {
    const std::string& user = c.id;
    if (!valid_path_id(user) || user.find('/') != std::string::npos) return error_reply(error_code::invalid);
    const auto before =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    // In force at once (a reconnect racing the write is refused too), durable before the reply.
    app.revoked_.revoke(user, before);
    app.srv_.server_side_emit("/", "hub:revoke", json::array({user, before}));  // every node refuses it too
    app.srv_.in("/").to(user_room(user)).disconnect_sockets();
    if (!app.storage_) return error_reply(error_code::shutting_down);
    app.srv_.system().spawn([r = c.r, storage = app.storage_, user, before](caf::event_based_actor* self) {
      self
        ->request(storage, http_request_timeout, storage::kv_put_atom::value, keys::revoked(user),
                  std::to_string(before))
        .then(
          [r, user, before](bool) {
            r->reply(json_reply(200, json{{"userId", user}, {"revokedBefore", before}}));
          },
          [r](caf::error&) { r->reply(error_reply(error_code::storage)); });
    });
    return replied_later;
  }

  // Credentials on HTTP: a wrong one counts against the client's address (auth_failures_).
  static bool api_key_ok(hub_app& app, const http::request_info& req) {
    auto auth = req.headers.find("authorization");
    std::string expected = "Bearer " + app.cfg_.api_key;
    // Constant time: the key is a secret.
    bool ok = !app.cfg_.api_key.empty() && auth != req.headers.end() && auth->second.size() == expected.size() &&
              CRYPTO_memcmp(auth->second.data(), expected.data(), expected.size()) == 0;
    if (!ok && auth != req.headers.end()) app.auth_failures_.failed(req.remote_address);
    return ok;
  }

  static std::optional<identity> bearer_identity(hub_app& app, const http::request_info& req) {
    auto auth = req.headers.find("authorization");
    if (auth == req.headers.end()) return std::nullopt;
    auto who = app.auth_.from_bearer(auth->second);
    if (!who) app.auth_failures_.failed(req.remote_address);
    if (who && app.revoked_.revoked(*who)) {
      metrics::refused(metrics::refusal::token_revoked);
      return std::nullopt;
    }
    return who;
  }

  // 429 while the address has failed too often.
  static outcome refuse_blocked_address(hub_app& app, const http::request_info& req) {
    auto wait = app.auth_failures_.blocked_ms(req.remote_address);
    if (wait == 0) return std::nullopt;
    metrics::refused(metrics::refusal::too_many_auth_failures);
    return retry_later_reply(error_code::too_many_auth_failures, wait);
  }

  static constexpr route table[] = {
    {"POST", "/api/chat", credential::bearer, &post_chat},
    {"POST", "/api/chat/", credential::bearer, &post_chat},
    {"GET", "/api/chat/:id/messages", credential::bearer, &get_messages},
    {"POST", "/api/notifications", credential::api_key, &post_notification},
    {"GET", "/api/notifications", credential::bearer, &get_notifications},
    {"POST", "/api/tasks/:id/events", credential::api_key, &post_task_event},
    {"POST", "/api/users/:id/revoke", credential::api_key, &post_user_revoke},
  };

  // Path, then method (405), then credential (401), then the handler; 429 before all
  // of them while the address is blocked.
  static outcome dispatch(hub_app& app, const http::request_info& req, const http::responder_ptr& r,
                          const std::string& path, const api_area* area) {
    if (auto blocked = refuse_blocked_address(app, req)) return blocked;
    std::optional<std::optional<identity>> bearer;  // read at most once: a failure counts once
    auto who = [&]() -> const std::optional<identity>& {
      if (!bearer) bearer = bearer_identity(app, req);
      return *bearer;
    };
    if (area && area->bearer_first) who();
    bool path_known = false;
    for (const auto& rt : table) {
      auto id = match(rt.pattern, path);
      if (!id) continue;
      path_known = true;
      if (rt.method != req.method) continue;
      call c{req, r, std::move(*id), std::nullopt};
      if (rt.needs == credential::api_key && !api_key_ok(app, req)) return error_reply(error_code::unauthorized);
      if (rt.needs == credential::bearer && !(c.who = who())) return error_reply(error_code::unauthorized);
      return rt.handle(app, c);
    }
    return error_reply(path_known ? error_code::method_not_allowed : error_code::unknown_path);
  }

  static bool served(const std::string& path) {
    if (area_of(path)) return true;
    for (const auto& rt : table)
      if (match(rt.pattern, path)) return true;
    return false;
  }
};

bool hub_app::handle_http(const http::request_info& req, const http::responder_ptr& r) {
  std::string path = path_of(req.target);
  if (!http_routes::served(path)) return false;
  if (auto reply = http_routes::dispatch(*this, req, r, path, area_of(path))) r->reply(std::move(*reply));
  return true;
}

}  // namespace hub::app
