// The Redis link (net/redis/): URLs and the RESP codec.
#include "net/redis/redis_url.hpp"
#include "net/redis/resp.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using hub::redis::reply;
using hub::redis::reply_limits;
using hub::redis::reply_parser;

namespace {

std::vector<reply> parse_all(reply_parser& p, std::string_view bytes) {
  std::vector<reply> out;
  p.feed(bytes);
  while (auto r = p.next()) out.push_back(std::move(*r));
  return out;
}

}  // namespace

// -- URLs ---------------------------------------------------------------------------------------

TEST_CASE("redis url: host, port, credentials and database", "[redis]") {
  std::string error;
  auto ep = hub::parse_redis_url("redis://localhost", &error);
  REQUIRE(ep);
  CHECK(ep->host == "localhost");
  CHECK(ep->port == 6379);
  CHECK(ep->user.empty());
  CHECK(ep->password.empty());
  CHECK(ep->db == 0);

  ep = hub::parse_redis_url("redis://alice:s%40cr%2Ft%3A@10.0.0.7:6380/3", &error);
  REQUIRE(ep);
  CHECK(ep->user == "alice");
  CHECK(ep->password == "s@cr/t:");
  CHECK(ep->host == "10.0.0.7");
  CHECK(ep->port == 6380);
  CHECK(ep->db == 3);
  CHECK(ep->display() == "redis://alice@10.0.0.7:6380/3");  // never the password

  ep = hub::parse_redis_url("REDIS://:only-password@[::1]:7000/", &error);
  REQUIRE(ep);
  CHECK(ep->user.empty());
  CHECK(ep->password == "only-password");
  CHECK(ep->host == "::1");
  CHECK(ep->port == 7000);
  CHECK(ep->db == 0);
  CHECK(ep->display() == "redis://[::1]:7000");

  ep = hub::parse_redis_url("redis://[::1]", &error);
  REQUIRE(ep);
  CHECK(ep->host == "::1");
  CHECK(ep->port == 6379);
}

TEST_CASE("redis url: refusals say why", "[redis]") {
  auto why = [](std::string_view url) {
    std::string error;
    auto ep = hub::parse_redis_url(url, &error);
    CHECK_FALSE(ep);
    return error;
  };
  CHECK_THAT(why("rediss://host:6380"), Catch::Contains("TLS") && Catch::Contains("not supported"));
  CHECK_THAT(why("http://host"), Catch::Contains("only redis://"));
  CHECK_THAT(why("host:6379"), Catch::Contains("not a Redis URL"));
  CHECK_THAT(why("redis://"), Catch::Contains("no host"));
  CHECK_THAT(why("redis://host:0"), Catch::Contains("not a port"));
  CHECK_THAT(why("redis://host:65536"), Catch::Contains("not a port"));
  CHECK_THAT(why("redis://host:"), Catch::Contains("not a port"));
  CHECK_THAT(why("redis://host:12ab"), Catch::Contains("not a port"));
  CHECK_THAT(why("redis://host/x"), Catch::Contains("not a database"));
  CHECK_THAT(why("redis://host/-1"), Catch::Contains("not a database"));
  CHECK_THAT(why("redis://host/0?timeout=1"), Catch::Contains("query"));
  CHECK_THAT(why("redis://user@host"), Catch::Contains("without a password"));
  CHECK_THAT(why("redis://:pa%zzss@host"), Catch::Contains("%-escape"));
  CHECK_THAT(why("redis://:pa%4@host"), Catch::Contains("%-escape"));
  CHECK_THAT(why("redis://:p/w@host"), Catch::Contains("percent-encode"));
  CHECK_THAT(why("redis://[::1"), Catch::Contains("closing"));
  CHECK_THAT(why("redis://[nope]:6379"), Catch::Contains("IPv6"));
  CHECK_THAT(why("redis://::1:6379"), Catch::Contains("brackets"));
  CHECK_THAT(why("redis://ho st"), Catch::Contains("not a host"));
}

// -- RESP ---------------------------------------------------------------------------------------

TEST_CASE("resp: commands are binary-safe", "[redis]") {
  std::string payload("a\0b\r\nc", 6);
  auto cmd = hub::redis::format_command({"PUBLISH", "ch", payload});
  REQUIRE(cmd);
  static constexpr char wire[] = "*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$6\r\na\0b\r\nc\r\n";
  CHECK(*cmd == std::string(wire, sizeof wire - 1));
  CHECK_FALSE(hub::redis::format_command(std::vector<std::string_view>{}));
}

TEST_CASE("resp: replies split at every byte come out whole and in order", "[redis]") {
  const std::string wire =
    "+OK\r\n-ERR wrong\r\n:-42\r\n$5\r\nhe\r\no\r\n$-1\r\n*-1\r\n$0\r\n\r\n"
    "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n*2\r\n:1\r\n*0\r\n";
  reply_parser p;
  std::vector<reply> got;
  for (char c : wire) {
    REQUIRE(p.feed(std::string_view(&c, 1)));
    while (auto r = p.next()) got.push_back(std::move(*r));
  }
  REQUIRE_FALSE(p.failed());
  REQUIRE(got.size() == 8);
  CHECK(got[0].describe() == "+OK");
  REQUIRE(got[1].error());
  CHECK(got[1].error()->message == "ERR wrong");
  REQUIRE(got[2].integer());
  CHECK(*got[2].integer() == -42);
  REQUIRE(got[3].bulk());
  CHECK(*got[3].bulk() == "he\r\no");
  CHECK(got[4].describe() == "$nil");
  CHECK(got[5].describe() == "$nil");
  REQUIRE(got[6].bulk());
  CHECK(got[6].bulk()->empty());
  CHECK(got[7].describe() == "[$message, $ch, [:1, []]]");
}

TEST_CASE("resp: garbage ends the parser with a clear error", "[redis]") {
  reply_parser p;
  auto got = parse_all(p, "+OK\r\n?what is this\r\n");
  CHECK(got.size() == 1);  // what came before the garbage
  REQUIRE(p.failed());
  CHECK_THAT(p.error(), Catch::Contains("protocol error") && Catch::Contains("?"));
  CHECK_FALSE(p.feed("+OK\r\n"));  // for good
  CHECK_FALSE(p.next());

  reply_parser bad_int;
  parse_all(bad_int, ":12x\r\n");
  CHECK_THAT(bad_int.error(), Catch::Contains("Bad integer"));

  reply_parser deep;
  std::string nested;
  for (int i = 0; i < 9; ++i) nested += "*1\r\n";
  parse_all(deep, nested);
  CHECK_THAT(deep.error(), Catch::Contains("nested"));
}

TEST_CASE("resp: oversized replies are refused before they are allocated", "[redis]") {
  reply_limits small{.max_reply_bytes = 1024, .max_elements = 100, .max_line_bytes = 256};

  SECTION("a bulk string over the reply bound, announced and partly sent") {
    reply_parser p(small);
    parse_all(p, "$100000000\r\n" + std::string(2000, 'x'));
    REQUIRE(p.failed());
    CHECK_THAT(p.error(), Catch::Contains("larger than 1 KiB"));
  }
  SECTION("an array announcing more elements than the bound") {
    reply_parser p(small);
    parse_all(p, "*2000000000\r\n");
    REQUIRE(p.failed());
    CHECK_THAT(p.error(), Catch::Contains("more than 100 elements"));
  }
  SECTION("nested arrays adding up past the element bound") {
    reply_parser p(small);
    std::string wire = "*3\r\n";
    for (int i = 0; i < 3; ++i) wire += "*40\r\n";
    parse_all(p, wire);
    REQUIRE(p.failed());
    CHECK_THAT(p.error(), Catch::Contains("elements"));
  }
  SECTION("many small values adding up past the byte bound") {
    reply_parser p(small);
    std::string wire = "*90\r\n";
    for (int i = 0; i < 90; ++i) wire += "$20\r\n" + std::string(20, 'y') + "\r\n";
    parse_all(p, wire);
    REQUIRE(p.failed());
    CHECK_THAT(p.error(), Catch::Contains("larger than"));
  }
  SECTION("a status line that never ends") {
    reply_parser p(small);
    parse_all(p, "+" + std::string(300, 'z'));
    REQUIRE(p.failed());
    CHECK_THAT(p.error(), Catch::Contains("line longer than 256 bytes"));
  }
  SECTION("a bulk length that never ends") {
    reply_parser p(small);
    parse_all(p, "$" + std::string(40, '1'));
    REQUIRE(p.failed());
    CHECK_THAT(p.error(), Catch::Contains("length line"));
  }
  SECTION("within the bounds, one reply after another, is fine") {
    reply_parser p(small);
    for (int i = 0; i < 50; ++i) {
      auto got = parse_all(p, "$900\r\n" + std::string(900, 'k') + "\r\n");
      REQUIRE(got.size() == 1);
    }
    CHECK_FALSE(p.failed());
  }
}
