#include "load/options.hpp"

#include "util/cli_duration.hpp"
#include "util/duration.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address_v4.hpp>

#include <iostream>

namespace hub::load {

const char* to_string(scenario s) {
  switch (s) {
    case scenario::idle: return "idle";
    case scenario::chat: return "chat";
    case scenario::storm: return "storm";
    case scenario::notify: return "notify";
  }
  return "?";
}

const char* to_string(transport t) {
  switch (t) {
    case transport::websocket: return "websocket";
    case transport::polling: return "polling";
    case transport::upgrade: return "upgrade";
  }
  return "?";
}

options parse_options(int argc, char** argv) {
  options o;
  std::string what = "chat", tr = "websocket";
  bool no_progress = false;
  CLI::App app{"hub-load: virtual Socket.IO clients over real sockets against a hub server (loopback only)"};
  app.add_option("scenario", what, "idle, chat, storm or notify")
    ->check(CLI::IsMember({"idle", "chat", "storm", "notify"}))
    ->capture_default_str();
  app.add_option("--host", o.server.host, "Server address (IPv4 in 127.0.0.0/8)")->capture_default_str();
  app.add_option("--port,-p", o.server.port, "Server port")->capture_default_str();
  app.add_option("--path", o.server.path, "Socket.IO path")->capture_default_str();
  app.add_option("--transport,-t", tr, "websocket, polling, or upgrade (polling then WebSocket)")
    ->check(CLI::IsMember({"websocket", "polling", "upgrade"}))
    ->capture_default_str();
  app.add_option("--clients,-n", o.clients, "Virtual clients")
    ->capture_default_str()
    ->check(CLI::Range(std::size_t{1}, std::size_t{200000}));
  app.add_option("--rooms,-r", o.rooms, "Chat rooms (clients spread round-robin)")
    ->capture_default_str()
    ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  app.add_option("--rate", o.rate, "Messages (chat, storm) or notifications (notify) per second, total")
    ->capture_default_str()
    ->check(CLI::Range(0.0, 1e7));
  app.add_option("--payload", o.payload, "Message content bytes")
    ->capture_default_str()
    ->check(CLI::Range(std::size_t{32}, std::size_t{1} << 20));
  add_duration(app, "--duration,-d", o.duration, "Measured sending time");
  add_duration(app, "--warmup", o.warmup, "Sending before measuring");
  add_duration(app, "--drain", o.drain, "Longest wait for outstanding deliveries after sending");
  add_duration(app, "--hold", o.hold, "idle: how long connections are held");
  add_duration(app, "--settle", o.settle, "idle: wait before reading the server's RSS");
  add_duration(app, "--connect-timeout", o.connect_timeout, "Longest time to open all connections");
  add_duration(app, "--max-run", o.max_run, "Hard bound on the whole run");
  app.add_option("--connect-concurrency", o.connect_concurrency, "Handshakes in flight at once")
    ->capture_default_str()
    ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  app.add_option("--server-pid", o.server_pid, "Server PID: RSS and CPU read from /proc/<pid>");
  app.add_option("--jwt-secret", o.jwt_secret,
                 "Mint HS256 tokens (auth {token}); without it auth is {userId, userName}");
  app.add_option("--api-key", o.api_key, "notify: HUB_API_KEY for Authorization: Bearer");
  app.add_option("--notify-path", o.notify_path, "notify: the HTTP endpoint")->capture_default_str();
  app.add_option("--http-connections", o.http_connections, "notify: keep-alive HTTP connections")
    ->capture_default_str()
    ->check(CLI::Range(std::size_t{1}, std::size_t{256}));
  app.add_option("--storm-fraction", o.storm_fraction, "storm: fraction of clients dropped at once")
    ->capture_default_str()
    ->check(CLI::Range(0.0, 1.0));
  app.add_option("--user-prefix", o.user_prefix, "User and room id prefix")->capture_default_str();
  app.add_option("--threads", o.threads, "Network threads (one io_context each)")
    ->capture_default_str()
    ->check(CLI::Range(std::size_t{1}, std::size_t{64}));
  app.add_flag("--search", o.search, "chat: step search for the highest rate with p99 under --p99-limit and no loss");
  app.add_option("--search-start", o.search_start, "First rate of the search")->capture_default_str();
  app.add_option("--search-factor", o.search_factor, "Rate multiplier per step")
    ->capture_default_str()
    ->check(CLI::Range(1.01, 10.0));
  app.add_option("--search-max", o.search_max, "Highest rate tried")->capture_default_str();
  app
    .add_option("--search-retries", o.search_retries,
                "Tries again a failing step this many times (a stray latency spike on a shared machine)")
    ->capture_default_str();
  add_duration(app, "--p99-limit", o.p99_limit, "Search: p99 bound");
  app.add_option("--out", o.out_dir, "Write latency.csv and latency.svg here");
  app.add_flag("--no-progress", no_progress, "No live progress line");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
  o.what = what == "idle"     ? scenario::idle
           : what == "storm"  ? scenario::storm
           : what == "notify" ? scenario::notify
                              : scenario::chat;
  o.tr = tr == "polling" ? transport::polling : tr == "upgrade" ? transport::upgrade : transport::websocket;
  o.progress = !no_progress;
  if (o.server.host == "localhost") o.server.host = "127.0.0.1";
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address_v4(o.server.host, ec);
  if (ec || (addr.to_uint() >> 24) != 127) {
    std::cerr << "hub-load: refusing target " << o.server.host << ": loopback (127.0.0.0/8) only\n";
    std::exit(2);
  }
  return o;
}

}  // namespace hub::load
