#include "load/options.hpp"

#include "util/cli_duration.hpp"
#include "util/duration.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address_v4.hpp>

#include <algorithm>
#include <charconv>
#include <iostream>
#include <optional>

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

namespace {

// "http://H:P[/path]", "ws://H:P[/path]" or "H:P[/path]"; without a path (or with "/")
// the --path default.
std::optional<target> parse_url(std::string u, const std::string& default_path) {
  for (std::string_view scheme : {"http://", "ws://"})
    if (u.rfind(scheme, 0) == 0) u.erase(0, scheme.size());
  target t;
  auto slash = u.find('/');
  std::string hostport = u.substr(0, slash);
  t.path = slash == std::string::npos || u.substr(slash) == "/" ? default_path : u.substr(slash);
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  t.host = hostport.substr(0, colon);
  unsigned port = 0;
  auto ps = hostport.substr(colon + 1);
  auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
  if (ec != std::errc() || p != ps.data() + ps.size() || port == 0 || port > 65535) return std::nullopt;
  t.port = static_cast<std::uint16_t>(port);
  return t;
}

bool same_target(const target& a, const target& b) { return a.host == b.host && a.port == b.port && a.path == b.path; }

void require_loopback(std::string& host) {
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address_v4(host, ec);
  if (ec || (addr.to_uint() >> 24) != 127) {
    std::cerr << "hub-load: refusing target " << host << ": loopback (127.0.0.0/8) only\n";
    std::exit(2);
  }
}

}  // namespace

options parse_options(int argc, char** argv) {
  options o;
  std::string what = "chat", tr = "websocket";
  bool no_progress = false;
  std::vector<std::string> urls;
  std::string senders_url;
  CLI::App app{"hub-load: virtual Socket.IO clients over real sockets against a hub server (loopback only)"};
  app.add_option("scenario", what, "idle, chat, storm or notify")
    ->check(CLI::IsMember({"idle", "chat", "storm", "notify"}))
    ->capture_default_str();
  app.add_option("--host", o.server.host, "Server address (IPv4 in 127.0.0.0/8)")->capture_default_str();
  app.add_option("--port,-p", o.server.port, "Server port")->capture_default_str();
  app.add_option("--path", o.server.path, "Socket.IO path")->capture_default_str();
  app
    .add_option("--url", urls,
                "Server URL http://H:P[/path] (repeatable, instead of --host/--port): clients spread "
                "over them round-robin, each room split over them; repeat one for a larger share")
    ->allow_extra_args(false);
  app.add_option("--senders-url", senders_url, "chat, storm: only the clients of this --url send");
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
  app
    .add_option("--server-pid", o.server_pids,
                "Server PID: RSS and CPU read from /proc/<pid> (repeatable: the sum over them)")
    ->allow_extra_args(false);
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
  for (const auto& u : urls) {
    auto t = parse_url(u, o.server.path);
    if (!t) {
      std::cerr << "hub-load: --url " << u << ": expected http://HOST:PORT[/path]\n";
      std::exit(2);
    }
    o.servers.push_back(std::move(*t));
  }
  if (o.servers.empty()) o.servers.push_back(o.server);
  for (auto& t : o.servers) require_loopback(t.host);
  o.server = o.servers.front();
  if (!senders_url.empty()) {
    auto t = parse_url(senders_url, o.server.path);
    if (t) require_loopback(t->host);
    for (const auto& s : o.servers) o.sender_servers.push_back(t && same_target(s, *t));
    if (std::find(o.sender_servers.begin(), o.sender_servers.end(), true) == o.sender_servers.end()) {
      std::cerr << "hub-load: --senders-url " << senders_url << " is none of the --url targets\n";
      std::exit(2);
    }
  }
  return o;
}

}  // namespace hub::load
