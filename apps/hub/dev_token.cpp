#include "apps/hub/dev_token.hpp"

#include "apps/hub/error_code.hpp"
#include "apps/hub/payloads.hpp"
#include "protocol/json_limits.hpp"

namespace hub::app {
namespace {

// A user of the demo belongs to a handful of projects; the bound keeps tokens small.
constexpr std::size_t max_projects = 50;

http::http_reply reply(int status, const json& body) {
  http::http_reply r{status, "application/json", body.dump(-1, ' ', false, json::error_handler_t::replace), {}, false};
  r.headers.emplace_back("Cache-Control", "no-store");  // a credential
  return r;
}

http::http_reply error_reply(error_code code) { return reply(http_status(code), json{{"error", to_string(code)}}); }

}  // namespace

bool handle_dev_token(const authenticator& auth, const http::request_info& req, const http::responder_ptr& r) {
  if (req.target.substr(0, req.target.find('?')) != "/dev/token") return false;
  if (req.method != "POST") {
    auto res = error_reply(error_code::method_not_allowed);
    res.headers.emplace_back("Allow", "POST");
    r->reply(std::move(res));
    return true;
  }
  auto parsed = json_bounds::parse(req.body, json_limits{});
  json body = parsed ? std::move(*parsed) : json();
  auto user = body.is_object() ? id_from(body, "userId") : std::nullopt;
  if (!user) return r->reply(error_reply(error_code::invalid_user_id)), true;
  identity who;
  who.user_id = *user;
  who.name = *user;
  if (body.contains("userName")) {
    const auto& n = body["userName"];
    if (!n.is_string() || n.get<std::string>().empty() || n.get<std::string>().size() > max_id_length)
      return r->reply(error_reply(error_code::invalid_user_name)), true;
    who.name = n.get<std::string>();
  }
  if (body.contains("projects")) {
    const auto& ps = body["projects"];
    if (!ps.is_array() || ps.size() > max_projects) return r->reply(error_reply(error_code::invalid_projects)), true;
    for (const auto& p : ps) {
      auto id = id_from(p, "projectId");
      if (!id) return r->reply(error_reply(error_code::invalid_projects)), true;
      who.projects.insert(*id);
    }
  }
  json out = json::object();
  out["token"] = auth.sign(who, dev_token_ttl);
  out["userId"] = who.user_id;
  out["userName"] = who.name;
  out["projects"] = json(std::vector<std::string>(who.projects.begin(), who.projects.end()));
  r->reply(reply(200, out));
  return true;
}

}  // namespace hub::app
