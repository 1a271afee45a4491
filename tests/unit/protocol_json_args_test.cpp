#include "protocol/json_args.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <tuple>
#include <utility>
#include <string_view>
#include <vector>

using namespace std::string_literals;
using namespace std::string_view_literals;
using hub::json;
namespace json_args = hub::json_args;

namespace {

using views = std::vector<std::string_view>;

views split_ok(std::string_view text) {
  auto parts = json_args::split_array(text);
  INFO("input: " << text);
  REQUIRE(parts.has_value());
  // Every view points into the input.
  for (auto part : *parts) {
    CHECK(part.data() >= text.data());
    CHECK(part.data() + part.size() <= text.data() + text.size());
  }
  return *parts;
}

json bytes(std::initializer_list<std::uint8_t> b) { return json::binary(json::binary_t::container_type(b)); }

}  // namespace

TEST_CASE("json_args: split_array returns the raw element texts", "[protocol][json_args]") {
  CHECK(split_ok(R"(["hello",1,true,null,-2.5e3])") == views{R"("hello")", "1", "true", "null", "-2.5e3"});
  CHECK(split_ok(R"(["a",{"b":[1,2],"c":{"d":"]"}},[3,"]",[]]])") ==
        views{R"("a")", R"({"b":[1,2],"c":{"d":"]"}})", R"([3,"]",[]])"});
  // Number text and key order are kept as written.
  CHECK(split_ok(R"([1.0,{"z":1,"a":2},1e2])") == views{"1.0", R"({"z":1,"a":2})", "1e2"});
}

TEST_CASE("json_args: split_array handles strings with escapes", "[protocol][json_args]") {
  CHECK(split_ok(R"(["x\"y","\\",",","\\\"","[{"])") ==
        views{R"("x\"y")", R"("\\")", R"(",")", R"("\\\"")", R"("[{")"});
  CHECK(split_ok(R"(["\u005d\u002c",  "a\\" ,"b"])") == views{R"("\u005d\u002c")", R"("a\\")", R"("b")"});
  CHECK(split_ok(R"(["caf\u00e9","日本"])") == views{R"("caf\u00e9")", R"("日本")"});
}

TEST_CASE("json_args: split_array trims whitespace around elements", "[protocol][json_args]") {
  CHECK(split_ok(" \t[ \"a\" ,\n1\r\n, { \"b\" : 2 } ]\n") == views{R"("a")", "1", R"({ "b" : 2 })"});
  CHECK(split_ok("[ [ 1 , 2 ] ]") == views{"[ 1 , 2 ]"});
}

TEST_CASE("json_args: split_array of empty and nested-empty arrays", "[protocol][json_args]") {
  CHECK(split_ok("[]").empty());
  CHECK(split_ok("[ ]").empty());
  CHECK(split_ok(" [\n\t] ").empty());
  CHECK(split_ok("[[]]") == views{"[]"});
  CHECK(split_ok("[{}]") == views{"{}"});
  CHECK(split_ok(R"([""])") == views{R"("")"});
  CHECK(split_ok("[[],{},\"\"]") == views{"[]", "{}", R"("")"});
}

TEST_CASE("json_args: split_array rejects what is not a JSON array", "[protocol][json_args]") {
  const std::string_view bad[] = {
    "",        " ",     "{}",    R"("a")", "1",     "null",
    "[1,]",    "[,1]",  "[1",    "[1]]",   "[1] x", "[1][2]",
    R"(["a])", "[1 2]", "['a']", "[01]",   "[NaN]", "[\"\t\"]" /* raw control char in a string */,
    "[1,,2]",  "]",
  };
  for (auto text : bad) {
    CAPTURE(text);
    CHECK_FALSE(json_args::split_array(text).has_value());
  }
}

TEST_CASE("json_args: join_array", "[protocol][json_args]") {
  CHECK(json_args::join_array({}) == "[]");
  CHECK(json_args::join_array({R"("a")"}) == R"(["a"])");
  CHECK(json_args::join_array({R"("a")", "1", R"({"b":[1,2]})"}) == R"(["a",1,{"b":[1,2]}])");

  const std::string text = R"(["ev" , {"z":1,"a":[true,null]},"x\"]"])";
  const auto parts = split_ok(text);
  CHECK(json_args::join_array(parts) == R"(["ev",{"z":1,"a":[true,null]},"x\"]"])");
  // Dropping the event name, as a server does before handing the arguments on.
  const views args(parts.begin() + 1, parts.end());
  CHECK(json_args::join_array(args) == R"([{"z":1,"a":[true,null]},"x\"]"])");
}

TEST_CASE("json_args: fill_placeholders, the spec example", "[protocol][json_args]") {
  json value = json::parse(R"(["bin-back",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}])");
  const std::vector<std::string> attachments = {"\x01\x02", "\x03"};
  REQUIRE(json_args::fill_placeholders(value, attachments));
  REQUIRE(value.is_array());
  REQUIRE(value.size() == 3);
  CHECK(value[0] == "bin-back");
  REQUIRE(value[1].is_binary());
  CHECK(value[1] == bytes({1, 2}));
  REQUIRE(value[2]["nested"].is_binary());
  CHECK(value[2]["nested"] == bytes({3}));
}

TEST_CASE("json_args: fill_placeholders accepts any order and reuse", "[protocol][json_args]") {
  json value = json::parse(
    R"({"b":{"_placeholder":true,"num":1},"a":[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1.0}]})");
  REQUIRE(json_args::fill_placeholders(value, {"A", "B"}));
  CHECK(value["b"] == bytes({'B'}));
  CHECK(value["a"][0] == bytes({'A'}));
  CHECK(value["a"][1] == bytes({'B'}));
}

TEST_CASE("json_args: fill_placeholders leaves non-placeholders alone", "[protocol][json_args]") {
  const std::string text =
    R"([{"_placeholder":false,"num":0},{"_placeholder":"true","num":0},{"_placeholder":1,"num":0},)"
    R"({"num":0},{"placeholder":true,"num":0},"_placeholder",7])";
  json value = json::parse(text);
  const json before = value;
  REQUIRE(json_args::fill_placeholders(value, {"x"}));
  CHECK(value == before);
  // Placeholders are only filled in where they are: no attachments, nothing to do.
  json plain = json::parse(R"(["a",{"b":[1,2,3]}])");
  REQUIRE(json_args::fill_placeholders(plain, {}));
  CHECK(plain.dump() == R"(["a",{"b":[1,2,3]}])");
}

TEST_CASE("json_args: fill_placeholders rejects bad numbers", "[protocol][json_args]") {
  const char* bad[] = {
    R"([{"_placeholder":true,"num":2}])",
    R"([{"_placeholder":true,"num":-1}])",
    R"([{"_placeholder":true,"num":0.5}])",
    R"([{"_placeholder":true,"num":"0"}])",
    R"([{"_placeholder":true,"num":null}])",
    R"([{"_placeholder":true}])",
    R"({"deep":[[{"x":{"_placeholder":true,"num":99}}]]})",
    R"([{"_placeholder":true,"num":18446744073709551615}])",
  };
  for (const char* text : bad) {
    CAPTURE(text);
    json value = json::parse(text);
    CHECK_FALSE(json_args::fill_placeholders(value, {"a", "b"}));
  }
  json none = json::parse(R"([{"_placeholder":true,"num":0}])");
  CHECK_FALSE(json_args::fill_placeholders(none, {}));
}

TEST_CASE("json_args: extract_binaries, the spec example", "[protocol][json_args]") {
  json value = json::array({"bin-back", bytes({1, 2}), json{{"nested", bytes({3})}}});
  std::vector<std::string> attachments;
  json_args::extract_binaries(value, attachments);
  CHECK(value.dump() == R"(["bin-back",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}])");
  CHECK(attachments == std::vector<std::string>{"\x01\x02", "\x03"});
}

TEST_CASE("json_args: extract_binaries numbers depth-first in order", "[protocol][json_args]") {
  // Objects in key (insertion) order, arrays by index, parents before later siblings.
  json value = json::object();
  value["z"] = json::array({bytes({'A'}), json{{"y", bytes({'B'})}}});
  value["a"] = bytes({'C'});
  value["m"] = json::array({json::array({json::array({bytes({'D'})})}), bytes({'E'})});
  std::vector<std::string> attachments;
  json_args::extract_binaries(value, attachments);
  CHECK(attachments == std::vector<std::string>{"A", "B", "C", "D", "E"});
  CHECK(value.dump() == R"({"z":[{"_placeholder":true,"num":0},{"y":{"_placeholder":true,"num":1}}],)"
                        R"("a":{"_placeholder":true,"num":2},)"
                        R"("m":[[[{"_placeholder":true,"num":3}]],{"_placeholder":true,"num":4}]})");

  // A binary value at the top.
  json top = bytes({9, 8});
  std::vector<std::string> top_attachments;
  json_args::extract_binaries(top, top_attachments);
  CHECK(top.dump() == R"({"_placeholder":true,"num":0})");
  CHECK(top_attachments == std::vector<std::string>{"\x09\x08"});

  // Nothing binary: nothing changes.
  json plain = json::parse(R"(["a",{"b":[1,"x"]}])");
  std::vector<std::string> none;
  json_args::extract_binaries(plain, none);
  CHECK(none.empty());
  CHECK(plain.dump() == R"(["a",{"b":[1,"x"]}])");
}

TEST_CASE("json_args: extract then fill restores the value", "[protocol][json_args]") {
  json original = json::array({"ev", bytes({}), json{{"k", json::array({bytes({0, 255}), 1, "s"})}}, bytes({7, 7, 7})});
  json value = original;
  std::vector<std::string> attachments;
  json_args::extract_binaries(value, attachments);
  REQUIRE(attachments.size() == 3);
  CHECK(attachments[0].empty());
  CHECK(attachments[1] == "\x00\xff"s);
  CHECK(json_args::fill_placeholders(value, attachments));
  CHECK(value == original);
}

TEST_CASE("json_args: deep nesting does not recurse", "[protocol][json_args]") {
  // Deep enough to overflow the stack if walked recursively. (Only nlohmann's own
  // iterative parser and destructor touch it besides the functions under test.)
  constexpr int depth = 200000;
  std::string text(depth, '[');
  text += R"({"_placeholder":true,"num":0})";
  text.append(depth, ']');
  json value = json::parse(text);
  REQUIRE(json_args::fill_placeholders(value, {"z"}));
  // Walk down without an assertion per level.
  const auto innermost = [](const json& v) {
    const json* inner = &v;
    int levels = 0;
    while (inner->is_array() && inner->size() == 1) {
      inner = &(*inner)[0];
      ++levels;
    }
    return std::make_pair(levels, inner);
  };
  auto [levels, inner] = innermost(value);
  CHECK(levels == depth);
  CHECK(inner->is_binary());

  std::vector<std::string> attachments;
  json_args::extract_binaries(value, attachments);
  CHECK(attachments == std::vector<std::string>{"z"});
  std::tie(levels, inner) = innermost(value);
  CHECK(levels == depth);
  CHECK(inner->is_object());
  CHECK((*inner)["num"] == 0);
}
