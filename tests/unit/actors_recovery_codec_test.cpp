// Recovery offsets (sio/recovery_codec.cpp): the text a client carries between
// connections, `epoch~stream=seq...`, formatted once per delivered event.
#include "sio/recovery_codec.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <string>
#include <vector>

using hub::recovery::format_offset;
using hub::recovery::parse_offset;
using positions = std::map<std::string, std::uint64_t>;

TEST_CASE("recovery offset: format and parse round trip, names with the separators escaped", "[recovery]") {
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

TEST_CASE("recovery: raise_offset keeps an offset text equal to formatting it anew", "[recovery][offset]") {
  // Names that are prefixes, suffixes and substrings of each other, and one that needs
  // escaping (raise_offset declines it; the caller formats anew).
  const std::vector<std::string> streams{"room/p1", "room/p10", "p1", "inbox/u:p1", "10", "a b"};
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    std::map<std::string, std::uint64_t> joined, delivered;
    for (const auto& s : streams)
      if (rng() % 2) joined[s] = rng() % 20;
    std::string text = hub::recovery::format_offset("ep~1", joined, delivered);
    int raised = 0;
    for (int step = 0; step < 200; ++step) {
      const auto& s = streams[rng() % streams.size()];
      auto& d = delivered[s];
      std::uint64_t seq = d + 1 + rng() % 5;
      bool had = joined.count(s) || d > 0;
      d = seq;
      if (hub::recovery::raise_offset(text, s, seq)) {
        ++raised;
        CHECK(had);  // it only finds streams the text already names
      } else {
        text = hub::recovery::format_offset("ep~1", joined, delivered);
      }
      REQUIRE(text == hub::recovery::format_offset("ep~1", joined, delivered));
    }
    CHECK(raised > 100);  // the fast path is the common one
  }
  std::string t = "E~room/p1=5";
  CHECK(hub::recovery::raise_offset(t, "room/p1", 3));  // never lowers a position
  CHECK(t == "E~room/p1=5");
  CHECK_FALSE(hub::recovery::raise_offset(t, "p1", 9));
  CHECK_FALSE(hub::recovery::raise_offset(t, "", 9));
}
