// Plain HTTP request and reply types: what the HTTP server hands to the Engine.IO
// transport and to applications' routes, and what they answer. No Beast here, so that
// code above the network (routes in apps/) compiles without Beast's heavy headers.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace hub::http {

// An HTTP request as the transport and the routes see it.
struct request_info {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // full request target, for the handshake
  std::map<std::string, std::string> query;    // decoded
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string remote_address;
  bool websocket_upgrade = false;
};

struct http_reply {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close_connection = false;
};

// Completes a held HTTP request (a long-poll GET, or a POST). Thread-safe.
class responder {
 public:
  virtual ~responder() = default;
  virtual void reply(http_reply r) = 0;
};
using responder_ptr = std::shared_ptr<responder>;

}  // namespace hub::http
