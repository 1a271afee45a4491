// hub-server's command line.
#pragma once

#include "apps/hub/hub_app.hpp"
#include "net/http/http_server.hpp"
#include "protocol/json_limits.hpp"
#include "net/transport/engine.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace hub {

struct server_options {
  std::string app = "hub";
  std::string host = "0.0.0.0";
  std::uint16_t port = 3000;
  // --metrics-listen HOST:PORT: /metrics (and /healthz) on a listener of their own, and
  // no longer on the public one. Empty host: off.
  std::string metrics_host;
  std::uint16_t metrics_port = 0;
  eio::engine_config engine;
  std::chrono::milliseconds connect_timeout{45000};
  http::http_limits http;
  json_limits json;
  std::size_t max_preconnect_bytes = 8 * 1024;
  std::size_t max_pending_acks = 256;  // client events awaiting our ack, per socket
  std::vector<std::string> cors_origins;
  std::string scheduler = "sharing";  // CAF policy: sharing | stealing
  std::size_t workers = 2;            // CAF worker threads
  std::size_t io_threads = 1;         // Asio threads
  std::string log_level = "info";
  std::string web_root;     // the demo page and socket.io-client; empty: found next to the executable
  std::string record_path;  // --record: inbound traffic for hub-sim --replay
  // --redis redis://[[user]:password@]host:port[/db] (env REDIS_URL): other nodes through
  // Redis on the wire of @socket.io/redis-adapter (docs/cluster.md). Empty: one node.
  std::string redis_url;
  std::string redis_key_prefix = "socket.io";  // the adapter's `key` option
  std::chrono::milliseconds redis_requests_timeout{5000};  // the adapter's requestsTimeout
  // --app hub
  std::string data_dir = "./data";
  std::chrono::milliseconds recovery_window = sio::recovery_config::default_window;  // 0: recovery off
  app::hub_config hub;
};

// Parses argv; on --help or an error prints and exits the process.
server_options parse_server_options(int argc, char** argv);

}  // namespace hub
