// Where the cluster's Redis is: a redis:// URL (--redis-url), parsed into what the link
// needs to connect, authenticate and select its database.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hub {

struct redis_endpoint {
  std::string host;  // a name, an IPv4 address or an IPv6 address (without brackets)
  std::uint16_t port = 6379;
  std::string user;      // ACL user (Redis 6+); empty: AUTH with the password alone
  std::string password;  // empty: no AUTH
  int db = 0;            // SELECTed when not 0

  // The URL without the password, for logs and /healthz.
  std::string display() const;
};

// redis://[[user]:password@]host[:port][/db], user and password percent-encoded, an IPv6
// host in brackets ([::1]). Anything else (rediss://, unix://, a query string, a bad port
// or database) is refused: nullopt, and `*error` (if given) says why.
std::optional<redis_endpoint> parse_redis_url(std::string_view url, std::string* error);

}  // namespace hub
