// The HTTP/1.1 listener on Boost.Beast: accepts connections, reads requests, and
// routes them to the Engine.IO engines (by path prefix) or to plain HTTP handlers.
// Beast lives only in this folder's translation units.
#pragma once

#include "net/http/connection_limits.hpp"
#include "net/transport/engine.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hub::http {

// A plain HTTP route: returns false to decline the request; otherwise it answers it
// through the responder, now or later (thread-safe).
using handler = std::function<bool(const eio::request_info&, const eio::responder_ptr&)>;

struct route_table {
  // Tried in order before the engines: files that live under an engine's prefix, such
  // as /socket.io/socket.io.js (Node serves the client bundle there too).
  std::vector<handler> before_engines;
  // Path prefixes such as "/socket.io/"; matched with or without the trailing slash.
  std::vector<std::pair<std::string, eio::engine*>> engines;
  std::vector<handler> handlers;  // tried in order after the engines
};

// What one client may hold of the listener (docs/operations.md, "Limits").
struct http_limits {
  connection_caps connections;
  // From the moment the server waits for a request until its headers are complete: an
  // idle keep-alive connection is closed then, a half-sent request gets 408.
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{60000};  // the rest of a request, once its headers are in
  std::size_t max_handshakes_per_connection = 8;  // Engine.IO sessions opened over one keep-alive connection
};

class http_server {
 public:
  http_server(boost::asio::io_context& ioc, route_table routes, std::size_t max_body, http_limits limits = {});
  ~http_server();

  // Binds and starts accepting. Throws with a clear message when the address is taken.
  void listen(const std::string& host, std::uint16_t port);
  std::uint16_t port() const;
  // Stops accepting new connections (existing ones go on until their sessions end).
  void stop_accepting();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace hub::http
