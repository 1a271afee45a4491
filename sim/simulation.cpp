#include "sim/simulation.hpp"

#include "apps/hub/hub_messages.hpp"
#include "apps/hub/log_feed.hpp"
#include "storage/keys.hpp"
#include "util/log.hpp"
#include "util/sources.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

namespace hub::sim {
namespace {

// Virtual wall-clock time 0: 2026-01-01T00:00:00Z (fixed, so createdAt is reproducible).
constexpr std::int64_t wall_epoch_ms = 1767225600000LL;

std::string fresh_data_dir(std::uint64_t seed) {
  static int n = 0;
  auto dir = std::filesystem::temp_directory_path() /
             ("hub-sim-" + std::to_string(::getpid()) + "-" + std::to_string(seed) + "-" + std::to_string(n++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

world_config make_world(const model& m, const std::string& dir) {
  world_config w;
  w.hub.dev_auth = true;  // virtual clients name themselves; JWT checks read the real clock
  w.hub.jwt_secret = "hub-sim";
  w.hub.typing_timeout =
    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds(m.typing_timeout));
  w.hub.presence_grace =
    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds(m.presence_grace));
  w.hub.rate = rate_limit{
    m.rate_count, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds(m.rate_window))};
  w.recovery_window =
    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds(m.recovery_window));
  w.data_dir = dir;
  return w;
}

}  // namespace

simulation::simulation(const options& o, std::uint64_t s)
  : opt(o),
    seed(s),
    rand(s),
    tr(o.trace_path),
    data_dir(fresh_data_dir(s)),
    net(*this),
    // In a cluster a remote typist expires 1 s after the typist's own timeout (its node's
    // stop normally comes first; docs/cluster.md): that is the bound a client sees there.
    check(m.rate_count, m.rate_window, m.typing_timeout + (o.nodes > 1 ? secs(1) : 0), m.max_latency),
    load(*this, rand.fork()),
    fault(*this, o.faults, rand.fork()) {
  // Production code reads time and ids through util/sources: make both virtual.
  set_wall_clock([this] {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(wall_epoch_ms)) +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::nanoseconds(now() + wall_offset));
  });
  auto ids = std::make_shared<rng>(rand.fork());
  set_id_source([ids] {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out(20, 'A');
    std::uint64_t a = ids->next(), b = ids->next();
    for (int i = 0; i < 10; ++i) out[static_cast<std::size_t>(i)] = alphabet[(a >> (6 * i)) & 63];
    for (int i = 0; i < 10; ++i) out[static_cast<std::size_t>(10 + i)] = alphabet[(b >> (6 * i)) & 63];
    return out;
  });
  log::set_level(log::level::off);  // the server's own logging: crashes make it noisy
  auto w = make_world(m, data_dir);
  if (o.nodes > 1) {
    bus = std::make_shared<sim_pubsub>([this](nanos t, std::function<void()> fn) { at(t, std::move(fn)); },
                                       [this] { return now(); }, rand.fork());
    shared = std::make_shared<sim_engine>(std::make_shared<storage::store>(data_dir, storage::store_options{false}),
                                          bus, app::log_feed_prefix(w.key_prefix), [this] { return now(); });
  }
  for (int i = 0; i < o.nodes; ++i) {
    auto cfg = w;
    if (shared) {
      cfg.shared = shared;
      cfg.make_link = [this, i] { return bus->make_link(i); };
    }
    nodes.push_back(std::make_unique<sim_world>(env, std::move(cfg)));
  }
}

bool simulation::all_up() const {
  for (const auto& n : nodes)
    if (!n->up()) return false;
  return true;
}

int simulation::node_for(int client) const {
  const int n = static_cast<int>(nodes.size());
  for (int k = 0; k < n; ++k) {
    const int i = (client + k) % n;
    if (nodes[static_cast<std::size_t>(i)]->up()) return i;
  }
  return -1;
}

storage::engine& simulation::db() {
  if (shared) return *shared;
  return nodes.front()->db();
}

simulation::~simulation() {
  net.close_all();
  env.run();
  for (auto& n : nodes) n->stop();
  env.drain();
  nodes.clear();
  shared.reset();
  set_wall_clock(nullptr);
  set_id_source(nullptr);
  std::error_code ec;
  std::filesystem::remove_all(data_dir, ec);
}

nanos simulation::now() const { return env.sched.clock().current_time.time_since_epoch().count(); }

void simulation::loop_until(nanos end) {
  auto& clock = env.sched.clock();
  for (;;) {
    env.run();
    nanos tq = agenda.next_time();
    nanos tc = clock.schedule().empty() ? never : clock.schedule().begin()->first.time_since_epoch().count();
    nanos t = std::min(tq, tc);
    if (t > end) {
      if (end > now()) clock.advance_time(caf::timespan(end - now()));
      env.run();
      return;
    }
    if (tc <= tq) {
      // CAF timers due now or before the next agenda item fire first, at their time.
      clock.advance_time(caf::timespan(std::max<nanos>(0, tc - now())));
      continue;
    }
    if (tq > now()) clock.advance_time(caf::timespan(tq - now()));
    auto fn = agenda.pop();
    fn();
  }
}

void simulation::periodic_checks() {
  for (auto& c : clients) c->check_typing(now());
  after(secs(1), [this] { periodic_checks(); });
}

run_result simulation::run() {
  auto wall0 = std::chrono::steady_clock::now();
  log(-1, "start",
      "\"seed\":" + std::to_string(seed) + ",\"clients\":" + std::to_string(opt.clients) +
        ",\"duration_ms\":" + std::to_string(opt.duration_ms) + ",\"faults\":" + json_escape(opt.faults) +
        ",\"nodes\":" + std::to_string(nodes.size()));
  try {
    for (auto& n : nodes) n->start();
    nanos traffic_end = ms(opt.duration_ms);
    if (!opt.replay_path.empty()) {
      // Replay: one scripted client per recorded connection, no synthetic workload.
      auto scripts = load_record(opt.replay_path);
      traffic_end = 0;
      for (auto& sc : scripts) {
        for (auto& it : sc.items) traffic_end = std::max(traffic_end, it.at);
        clients.push_back(std::make_unique<virtual_client>(*this, static_cast<int>(clients.size()), sc.user,
                                                           std::vector<std::string>{}, rand.fork()));
        clients.back()->play(std::move(sc));
      }
      traffic_end += secs(1);
      log(-1, "replay",
          "\"connections\":" + std::to_string(clients.size()) +
            ",\"until_ms\":" + std::to_string(traffic_end / 1'000'000));
    } else {
      load.populate(opt.clients);
      load.start();
    }
    fault.start();
    after(secs(1), [this] { periodic_checks(); });
    loop_until(traffic_end);
    // Settle: no new traffic or faults, partitions healed, everyone reconnects.
    traffic = false;
    fault.stop_and_heal();
    log(-1, "settle");
    nanos limit = traffic_end + m.settle;
    for (;;) {
      loop_until(std::min(limit, now() + secs(1)));
      bool all = all_up();
      for (auto& c : clients) all = all && c->settled();
      if (all || now() >= limit) break;
    }
    // Long enough for typing to expire and presence grace to pass.
    loop_until(now() + m.presence_grace + m.typing_timeout + secs(2));
    final_checks();
    stats.ok = true;
  } catch (const violation& v) {
    stats.ok = false;
    stats.failure = v;
    log(v.client, "violation", "\"invariant\":" + json_escape(v.invariant) + ",\"detail\":" + json_escape(v.detail));
  }
  stats.virtual_time = now();
  stats.clients = clients.size();
  stats.events = tr.lines();
  tr.flush();
  stats.hash = tr.hash_hex();
  stats.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  return stats;
}

void simulation::final_checks() {
  log(-1, "final-checks");
  for (auto& c : clients)
    if (!c->settled())
      check.fail("settle",
                 "client " + std::to_string(c->index) + " did not reconnect and settle within " +
                   std::to_string(m.settle / 1'000'000'000) + " s after the faults stopped: " + c->describe(),
                 c->index, now());
  // acked-durable and room-log-gap, straight from the store.
  std::set<std::string> projects;
  for (auto& c : clients)
    for (auto& [p, r] : c->rooms) projects.insert(p);
  for (const auto& p : projects) {
    bool more = false;
    auto entries = db().read(keys::room_log(p), 0, 1'000'000, &more);
    std::uint64_t expect = entries.empty() ? 0 : entries.front().seq;
    std::map<std::uint64_t, std::string> ids;
    for (const auto& e : entries) {
      if (e.seq != expect)
        check.fail("room-log-gap",
                   "log of " + p + " jumps from " + std::to_string(expect - 1) + " to " + std::to_string(e.seq), -1,
                   now());
      ++expect;
      auto v = json::parse(e.value, nullptr, false);
      ids[e.seq] = message_fingerprint(v);
    }
    auto a = check.acked_messages().find(p);
    if (a == check.acked_messages().end()) continue;
    for (const auto& [seq, id] : a->second) {
      auto it = ids.find(seq);
      if (it == ids.end() || it->second != id)
        check.fail("acked-durable",
                   "acknowledged message " + p + "#" + std::to_string(seq) + " is " +
                     (it == ids.end() ? "missing from" : "replaced in") + " the room log",
                   -1, now());
    }
  }
  // acked-delivered: every member received every acknowledged message since it first joined.
  for (auto& c : clients) {
    if (c->finished()) continue;  // a replayed connection that left
    for (auto& [p, r] : c->rooms) {
      if (!r.want || !r.base) continue;
      auto a = check.acked_messages().find(p);
      if (a == check.acked_messages().end()) continue;
      for (auto it = a->second.upper_bound(*r.base); it != a->second.end(); ++it)
        if (it->first > r.contiguous && !r.ahead.count(it->first))
          check.fail("acked-delivered", "client never received acknowledged " + p + "#" + std::to_string(it->first),
                     c->index, now());
    }
  }
  // presence: each room's online list = users with a connection in the room.
  for (const auto& p : projects) {
    std::set<std::string> expected;
    for (auto& c : clients)
      if (!c->finished() && c->ph == virtual_client::phase::connected && c->rooms.count(p) &&
          c->rooms.at(p).m == room_view::member::joined)
        expected.insert(c->user);
    // Every node's room: in a cluster each one lists the users connected anywhere (a
    // room a node had not spawned asks the others first, over the bus: time passes).
    std::vector<std::shared_ptr<room_info_ptr>> infos;
    for (auto& n : nodes) {
      infos.push_back(std::make_shared<room_info_ptr>());
      n->room_info(p, infos.back());
    }
    if (cluster())
      loop_until(now() + secs(3));
    else
      env.run();
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const std::string where = cluster() ? " on node " + std::to_string(i) : "";
      if (!*infos[i]) check.fail("presence", "room " + p + where + " did not answer room_info", -1, now());
      std::set<std::string> online;
      for (const auto& u : (*infos[i])->online) online.insert(u.value("userId", std::string{}));
      if (online == expected) continue;
      std::string extra, missing;
      for (auto& u : online)
        if (!expected.count(u)) extra += " " + u;
      for (auto& u : expected)
        if (!online.count(u)) missing += " " + u;
      check.fail("presence",
                 "room " + p + where + " lists online users without a connection [" + extra +
                   " ] and misses connected users [" + missing + " ]",
                 -1, now());
    }
  }
  log(-1, "ok",
      "\"acked\":" + std::to_string(stats.acked) + ",\"reconnects\":" + std::to_string(stats.reconnects) +
        ",\"recovered\":" + std::to_string(stats.recovered) + ",\"crashes\":" + std::to_string(stats.crashes) +
        (bus ? ",\"bus_delivered\":" + std::to_string(bus->delivered) + ",\"bus_lost\":" + std::to_string(bus->lost)
             : std::string{}));
}

}  // namespace hub::sim
