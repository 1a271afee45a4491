#include "util/redis_url.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

namespace hub {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Strict, unlike util/url.hpp's: a credential with a broken escape is a typo to report,
// not text to pass on to AUTH.
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    int hi = i + 1 < s.size() ? hex_value(s[i + 1]) : -1;
    int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

template <class Int>
bool parse_decimal(std::string_view s, Int& out) {
  if (s.empty() || s.size() > 10) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

std::optional<redis_endpoint> refuse(std::string* error, std::string why) {
  if (error) *error = std::move(why);
  return std::nullopt;
}

}  // namespace

std::string redis_endpoint::display() const {
  std::string out = "redis://";
  if (!user.empty()) out += user + "@";
  if (host.find(':') != std::string::npos)
    out += "[" + host + "]";
  else
    out += host;
  out += ":" + std::to_string(port);
  if (db != 0) out += "/" + std::to_string(db);
  return out;
}

std::optional<redis_endpoint> parse_redis_url(std::string_view url, std::string* error) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos)
    return refuse(error, "not a Redis URL (expected redis://[[user]:password@]host[:port][/db])");
  auto scheme = url.substr(0, scheme_end);
  if (iequals(scheme, "rediss"))
    return refuse(error, "rediss:// (Redis over TLS) is not supported: use redis:// on a trusted network");
  if (!iequals(scheme, "redis"))
    return refuse(error, "unsupported scheme \"" + std::string(scheme) + "://\" (only redis:// is supported)");
  std::string_view rest = url.substr(scheme_end + 3);
  if (rest.find_first_of("?#") != std::string_view::npos)
    return refuse(error, "query strings and fragments are not supported in a Redis URL");

  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  if (path.find('@') != std::string_view::npos)
    return refuse(error, "'@' after the host: percent-encode '/' and '@' in the user and password (%2F, %40)");

  redis_endpoint ep;
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    auto colon = userinfo.find(':');
    if (colon == std::string_view::npos)
      return refuse(error, "a user without a password: write redis://:password@host or redis://user:password@host");
    auto user = percent_decode(userinfo.substr(0, colon));
    auto password = percent_decode(userinfo.substr(colon + 1));
    if (!user || !password) return refuse(error, "a malformed %-escape in the user or password");
    if (password->empty()) return refuse(error, "an empty password");
    ep.user = std::move(*user);
    ep.password = std::move(*password);
  }

  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return refuse(error, "an IPv6 host without its closing ']'");
    ep.host = std::string(authority.substr(1, close - 1));
    in6_addr parsed{};
    if (::inet_pton(AF_INET6, ep.host.c_str(), &parsed) != 1) return refuse(error, "\"" + ep.host + "\" is not an IPv6 address");
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return refuse(error, "unexpected text after the IPv6 host");
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    if (std::count(authority.begin(), authority.end(), ':') > 1)
      return refuse(error, "an IPv6 address goes in brackets: redis://[::1]:6379");
    auto colon = authority.find(':');
    ep.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    if (!std::all_of(ep.host.begin(), ep.host.end(), is_name_char))
      return refuse(error, "\"" + ep.host + "\" is not a host name or address (an IPv6 address goes in brackets)");
  }
  if (ep.host.empty()) return refuse(error, "no host in the Redis URL");
  if (has_port) {
    unsigned port = 0;
    if (!parse_decimal(port_text, port) || port == 0 || port > std::numeric_limits<std::uint16_t>::max())
      return refuse(error, "\"" + std::string(port_text) + "\" is not a port (1-65535)");
    ep.port = static_cast<std::uint16_t>(port);
  }

  if (!path.empty()) {
    int db = 0;
    if (!parse_decimal(path, db) || db < 0)
      return refuse(error, "\"/" + std::string(path) + "\" is not a database number (/0, /1, ...)");
    ep.db = db;
  }
  return ep;
}

}  // namespace hub
