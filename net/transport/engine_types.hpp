// Plain types of the Engine.IO transport shared with the HTTP layer. No Beast here, so
// that the transport logic compiles without Beast's heavy headers.
#pragma once

#include "net/http/http_types.hpp"
#include "net/transport/seam.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace hub::eio {

struct engine_config {
  std::chrono::milliseconds ping_interval{25000};
  std::chrono::milliseconds ping_timeout{20000};
  std::chrono::milliseconds upgrade_timeout{10000};
  std::size_t max_payload = 1000000;     // maxHttpBufferSize
  std::size_t max_send_queue = 1 << 20;  // bytes queued per session before it is dropped
  // Client messages handed to the session's actor and not yet handled. Past it the
  // session stops reading its WebSocket (and holds a polling POST's "ok") until the
  // actor is down to half: backpressure instead of an unbounded mailbox.
  std::size_t max_inbound_queue = 1024;
  bool allow_upgrades = true;
  // Longest a WebSocket frame waits so that it shares a write with later ones; only
  // used while the process is busy (write_coalescer.hpp). 0: never wait.
  std::chrono::milliseconds max_write_delay{20};
};

// The plain HTTP types live with the HTTP layer; the transport speaks them too.
using http::http_reply;
using http::request_info;
using http::responder;
using http::responder_ptr;

// A WebSocket as the transport sees it. Implemented on Beast in net/http.
class ws_link {
 public:
  virtual ~ws_link() = default;
  virtual void send(outbound packet) = 0;        // text frame then binary frames
  virtual void send_text(std::string text) = 0;  // one text frame
  virtual void close() = 0;                      // close frame after the queue drains
  // Stops (true) or resumes (false) reading client frames; thread-safe. Backpressure
  // while the session's actor is behind (engine_config::max_inbound_queue).
  virtual void pause_reading(bool paused) { (void)paused; }
};
using ws_link_ptr = std::shared_ptr<ws_link>;

// Engine.IO's JSON error replies (protocol.md §1.9).
enum class error_code {
  unknown_transport = 0,
  unknown_sid = 1,
  bad_handshake_method = 2,
  bad_request = 3,
  forbidden = 4,
  unsupported_protocol_version = 5
};
http_reply error_reply(error_code code);

}  // namespace hub::eio
