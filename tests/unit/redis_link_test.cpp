// The Redis link (net/redis/): URLs first.
#include "net/redis/redis_url.hpp"

#include <catch2/catch.hpp>

#include <string>

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
