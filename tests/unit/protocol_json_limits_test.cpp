#include "protocol/json_limits.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace hub;
using json_bounds::verdict;

namespace {
std::string nested_arrays(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }
std::string nested_objects(std::size_t depth) {
  std::string s;
  for (std::size_t i = 0; i < depth; ++i) s += R"({"a":)";
  s += "1";
  s += std::string(depth, '}');
  return s;
}
std::string object_with(std::size_t keys) {
  std::string s = "{";
  for (std::size_t i = 0; i < keys; ++i) s += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  return s + "}";
}
}  // namespace

TEST_CASE("json bounds: depth is counted from the root, both container kinds", "[protocol][json-limits]") {
  json_limits l;
  CHECK(json_bounds::check(nested_arrays(32), l) == verdict::ok);
  CHECK(json_bounds::check(nested_arrays(33), l) == verdict::too_deep);
  CHECK(json_bounds::check(nested_objects(32), l) == verdict::ok);
  CHECK(json_bounds::check(nested_objects(33), l) == verdict::too_deep);
  CHECK(json_bounds::check("1", l) == verdict::ok);
  CHECK(json_bounds::check("\"x\"", l) == verdict::ok);
}

TEST_CASE("json bounds: 100k levels are refused without recursion", "[protocol][json-limits]") {
  CHECK(json_bounds::check(nested_arrays(100000), json_limits{}) == verdict::too_deep);
  CHECK(json_bounds::check(nested_objects(100000), json_limits{}) == verdict::too_deep);
  CHECK_FALSE(json_bounds::parse(nested_arrays(100000), json_limits{}));
}

TEST_CASE("json bounds: members per object", "[protocol][json-limits]") {
  json_limits l;
  CHECK(json_bounds::check(object_with(1000), l) == verdict::ok);
  CHECK(json_bounds::check(object_with(1001), l) == verdict::too_many_members);
  // Per object, not in total: two objects of 1000 each pass.
  CHECK(json_bounds::check("[" + object_with(1000) + "," + object_with(1000) + "]", l) == verdict::ok);
  // Arrays are not bounded by member count (the byte limit bounds them).
  std::string wide = "[";
  for (int i = 0; i < 5000; ++i) wide += i ? ",0" : "0";
  CHECK(json_bounds::check(wide + "]", l) == verdict::ok);
}

TEST_CASE("json bounds: malformed text and invalid UTF-8", "[protocol][json-limits]") {
  CHECK(json_bounds::check("", json_limits{}) == verdict::malformed);
  CHECK(json_bounds::check("[1,", json_limits{}) == verdict::malformed);
  CHECK(json_bounds::check("\"\xff\"", json_limits{}) == verdict::malformed);
  auto v = json_bounds::parse(R"({"b":1,"a":[true,null]})", json_limits{});
  REQUIRE(v);
  CHECK(v->dump() == R"({"b":1,"a":[true,null]})");  // ordered: the sender's key order
}
