// HTTP requests up to the router: Beast's request parser with the server's limits, fed
// as http_session feeds it (headers first, then our framing checks, then the body;
// keep-alive requests one after another on the same bytes), and what dispatch() does
// with a parsed request before it picks a route: path and query (parse_query), header
// names, the WebSocket upgrade test, the route prefixes (path_matches). The routing
// itself (engines, handlers) lives in http_session with actors behind it and is not
// run here. Byte 0 sets how the rest is cut into reads. Invariants: a body within the
// limit and as long as Content-Length says; the same outcomes whatever the cuts (up to
// where the input runs out); no crash, leak or UB anywhere.
#include "fuzz/check.hpp"
#include "net/http/request_rules.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <cctype>
#include <charconv>
#include <cstring>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

constexpr std::size_t header_limit = 16 * 1024;  // as http_server.cpp
constexpr std::size_t max_body = 4096;           // small, to reach the 413 path
constexpr int max_requests = 8;                  // on one keep-alive connection

// What the server makes of one request: the outcome and, for a parsed one, the route.
struct outcome {
  int status = 0;  // 0: dispatched; 400 / 413: refused; -1: connection dropped
  std::string method, path, body;
  std::map<std::string, std::string> query, headers;
  bool upgrade = false, engine = false, keep_alive = false;
  bool operator==(const outcome&) const = default;
};

// The client's bytes, handed out in reads of 1..max_read bytes (0: all at once).
struct socket_reads {
  std::string_view rest;
  std::uint32_t state;
  std::size_t max_read;
  std::string_view read() {
    state = state * 1664525u + 1013904223u;
    const std::size_t n =
      max_read == 0 ? rest.size() : std::min<std::size_t>(rest.size(), 1 + (state >> 16) % max_read);
    auto piece = rest.substr(0, n);
    rest.remove_prefix(n);
    return piece;
  }
};

// Parses until the parser's phase ends (header done, or message done); as Beast's read
// loop: put() what is buffered, read more on need_more, put_eof() at the end.
beast::error_code pump(bhttp::request_parser<bhttp::string_body>& parser, beast::flat_buffer& buffer, socket_reads& in,
                       bool header_only) {
  for (;;) {
    if (header_only ? parser.is_header_done() : parser.is_done()) return {};
    beast::error_code ec;
    if (buffer.size() > 0) {
      const std::size_t used = parser.put(buffer.data(), ec);
      FUZZ_CHECK(used <= buffer.size() && (used > 0 || ec));
      buffer.consume(used);
      if (!ec) continue;
      if (ec != bhttp::error::need_more) return ec;
    }
    if (in.rest.empty()) {
      if (!parser.got_some()) return bhttp::error::end_of_stream;
      parser.put_eof(ec);
      if (ec) return ec;
      continue;
    }
    auto piece = in.read();
    auto space = buffer.prepare(piece.size());
    std::memcpy(space.data(), piece.data(), piece.size());
    buffer.commit(piece.size());
  }
}

std::vector<outcome> serve(std::string_view bytes, std::size_t max_read) {
  std::vector<outcome> out;
  socket_reads in{bytes, static_cast<std::uint32_t>(max_read) * 2654435761u + 1, max_read};
  beast::flat_buffer buffer;
  for (int i = 0; i < max_requests; ++i) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(max_body);
    parser.eager(false);
    outcome o;
    auto ec = pump(parser, buffer, in, true);
    if (ec == bhttp::error::end_of_stream) break;  // idle keep-alive: closed
    if (!ec) {
      if (hub::http::framing_error(parser.get())) {
        o.status = 400;
        out.push_back(o);
        break;
      }
      parser.eager(true);
      ec = pump(parser, buffer, in, false);
    }
    if (ec) {
      o.status = ec == bhttp::error::body_limit ? 413 : hub::http::is_framing_error(ec) ? 400 : -1;
      out.push_back(o);
      break;
    }
    auto req = parser.release();
    FUZZ_CHECK(req.body().size() <= max_body);
    if (auto length = req.find(bhttp::field::content_length); length != req.end()) {
      // Beast takes only digits here (leading zeros too: "03" is 3).
      const auto v = length->value();
      std::uint64_t n = 0;
      const auto [end, err] = std::from_chars(v.data(), v.data() + v.size(), n);
      FUZZ_CHECK(err == std::errc{} && end == v.data() + v.size() && n == req.body().size());
    }
    // As http_session::dispatch, up to choosing a route.
    o.method = std::string(req.method_string());
    std::string target(req.target());
    auto q = target.find('?');
    o.path = target.substr(0, q);
    if (q != std::string::npos) o.query = hub::http::parse_query(std::string_view(target).substr(q + 1));
    for (const auto& f : req) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      o.headers[name] = std::string(f.value());
    }
    o.upgrade = beast::websocket::is_upgrade(req);
    o.engine = hub::http::path_matches(o.path, "/socket.io/");
    o.keep_alive = req.keep_alive();
    o.body = std::move(req.body());
    out.push_back(std::move(o));
    if (!out.back().keep_alive) break;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto whole = serve(bytes, 0);
  const auto cut = serve(bytes, 1 + data[0]);
  // Beast may refuse a bad start line at once when it has the bytes, or wait for the end
  // of the header when they come one by one; when the input ends first the connection
  // is just dropped (-1). Up to that point the outcomes match.
  for (std::size_t i = 0; i < std::min(whole.size(), cut.size()); ++i) {
    if (whole[i].status == -1 || cut[i].status == -1) break;
    FUZZ_CHECK(whole[i] == cut[i]);
  }
  return 0;
}
