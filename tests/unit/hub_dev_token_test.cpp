#include "apps/hub/dev_token.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <optional>

using namespace hub;

namespace {

struct capture : http::responder {
  std::optional<http::http_reply> got;
  void reply(http::http_reply r) override { got = std::move(r); }
};

std::optional<http::http_reply> call(const app::authenticator& auth, const std::string& method,
                                     const std::string& target, const std::string& body) {
  http::request_info req;
  req.method = method;
  req.target = target;
  req.body = body;
  auto r = std::make_shared<capture>();
  if (!app::handle_dev_token(auth, req, r)) return std::nullopt;
  REQUIRE(r->got);
  return r->got;
}

}  // namespace

TEST_CASE("dev token: signs a token the authenticator accepts", "[hub][dev-token]") {
  app::authenticator auth("dev-secret", true);
  auto r = call(auth, "POST", "/dev/token", R"({"userId":"alice","userName":"Alice","projects":["demo",7]})");
  REQUIRE(r);
  CHECK(r->status == 200);
  auto body = json::parse(r->body);
  auto who = auth.verify_token(body["token"].get<std::string>());
  REQUIRE(who);
  CHECK(who->user_id == "alice");
  CHECK(who->name == "Alice");
  CHECK(who->projects == std::set<std::string>{"demo", "7"});
  CHECK_FALSE(who->all_projects);  // a token grants what it lists, as in production
  CHECK(body["projects"] == json::array({"7", "demo"}));

  // Another secret (e.g. another server) does not accept it.
  app::authenticator other("other-secret", true);
  CHECK_FALSE(other.verify_token(body["token"].get<std::string>()));
}

TEST_CASE("dev token: the name defaults to the id", "[hub][dev-token]") {
  app::authenticator auth("dev-secret", true);
  auto r = call(auth, "POST", "/dev/token", R"({"userId":42})");
  REQUIRE(r);
  CHECK(r->status == 200);
  auto who = auth.verify_token(json::parse(r->body)["token"].get<std::string>());
  REQUIRE(who);
  CHECK(who->user_id == "42");
  CHECK(who->name == "42");
  CHECK(who->projects.empty());
}

TEST_CASE("dev token: bad requests", "[hub][dev-token]") {
  app::authenticator auth("dev-secret", true);
  for (const char* body :
       {"", "not json", "[]", "{}", R"({"userId":""})", R"({"userId":true})", R"({"userId":"a","userName":""})",
        R"({"userId":"a","projects":"demo"})", R"({"userId":"a","projects":[null]})"}) {
    CAPTURE(body);
    auto r = call(auth, "POST", "/dev/token", body);
    REQUIRE(r);
    CHECK(r->status == 400);
  }
  auto get = call(auth, "GET", "/dev/token", "");
  REQUIRE(get);
  CHECK(get->status == 405);
  CHECK_FALSE(call(auth, "POST", "/dev/tokens", R"({"userId":"a"})"));
  CHECK_FALSE(call(auth, "POST", "/api/chat", R"({"userId":"a"})"));
}
