// hub-load's command line.
#pragma once

#include "load/client.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hub::load {

enum class scenario { idle, chat, storm, notify };

struct options {
  scenario what = scenario::chat;
  target server;
  // Every server the clients are spread over (--url, repeatable; without it just
  // `server`): a chat or storm client goes to servers[its slot in its room % size], so
  // every room is split over the servers in these proportions (a repeated URL gets a
  // larger share); idle and notify clients to servers[index % size]. notify POSTs to
  // servers[0].
  std::vector<target> servers;
  // chat, storm: only clients of these entries of `servers` send (--senders-url);
  // empty: every client.
  std::vector<bool> sender_servers;
  transport tr = transport::websocket;
  std::size_t clients = 100;
  std::size_t rooms = 10;
  double rate = 100;         // messages (or notifications) per second, in total
  std::size_t payload = 64;  // bytes of message content
  std::chrono::milliseconds duration{10000};
  std::chrono::milliseconds warmup{1000};
  std::chrono::milliseconds drain{3000};
  std::chrono::milliseconds hold{3000};    // idle: how long connections are held
  std::chrono::milliseconds settle{1000};  // idle: wait before reading the server's RSS
  std::chrono::milliseconds connect_timeout{120000};
  std::chrono::milliseconds max_run{600000};  // hard bound on the whole run
  std::size_t connect_concurrency = 256;
  std::vector<int> server_pids;  // RSS and CPU: the sum over these processes
  std::string jwt_secret;        // empty: development auth {userId, userName}
  std::string api_key;           // notify: Authorization: Bearer <key>
  std::string notify_path = "/api/notifications";
  std::size_t http_connections = 4;
  double storm_fraction = 0.2;
  std::string user_prefix = "load";
  std::size_t threads = 1;
  // Step search (chat): rates from search_start, times search_factor, until a step has
  // p99 >= p99_limit, loss or a disconnect.
  bool search = false;
  double search_start = 500;
  double search_factor = 1.25;
  double search_max = 1e6;
  std::size_t search_retries = 1;  // a failing step is tried again this many times
  std::chrono::milliseconds p99_limit{100};
  std::string out_dir;
  bool progress = true;
};

// Parses argv; exits with a usage message on errors (and refuses non-loopback targets).
options parse_options(int argc, char** argv);

const char* to_string(scenario s);
const char* to_string(transport t);

}  // namespace hub::load
