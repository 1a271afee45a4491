// The Engine.IO server for one path (/socket.io/ or /engine.io/): validates requests
// (protocol.md §1.9, in Node's order), performs handshakes and routes each request to
// its session. Knows nothing of Socket.IO: the session factory (seam.hpp) supplies
// what each session's messages go to.
#pragma once

#include "net/transport/engine_types.hpp"
#include "net/transport/eio_session.hpp"
#include "net/transport/session_table.hpp"
#include "net/transport/write_coalescer.hpp"

#include <functional>
#include <memory>
#include <variant>

namespace hub::eio {

struct cors_config {
  std::vector<std::string> origins;  // empty: CORS off; "*": any origin
  bool credentials = true;
  bool enabled() const { return !origins.empty(); }
};

class engine {
 public:
  engine(boost::asio::io_context& ioc, engine_config cfg, cors_config cors, session_factory f);

  // A plain HTTP request under this engine's path. The reply goes through `r`, maybe
  // much later (a long-poll). Returns the session when `r` is a held poll, so that the
  // caller can report its client going away.
  session_ptr handle_http(request_info&& req, const responder_ptr& r);

  // A WebSocket upgrade request: either a refusal (sent before the 101) or a plan.
  struct ws_plan {
    session_ptr existing;  // set for an upgrade of a polling session
    std::shared_ptr<const handshake> hs;
  };
  std::variant<http_reply, ws_plan> check_websocket(const request_info& req);
  // After the WebSocket handshake completed: returns the session its frames go to.
  session_ptr attach_websocket(ws_plan plan, const ws_link_ptr& link);

  // Adds CORS headers for this request's Origin, if configured.
  void add_cors_headers(const request_info& req, http_reply& reply) const;

  const engine_config& config() const { return cfg_; }
  session_table& sessions() { return table_; }
  write_coalescer& coalescer() { return coalescer_; }
  void shutdown();  // every session ends as "server shutting down"

 private:
  std::optional<http_reply> validate(const request_info& req, session_ptr& session) const;
  session_ptr create_session(std::shared_ptr<const handshake> hs);
  std::shared_ptr<const handshake> make_handshake(const request_info& req) const;

  boost::asio::io_context& ioc_;
  engine_config cfg_;
  cors_config cors_;
  session_factory factory_;
  session_table table_;
  write_coalescer coalescer_;
};

}  // namespace hub::eio
