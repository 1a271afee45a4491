// hub-server: the production server process.
#include "storage/keys.hpp"
#include "storage/redis_store.hpp"
#include "storage/storage_actor.hpp"
#include "storage/store.hpp"
#include "apps/echo/echo_app.hpp"
#include "apps/hub/dev_token.hpp"
#include "apps/hub/hub_app.hpp"
#include "net/http/http_server.hpp"
#include "apps/hub/log_feed.hpp"
#include "net/redis/redis_link.hpp"
#include "server/health_endpoint.hpp"
#include "server/metrics_endpoint.hpp"
#include "server/server_options.hpp"
#include "server/web_routes.hpp"
#include "server/traffic_recorder.hpp"
#include "util/log.hpp"
#include "util/metrics.hpp"
#include "util/random_id.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <caf/all.hpp>

#include <sys/resource.h>

#include <csignal>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

namespace {

// Names this data directory's lifetime in recovery offsets: a wiped directory gets a
// new epoch, so offsets from before are recognised as foreign rather than misread.
std::string data_epoch(hub::storage::engine& db) {
  static const std::string key = hub::keys::epoch();
  if (auto e = db.get(key)) return *e;
  std::string epoch = hub::random_id().substr(0, 8);
  db.put(key, epoch);
  return epoch;
}

// Development mode's signing secret when JWT_SECRET is unset: kept in the data directory,
// so that tokens handed out by /dev/token still verify after a restart (open pages
// reconnect and recover instead of failing authentication).
std::string dev_secret(hub::storage::engine& db) {
  static const std::string key = hub::keys::dev_jwt_secret();
  if (auto s = db.get(key)) return *s;
  std::string secret = hub::random_id() + hub::random_id();
  db.put(key, secret);
  return secret;
}

// Raises the soft descriptor limit to the hard one, and keeps --max-connections below
// it (with room for RocksDB's files and the listener), so that the connection cap, not
// EMFILE, is what a flood meets.
std::size_t within_descriptor_limit(std::size_t wanted) {
  constexpr rlim_t reserve = 256;
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return wanted;
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur <= reserve) return wanted;
  const auto fit = static_cast<std::size_t>(lim.rlim_cur - reserve);
  if (wanted > fit) {
    hub::log::info("--max-connections ", wanted, " lowered to ", fit, " (descriptor limit ", lim.rlim_cur, ")");
    return fit;
  }
  return wanted;
}

// The storage actor's counters, read by /healthz without a round trip through its mailbox.
hub::storage::storage_stats_ptr storage_stats_of(caf::actor_system& sys, const hub::storage::storage_actor& storage) {
  hub::storage::storage_stats_ptr stats;
  caf::scoped_actor self{sys};
  self->request(storage, std::chrono::seconds(10), hub::storage::stats_atom::value)
    .receive([&](hub::storage::storage_stats_ptr p) { stats = std::move(p); },
             [&](caf::error& e) { hub::log::warn("storage stats unavailable: ", sys.render(e)); });
  return stats;
}

// Time given to close frames and final polls to reach clients on shutdown.
constexpr std::chrono::milliseconds shutdown_grace{500};

}  // namespace

int main(int argc, char** argv) {
  using namespace hub;
  server_options opt = parse_server_options(argc, argv);
  log::level lvl;
  log::parse_level(opt.log_level, lvl);
  log::set_level(lvl);

  // The actor system outlives the io_context: sessions tell their actors when they die.
  caf::actor_system_config cfg;
  cfg.set("scheduler.policy", opt.scheduler == "stealing" ? caf::atom("stealing") : caf::atom("sharing"));
  cfg.set("scheduler.max-threads", opt.workers);
  caf::actor_system sys{cfg};

  // Checks that need no network: refuse to start rather than run insecurely.
  if (opt.app == "hub" && opt.hub.jwt_secret.empty() && !opt.hub.dev_auth) {
    log::error(
      "JWT_SECRET is not set. Set it to the secret Project Hub's backend signs tokens with, "
      "or start with --dev-auth (HUB_DEV_AUTH=1) for development without tokens.");
    return 2;
  }
  if (opt.app == "hub" && opt.hub.dev_auth && !opt.hub.jwt_secret.empty()) {
    // Development mode signs a token for anyone who asks (/api/dev/token): with the
    // production secret those tokens would be good on the production server too.
    log::error(
      "--dev-auth (HUB_DEV_AUTH) with JWT_SECRET set: development mode mints tokens for anyone "
      "and will not sign them with a production secret. Unset JWT_SECRET for development "
      "(a development secret is kept in the data directory), or drop --dev-auth.");
    return 2;
  }
  if (opt.app == "hub" && !opt.hub.jwt_secret.empty() && opt.hub.jwt_secret.size() < app::min_jwt_secret_bytes) {
    log::error("JWT_SECRET is ", opt.hub.jwt_secret.size(), " bytes; HS256 needs at least ", app::min_jwt_secret_bytes,
               ", better ", app::recommended_jwt_secret_bytes, " (e.g. openssl rand -hex 32).");
    return 2;
  }
  if (opt.app == "hub" && !opt.hub.jwt_secret.empty() && opt.hub.jwt_secret.size() < app::recommended_jwt_secret_bytes)
    log::warn("JWT_SECRET is ", opt.hub.jwt_secret.size(), " bytes; RFC 7518 asks for at least ",
              app::recommended_jwt_secret_bytes, " for HS256 (e.g. openssl rand -hex 32): rotate it.");

  // A write past RLIMIT_FSIZE must fail with EFBIG (a storage error the server reports
  // and recovers from), not kill the process with SIGXFSZ.
  std::signal(SIGXFSZ, SIG_IGN);

  int status = 0;
  {
    boost::asio::io_context ioc{static_cast<int>(opt.io_threads)};
    sio::server_config scfg;
    scfg.connect_timeout = opt.connect_timeout;
    scfg.payload_limits = opt.json;
    scfg.max_preconnect_bytes = opt.max_preconnect_bytes;
    scfg.max_pending_acks = opt.max_pending_acks;

    // This node's id in the cluster: the adapter's uid, and the writer of its records.
    const std::string node_uid = random_id().substr(0, 6);
    std::optional<redis_endpoint> redis_at;
    if (!opt.redis_url.empty()) {
      std::string error;
      redis_at = parse_redis_url(opt.redis_url, &error);
      if (!redis_at) {
        log::error("--redis / REDIS_URL: ", error);
        return 2;
      }
    }
    std::shared_ptr<storage::engine> db;
    storage::storage_actor storage_actor;
    storage::storage_stats_ptr storage_stats;
    if (opt.app == "hub" && redis_at) {
      // A cluster: every node stores into the shared Redis, and its appends are
      // published for the other nodes' room actors (docs/cluster.md, "Durable state").
      try {
        storage::redis_store_options so;
        so.endpoint = *redis_at;
        so.key_prefix = opt.redis_key_prefix;
        so.publish_prefix = app::log_feed_prefix(opt.redis_key_prefix);
        db = std::make_shared<storage::redis_store>(std::move(so));
        opt.hub.shared_log_prefix = opt.redis_key_prefix;
      } catch (const std::exception& e) {
        log::error("cannot reach the cluster's Redis for storage: ", e.what());
        return 1;
      }
      log::info("storage: ", db->describe(), " (shared by the cluster)");
    } else if (opt.app == "hub") {
      try {
        std::filesystem::create_directories(opt.data_dir);
        db = std::make_shared<storage::store>(opt.data_dir);
      } catch (const std::exception& e) {
        log::error("cannot open data directory: ", e.what());
        return 1;
      }
    }
    if (db) {
      // Detached: an fsync (or a Redis round trip) must never block a CAF worker.
      storage_actor = spawn_storage_actor(sys, db, true);
      storage_stats = storage_stats_of(sys, storage_actor);
      if (opt.recovery_window.count() > 0) {
        sio::recovery_config rc;
        rc.window = opt.recovery_window;
        rc.storage = storage_actor;
        rc.epoch = data_epoch(*db);
        // In a cluster, records name their node, whose heartbeat tells a dead node from
        // a live one (recovery_config::node).
        if (redis_at) rc.node = node_uid;
        scfg.recovery = rc;
      }
    }
    // --redis: the link to the other nodes (docs/cluster.md). Its connections run on
    // this io_context; the adapter on top of it is an actor of the Socket.IO server.
    pubsub_link_ptr redis;
    if (redis_at) {
      redis_link_options ro;
      ro.endpoint = *redis_at;
      redis = make_redis_link(ioc, std::move(ro));
      scfg.cluster.link = redis;
      scfg.cluster.uid = node_uid;
      scfg.cluster.prefix = opt.redis_key_prefix;
      scfg.cluster.requests_timeout = opt.redis_requests_timeout;
      scfg.cluster.limits = opt.json;
    }
    sio::server srv(sys, scfg);
    std::unique_ptr<app::hub_app> hub;
    if (opt.app == "hub") {
      if (opt.hub.dev_auth) {
        opt.hub.jwt_secret = dev_secret(*db);  // never JWT_SECRET: refused above
        log::warn(
          "DEVELOPMENT MODE (--dev-auth): clients may connect as any user with "
          "{userId, userName} or no auth at all, and may join every project. "
          "Never use this in production.");
      }
      hub = std::make_unique<app::hub_app>(srv, opt.hub, storage_actor);
      if (!hub->load_revocations()) return 1;
      hub->install();
    } else {
      apps::install_echo(srv);
    }
    srv.start();  // every namespace is defined: join the cluster
    // A cluster's hub node beats (keys::node_heartbeat): other nodes tell from it that this
    // one died, for its sessions' recovery and its users' presence.
    caf::actor heartbeat;
    if (redis_at && storage_actor) {
      sio::recovery_config beat = scfg.recovery.value_or(sio::recovery_config{});
      beat.storage = storage_actor;
      beat.node = node_uid;
      heartbeat = sio::spawn_node_heartbeat(sys, beat);
    }

    eio::cors_config cors{opt.cors_origins, true};
    std::shared_ptr<traffic_recorder> recorder;
    if (!opt.record_path.empty()) recorder = std::make_shared<traffic_recorder>(opt.record_path);
    eio::engine socketio(
      ioc, opt.engine, cors, [&srv, &sys, recorder](outlet_weak out, std::shared_ptr<const handshake> hs) {
        if (!recorder) return srv.open_session(std::move(out), std::move(hs));
        auto conn = srv.spawn_connection(std::move(out), hs);
        return session_handler_ptr(std::make_shared<actor_session>(recorder->wrap(sys, std::move(conn), *hs)));
      });
    eio::engine engineio(ioc, opt.engine, cors, [&sys](outlet_weak out, std::shared_ptr<const handshake>) {
      return session_handler_ptr(std::make_shared<actor_session>(apps::spawn_engine_echo(sys, std::move(out))));
    });

    http::route_table routes;
    routes.engines.emplace_back("/socket.io/", &socketio);
    if (opt.app == "echo") routes.engines.emplace_back("/engine.io/", &engineio);
    auto healthz = [storage_stats, redis](const http::request_info& req, const http::responder_ptr& r) {
      return serve_healthz(req, r, storage_stats.get(), redis.get());
    };
    metrics_sources msrc{&sys, {&socketio, &engineio}, storage_actor, nullptr};
    if (hub) msrc.chat_rooms = [&hub] { return hub->room_count(); };
    auto metrics_route = [msrc](const http::request_info& req, const http::responder_ptr& r) {
      return serve_metrics(req, r, msrc);
    };
    // Load balancers probe /healthz on the public address; /metrics tells how the server
    // is doing under attack, so it can move to an address of its own.
    const bool metrics_apart = !opt.metrics_host.empty();
    routes.handlers.emplace_back(healthz);
    if (!metrics_apart) routes.handlers.emplace_back(metrics_route);
    if (hub)
      routes.handlers.emplace_back(
        [&hub](const http::request_info& req, const http::responder_ptr& r) { return hub->handle_http(req, r); });
    // Signed tokens for the demo page; the path does not exist outside development mode.
    if (hub && opt.hub.dev_auth)
      routes.handlers.emplace_back([&hub](const http::request_info& req, const http::responder_ptr& r) {
        return app::handle_dev_token(hub->auth(), req, r);
      });
    // Last: the page's files never shadow an API path.
    add_web_routes(routes, resolve_web_root(opt.web_root));

    opt.http.connections.max_total = within_descriptor_limit(opt.http.connections.max_total);
    http::http_server server(ioc, std::move(routes), opt.engine.max_payload, opt.http);
    try {
      server.listen(opt.host, opt.port);
    } catch (const std::exception& e) {
      log::error(e.what());
      return 1;
    }
    std::unique_ptr<http::http_server> metrics_server;
    if (metrics_apart) {
      http::route_table mroutes;
      mroutes.handlers.emplace_back(healthz);
      mroutes.handlers.emplace_back(metrics_route);
      metrics_server = std::make_unique<http::http_server>(ioc, std::move(mroutes), 4096, opt.http);
      try {
        metrics_server->listen(opt.metrics_host, opt.metrics_port);
      } catch (const std::exception& e) {
        log::error("--metrics-listen: ", e.what());
        return 1;
      }
      std::cout << "metrics on http://" << opt.metrics_host << ":" << metrics_server->port() << std::endl;
    }
    std::cout << "listening on http://" << opt.host << ":" << server.port() << std::endl;
    log::info("app '", opt.app, "', CAF scheduler ", opt.scheduler, " with ", opt.workers, " workers, ", opt.io_threads,
              " io threads", opt.app == "hub" ? ", data in " + opt.data_dir : std::string{});

    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    boost::asio::steady_timer grace(ioc);
    signals.async_wait([&](boost::system::error_code ec, int sig) {
      if (ec) return;
      log::info("signal ", sig, ": shutting down");
      server.stop_accepting();
      if (metrics_server) metrics_server->stop_accepting();
      socketio.shutdown();
      engineio.shutdown();
      grace.expires_after(shutdown_grace);
      grace.async_wait([&ioc](boost::system::error_code) { ioc.stop(); });
    });

    // A completion handler that throws unwinds out of run(); that connection's handler is
    // gone (and with it the connection), everyone else's goes on (Asio's documented
    // pattern: run() may be called again after an exception).
    auto run_io = [&ioc] {
      for (;;) {
        try {
          ioc.run();
          return;
        } catch (const std::exception& e) {
          metrics::refused(metrics::refusal::io_exception);
          log::warn("network handler failed: ", e.what());
        } catch (...) {
          metrics::refused(metrics::refusal::io_exception);
          log::warn("network handler failed");
        }
      }
    };
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < opt.io_threads; ++i) threads.emplace_back(run_io);
    run_io();
    for (auto& t : threads) t.join();
    if (hub) hub->shutdown();
    if (heartbeat) caf::anon_send_exit(heartbeat, caf::exit_reason::user_shutdown);
    // Behind any appends still queued: they are committed first.
    if (storage_actor) caf::anon_send_exit(storage_actor, caf::exit_reason::user_shutdown);
    storage_actor = nullptr;
    log::info("stopped");
  }
  return status;
}
