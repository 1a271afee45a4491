#include "server/server_options.hpp"

#include "util/cli_duration.hpp"
#include "util/duration.hpp"
#include "util/log.hpp"

#include <CLI/CLI.hpp>

namespace hub {
namespace {

// "10/60s": count per window.
std::optional<rate_limit> parse_rate(const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos || slash == 0) return std::nullopt;
  std::size_t count = 0;
  try {
    std::size_t used = 0;
    count = std::stoul(text.substr(0, slash), &used);
    if (used != slash || count == 0) return std::nullopt;
  } catch (...) {
    return std::nullopt;
  }
  auto window = parse_duration(text.substr(slash + 1));
  if (!window || window->count() <= 0) return std::nullopt;
  return rate_limit{count, *window};
}

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

}  // namespace

server_options parse_server_options(int argc, char** argv) {
  server_options o;
  // The seed's environment first; flags override it.
  if (auto v = env("PORT")) o.port = static_cast<std::uint16_t>(std::atoi(v));
  bool host_given = false;  // development mode listens on loopback unless told otherwise
  if (auto v = env("HOST")) o.host = v, host_given = true;
  if (auto v = env("DATA_DIR")) o.data_dir = v;
  if (auto v = env("NEXT_PUBLIC_APP_URL")) o.cors_origins.push_back(v);
  if (auto v = env("JWT_SECRET")) o.hub.jwt_secret = v;
  if (auto v = env("REDIS_URL")) o.redis_url = v;
  if (auto v = env("HUB_API_KEY")) o.hub.api_key = v;
  if (auto v = env("JWT_AUDIENCE")) o.hub.token.audience = v;
  if (auto v = env("JWT_ISSUER")) o.hub.token.issuer = v;
  if (auto v = env("HUB_DEV_AUTH")) o.hub.dev_auth = std::string(v) == "1" || std::string(v) == "true";
  CLI::App app{"Project Hub Realtime: a Socket.IO 4.x compatible server"};
  app.set_version_flag("--version", "hub-server 0.1.0");
  app.add_option("--app", o.app, "Application: hub (Project Hub chat) or echo (protocol test profile)")
    ->check(CLI::IsMember({"hub", "echo"}))
    ->capture_default_str();
  app.add_option("--host", o.host, "Address to listen on")->capture_default_str();
  app.add_option("--port,-p", o.port, "TCP port (0 picks a free one)")->capture_default_str();
  app
    .add_option_function<std::string>(
      "--metrics-listen",
      [&o](const std::string& text) {
        // HOST:PORT, or PORT alone for 127.0.0.1:PORT.
        const auto colon = text.rfind(':');
        std::string host = colon == std::string::npos ? "127.0.0.1" : text.substr(0, colon);
        std::string port = colon == std::string::npos ? text : text.substr(colon + 1);
        unsigned long value = 0;
        bool ok = !host.empty() && !port.empty() && port.size() <= 5 &&
                  port.find_first_not_of("0123456789") == std::string::npos;
        if (ok) value = std::stoul(port);
        if (!ok || value > 65535)
          throw CLI::ValidationError("--metrics-listen", "'" + text + "' is not HOST:PORT (e.g. 127.0.0.1:9100)");
        o.metrics_host = host;
        o.metrics_port = static_cast<std::uint16_t>(value);
      },
      "Serve /metrics and /healthz on HOST:PORT only (not on the public listener); PORT alone: 127.0.0.1")
    ->type_name("HOST:PORT");
  add_duration(app, "--ping-interval", o.engine.ping_interval, "Engine.IO heartbeat interval");
  add_duration(app, "--ping-timeout", o.engine.ping_timeout, "Time allowed for the client's pong");
  add_duration(app, "--upgrade-timeout", o.engine.upgrade_timeout, "Time allowed to finish a transport upgrade");
  add_duration(app, "--connect-timeout", o.connect_timeout, "Time allowed for a first namespace CONNECT");
  app
    .add_option("--max-payload", o.engine.max_payload,
                "Largest POST body / WebSocket message in bytes (maxHttpBufferSize)")
    ->capture_default_str()
    ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 30));
  app
    .add_option("--max-inbound-queue", o.engine.max_inbound_queue,
                "Client messages waiting for a session's actor; past it the session stops reading "
                "that client until the actor is down to half")
    ->capture_default_str()
    ->check(CLI::Range(std::size_t{2}, std::size_t{1'000'000}));
  app
    .add_option("--max-send-queue", o.engine.max_send_queue,
                "Bytes queued for one client before it is dropped as too slow")
    ->capture_default_str()
    ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 34));
  add_duration(app, "--max-write-delay", o.engine.max_write_delay,
               "Longest a WebSocket frame may wait, while the server is busy, to share one write() "
               "with later frames (0: never wait)");
  app
    .add_option("--max-connections", o.http.connections.max_total,
                "Open TCP connections in total; over it: HTTP 503 / WebSocket close 1013 (also bounded by the "
                "descriptor limit)")
    ->capture_default_str()
    ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
  app
    .add_option("--max-connections-per-address", o.http.connections.max_per_address,
                "Open TCP connections per client address (0: no bound; behind a proxy every client shares one)")
    ->capture_default_str();
  add_duration(app, "--header-timeout", o.http.header_timeout,
               "Time for a request's headers (also how long an idle keep-alive connection stays); 408 after");
  add_duration(app, "--body-timeout", o.http.body_timeout, "Time for a request's body once its headers are in");
  app
    .add_option("--max-sessions-per-connection", o.http.max_handshakes_per_connection,
                "Engine.IO handshakes over one keep-alive connection (429 after)")
    ->capture_default_str()
    ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  app.add_option("--max-json-depth", o.json.max_depth, "Nesting of arrays and objects in any client JSON")
    ->capture_default_str()
    ->check(CLI::Range(std::size_t{2}, std::size_t{512}));
  app.add_option("--max-json-members", o.json.max_object_members, "Keys in any one object of client JSON")
    ->capture_default_str()
    ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  app
    .add_option("--max-preconnect-bytes", o.max_preconnect_bytes,
                "Largest message before a namespace CONNECT succeeded (the handshake auth)")
    ->capture_default_str()
    ->check(CLI::Range(std::size_t{256}, std::size_t{1} << 30));
  app
    .add_option("--max-pending-acks", o.max_pending_acks,
                "Events of one socket awaiting the server's ack; past it an event is answered "
                "{ok:false, error:'too_many_pending_acks'} unhandled")
    ->capture_default_str()
    ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  app
    .add_option("--cors-origin", o.cors_origins,
                "Allowed CORS origin (repeatable or comma-separated; * for any). Off by default")
    ->delimiter(',');
  app.add_option("--scheduler", o.scheduler, "CAF scheduler policy")
    ->check(CLI::IsMember({"sharing", "stealing"}))
    ->capture_default_str();
  app.add_option("--workers", o.workers, "CAF worker threads")->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--io-threads", o.io_threads, "Network (Asio) threads")
    ->capture_default_str()
    ->check(CLI::Range(1, 256));
  app.add_option("--log-level", o.log_level, "debug, info, warn, error or off")
    ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}))
    ->capture_default_str();
  app.add_option("--web-root", o.web_root,
                 "Directory with the demo page (public/) and socket.io-client (node_modules/); "
                 "default: web/ next to the build directory, else ./web");
  app.add_option("--record", o.record_path,
                 "Record every connection's inbound packets (JSON lines) for hub-sim --replay");
  app.add_option("--redis", o.redis_url,
                 "Cluster through Redis: redis://[[user]:password@]host:port[/db] (env REDIS_URL); "
                 "speaks @socket.io/redis-adapter's wire, so Node.js nodes and @socket.io/redis-emitter join in");
  app.add_option("--redis-key-prefix", o.redis_key_prefix, "Channel prefix (the Redis adapter's `key` option)")
    ->capture_default_str();
  add_duration(app, "--redis-requests-timeout", o.redis_requests_timeout,
               "How long a cluster request (fetchSockets, serverSideEmit with ack) waits for every node");
  app.add_option("--data-dir", o.data_dir, "RocksDB data directory (env DATA_DIR)")->capture_default_str();
  app.add_flag("--dev-auth", o.hub.dev_auth,
               "Development mode: accept {userId, userName} or no auth at all (env HUB_DEV_AUTH=1); "
               "listens on 127.0.0.1 unless --host is given; refused with JWT_SECRET set");
  app.add_option_function<std::string>(
    "--jwt-audience", [&o](const std::string& v) { o.hub.token.audience = v; },
    "Require this value in each token's aud claim (env JWT_AUDIENCE)");
  app.add_option_function<std::string>(
    "--jwt-issuer", [&o](const std::string& v) { o.hub.token.issuer = v; },
    "Require this iss claim in each token (env JWT_ISSUER)");
  app
    .add_option_function<std::string>(
      "--jwt-leeway",
      [&o](const std::string& text) {
        auto d = parse_duration(text);
        if (!d || d->count() < 0 || *d > std::chrono::minutes(10))
          throw CLI::ValidationError("--jwt-leeway", "'" + text + "' is not a duration of at most 10m");
        o.hub.token.leeway = std::chrono::duration_cast<std::chrono::seconds>(*d);
      },
      "Clock skew allowed on a token's exp and nbf (default 30s)")
    ->type_name("DURATION");
  app.add_option("--max-content", o.hub.max_content, "Largest chat message content in bytes")
    ->capture_default_str()
    ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  add_duration(app, "--recovery-window", o.recovery_window,
               "How long a disconnected session can be recovered (0 turns recovery off)");
  app.add_option("--retention-count", o.hub.retention_count, "Chat messages kept per room (0: no limit)")
    ->capture_default_str();
  add_duration(app, "--retention-age", o.hub.retention_age, "How long chat messages are kept (0: forever)");
  add_duration(app, "--presence-grace", o.hub.presence_grace,
               "Delay before user-left, so that a reload does not flap (0: at once)");
  add_duration(app, "--typing-timeout", o.hub.typing_timeout, "Typing indicator expiry after the last 'typing'");
  app
    .add_option_function<std::string>(
      "--rate-limit",
      [&o](const std::string& text) {
        auto r = parse_rate(text);
        if (!r) throw CLI::ValidationError("--rate-limit", "'" + text + "' is not COUNT/DURATION (e.g. 10/60s)");
        o.hub.rate = *r;
      },
      "Chat messages per user: COUNT/WINDOW (default 10/60s)")
    ->type_name("RATE");
  // The other client events, a token bucket each per user: COUNT at once, refilled over WINDOW.
  struct event_flag {
    const char* name;
    limited_event kind;
    const char* what;
  };
  static constexpr event_flag event_flags[] = {
    {"--typing-rate", limited_event::typing, "typing and stop-typing"},
    {"--reaction-rate", limited_event::reaction, "react"},
    {"--sync-rate", limited_event::sync, "sync"},
    {"--room-rate", limited_event::rooms, "join-chat-room, join-task-room and their leaves"},
    {"--mark-read-rate", limited_event::mark_read, "mark-read and mark-notifications-read"},
  };
  for (const auto& f : event_flags) {
    auto& slot = o.hub.events[static_cast<std::size_t>(f.kind)];
    app
      .add_option_function<std::string>(
        f.name,
        [&slot, name = f.name](const std::string& text) {
          auto r = parse_rate(text);
          if (!r) throw CLI::ValidationError(name, "'" + text + "' is not COUNT/WINDOW (e.g. 30/10s)");
          slot = *r;
        },
        std::string(f.what) + " per user: COUNT/WINDOW (default " + std::to_string(slot.count) + "/" +
          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(slot.window).count()) + "s)")
      ->type_name("RATE");
  }
  app
    .add_option_function<std::string>(
      "--auth-failure-rate",
      [&o](const std::string& text) {
        auto r = parse_rate(text);
        if (!r) throw CLI::ValidationError("--auth-failure-rate", "'" + text + "' is not COUNT/WINDOW (e.g. 30/10s)");
        o.hub.auth_failures = *r;
      },
      "Failed authentications per source address before its handshakes are refused: COUNT/WINDOW (default 30/10s)")
    ->type_name("RATE");
  app
    .add_option("--max-rooms-per-socket", o.hub.max_rooms_per_socket,
                "Chat and task rooms one socket may be in (each is in its session record)")
    ->capture_default_str()
    ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  app
    .add_option("--max-reactions-per-message", o.hub.max_distinct_reactions,
                "Different emoji on one message (a new one past it: too_many_reactions)")
    ->capture_default_str()
    ->check(CLI::Range(std::size_t{1}, std::size_t{1000}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
  if (o.hub.dev_auth && !host_given && app.count("--host") == 0) o.host = "127.0.0.1";
  return o;
}

}  // namespace hub
