// Recovery offsets (actors/recovery_codec.cpp): the text a client carries between
// connections, `epoch~stream=seq...`, formatted once per delivered event.
#include "actors/recovery_codec.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <string>

using hub::recovery::format_offset;
using hub::recovery::parse_offset;
using positions = std::map<std::string, std::uint64_t>;

TEST_CASE("recovery offset: format and parse round trip, names with the separators escaped",
          "[recovery]") {
  positions p{{"room/p1", 12}, {"inbox/u~1=x", 3}, {"room/%", 18446744073709551615ULL}};
  auto text = format_offset("ep~och", p);
  auto back = parse_offset(text);
  REQUIRE(back);
  CHECK(back->epoch == "ep~och");
  CHECK(back->positions == p);
  CHECK(format_offset("E", {}) == "E");
  CHECK(format_offset("E", {{"room/p1", 12}}) == "E~room/p1=12");
}

TEST_CASE("recovery offset: two position maps format as their per-stream maximum", "[recovery]") {
  positions joined{{"inbox/u1", 4}, {"room/a", 10}, {"room/c", 1}};
  positions delivered{{"room/a", 12}, {"room/b", 7}, {"room/c", 0}, {"z", 2}};
  positions merged{{"inbox/u1", 4}, {"room/a", 12}, {"room/b", 7}, {"room/c", 1}, {"z", 2}};
  CHECK(format_offset("E", joined, delivered) == format_offset("E", merged));
  CHECK(format_offset("E", delivered, joined) == format_offset("E", merged));
  CHECK(format_offset("E", {}, delivered) == format_offset("E", delivered));
  CHECK(format_offset("E", joined, {}) == format_offset("E", joined));
  CHECK(format_offset("E", {}, {}) == "E");
}

TEST_CASE("recovery offset: malformed texts are refused", "[recovery]") {
  CHECK_FALSE(parse_offset(""));
  CHECK_FALSE(parse_offset("~room/p1=1"));  // no epoch
  CHECK_FALSE(parse_offset("E~room/p1"));   // no '='
  CHECK_FALSE(parse_offset("E~room/p1=x"));
  CHECK_FALSE(parse_offset("E~room/p1=-1"));
  CHECK_FALSE(parse_offset("E~room/p1=99999999999999999999"));
}
