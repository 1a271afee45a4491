#include "net/transport/engine.hpp"

#include "util/random_id.hpp"

#include <nlohmann/json.hpp>

namespace hub::eio {

http_reply error_reply(error_code code) {
  static constexpr const char* messages[] = {"Transport unknown", "Session ID unknown", "Bad handshake method",
                                             "Bad request",       "Forbidden",          "Unsupported protocol version"};
  http_reply r;
  r.status = code == error_code::forbidden ? 403 : 400;
  r.content_type = "application/json";
  nlohmann::json body;
  body["code"] = static_cast<int>(code);
  body["message"] = messages[static_cast<int>(code)];
  r.body = body.dump();
  return r;
}

namespace {

const std::string* find(const std::map<std::string, std::string>& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

}  // namespace

engine::engine(boost::asio::io_context& ioc, engine_config cfg, cors_config cors, session_factory f)
  : ioc_(ioc), cfg_(cfg), cors_(std::move(cors)), factory_(std::move(f)), coalescer_(ioc, cfg_.max_write_delay) {}

void engine::add_cors_headers(const request_info& req, http_reply& reply) const {
  if (!cors_.enabled()) return;
  const std::string* origin = find(req.headers, "origin");
  if (!origin) return;
  bool any = std::find(cors_.origins.begin(), cors_.origins.end(), "*") != cors_.origins.end();
  bool listed = std::find(cors_.origins.begin(), cors_.origins.end(), *origin) != cors_.origins.end();
  if (any && !cors_.credentials) {
    reply.headers.emplace_back("Access-Control-Allow-Origin", "*");
  } else if (any || listed) {
    // A specific origin (never "*") so that browsers accept credentials.
    reply.headers.emplace_back("Access-Control-Allow-Origin", *origin);
    if (cors_.credentials) reply.headers.emplace_back("Access-Control-Allow-Credentials", "true");
    reply.headers.emplace_back("Vary", "Origin");
  }
}

std::optional<http_reply> engine::validate(const request_info& req, session_ptr& session) const {
  const std::string* transport = find(req.query, "transport");
  if (!transport || (*transport != "polling" && *transport != "websocket"))
    return error_reply(error_code::unknown_transport);
  if (*transport == "websocket" && !req.websocket_upgrade) return error_reply(error_code::bad_request);
  const std::string* eio = find(req.query, "EIO");
  if (const std::string* sid = find(req.query, "sid")) {
    session = table_.find(*sid);
    if (!session) return error_reply(error_code::unknown_sid);
    bool upgrade = *transport == "websocket" && !session->is_websocket();
    bool same = (*transport == "websocket") == session->is_websocket();
    if (!same && !upgrade) return error_reply(error_code::bad_request);
    if (!eio || *eio != "4") return error_reply(error_code::bad_request);
    return std::nullopt;
  }
  if (req.method != "GET") return error_reply(error_code::bad_handshake_method);
  if (!eio || *eio != "4") return error_reply(error_code::unsupported_protocol_version);
  return std::nullopt;
}

std::shared_ptr<const handshake> engine::make_handshake(const request_info& req) const {
  auto hs = std::make_shared<handshake>();
  hs->remote_address = req.remote_address;
  hs->url = req.target;
  hs->query = flat_fields::from(req.query);
  hs->headers = flat_fields::from(req.headers);
  hs->issued = std::chrono::system_clock::now();
  return hs;
}

session_ptr engine::create_session(std::shared_ptr<const handshake> hs) {
  auto s = std::make_shared<eio_session>(ioc_, random_id(), cfg_, table_);
  s->set_handler(factory_(s, std::move(hs)));
  table_.add(s->sid(), s);
  return s;
}

session_ptr engine::handle_http(request_info&& req, const responder_ptr& r) {
  if (req.method == "OPTIONS" && cors_.enabled() && req.headers.count("origin")) {
    http_reply pre;
    pre.status = 204;  // the HTTP layer adds the Allow-Origin headers to every reply
    pre.headers.emplace_back("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE");
    if (auto h = find(req.headers, "access-control-request-headers")) {
      pre.headers.emplace_back("Access-Control-Allow-Headers", *h);
      pre.headers.emplace_back("Vary", "Access-Control-Request-Headers");
    }
    r->reply(std::move(pre));
    return nullptr;
  }
  session_ptr session;
  if (auto refusal = validate(req, session)) {
    r->reply(std::move(*refusal));
    return nullptr;
  }
  if (!session) {
    create_session(make_handshake(req))->start_polling(r);
    return nullptr;
  }
  if (req.method == "GET") {
    session->poll(r);
    return session;
  }
  if (req.method == "POST") {
    if (!session->claim_post()) {
      http_reply dup;
      dup.status = 400;
      r->reply(std::move(dup));
      session->post_rejected(close_reason::transport_error);  // a second POST in flight
      return nullptr;
    }
    auto ct = find(req.headers, "content-type");
    if (ct && ct->rfind("application/octet-stream", 0) == 0) {
      http_reply bad;
      bad.status = 400;
      r->reply(std::move(bad));
      session->post_rejected(close_reason::transport_error);
      return nullptr;
    }
    session->post(std::move(req.body), r);
    return nullptr;
  }
  http_reply other;
  other.status = 500;
  r->reply(std::move(other));
  return nullptr;
}

std::variant<http_reply, engine::ws_plan> engine::check_websocket(const request_info& req) {
  session_ptr session;
  if (auto refusal = validate(req, session)) return std::move(*refusal);
  return ws_plan{session, session ? nullptr : make_handshake(req)};
}

session_ptr engine::attach_websocket(ws_plan plan, const ws_link_ptr& link) {
  if (plan.existing) {
    plan.existing->probe(link);
    return plan.existing;
  }
  auto s = create_session(std::move(plan.hs));
  s->start_websocket(link);
  return s;
}

void engine::shutdown() {
  for (auto& s : table_.snapshot()) s->shutdown();
}

}  // namespace hub::eio
