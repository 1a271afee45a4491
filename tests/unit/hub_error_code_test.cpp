#include "apps/hub/error_code.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using hub::app::error_code;

// The wire text and status of every code: clients (and the interop tests) match on them.
TEST_CASE("hub: every error code has its wire text and HTTP status", "[hub][error_code]") {
  struct expected {
    error_code code;
    std::string text;
    int status;
  };
  const expected all[] = {
    {error_code::invalid, "invalid", 400},
    {error_code::forbidden, "forbidden", 403},
    {error_code::unauthenticated, "unauthenticated", 401},
    {error_code::unavailable, "unavailable", 503},
    {error_code::storage, "storage", 500},
    {error_code::rate_limited, "rate_limited", 429},
    {error_code::not_found, "not_found", 404},
    {error_code::gap, "gap", 410},
    {error_code::too_many_rooms, "too_many_rooms", 429},
    {error_code::too_many_reactions, "too_many_reactions", 409},
    {error_code::too_many_auth_failures, "too_many_auth_failures", 429},
    {error_code::unauthorized, "unauthorized", 401},
    {error_code::method_not_allowed, "method not allowed", 405},
    {error_code::unknown_path, "not found", 404},
    {error_code::shutting_down, "shutting down", 503},
    {error_code::invalid_after, "invalid after", 400},
    {error_code::invalid_limit, "invalid limit", 400},
    {error_code::invalid_thread, "invalid thread", 400},
    {error_code::invalid_unread, "invalid unread", 400},
    {error_code::invalid_reply_target, "invalid reply target", 400},
    {error_code::invalid_user_id, "invalid userId", 400},
    {error_code::invalid_user_name, "invalid userName", 400},
    {error_code::invalid_projects, "invalid projects", 400},
  };
  REQUIRE(std::size(all) == hub::app::all_error_codes.size());
  for (const auto& e : all) {
    INFO(e.text);
    CHECK(std::string(to_string(e.code)) == e.text);
    CHECK(hub::app::http_status(e.code) == e.status);
    CHECK(hub::app::error_code_from(e.text) == e.code);
  }
  std::set<std::string> texts;
  for (auto c : hub::app::all_error_codes) texts.insert(std::string(to_string(c)));
  CHECK(texts.size() == hub::app::all_error_codes.size());  // no two codes share a text
  CHECK_FALSE(hub::app::error_code_from("no such code"));
}

static_assert(to_string(error_code::gap) == "gap");
static_assert(hub::app::http_status(error_code::gap) == 410);
