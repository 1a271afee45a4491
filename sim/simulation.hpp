// One run: the server (sim_world) on the deterministic actor system, the simulated
// network, the virtual clients, the workload and the faults, and the main loop that
// merges the simulator's agenda with CAF's timers on one virtual clock.
#pragma once

#include "sim/deterministic.hpp"
#include "sim/event_queue.hpp"
#include "sim/faults.hpp"
#include "sim/invariants.hpp"
#include "sim/options.hpp"
#include "sim/rng.hpp"
#include "sim/sim_network.hpp"
#include "sim/sim_redis.hpp"
#include "sim/sim_world.hpp"
#include "sim/trace.hpp"
#include "sim/virtual_client.hpp"
#include "sim/workload.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hub::sim {

struct run_result {
  bool ok = true;
  std::optional<violation> failure;
  std::string hash;
  std::uint64_t events = 0;  // trace lines
  double wall_seconds = 0;
  nanos virtual_time = 0;
  std::uint64_t acked = 0;  // acknowledged messages
  std::uint64_t reconnects = 0;
  std::uint64_t recovered = 0;  // reconnects that recovered the session
  std::uint64_t crashes = 0;
  std::size_t clients = 0;
};

// Fixed parameters of the model (the server's defaults, where it has them).
struct model {
  nanos ping_timeout = secs(45);     // pingInterval 25 s + pingTimeout 20 s
  nanos connect_timeout = secs(20);  // a client's attempt to reach a partitioned server
  nanos typing_timeout = secs(3);
  nanos presence_grace = secs(5);
  nanos recovery_window = secs(120);
  nanos max_latency = ms(60) + secs(2);  // base + jitter, plus a slow period's extra
  std::size_t rate_count = 10;
  nanos rate_window = secs(60);
  nanos settle = secs(90);  // after the traffic: heal, reconnect, quiesce
};

class simulation {
 public:
  simulation(const options& opt, std::uint64_t seed);
  ~simulation();

  run_result run();

  nanos now() const;
  // Schedules `fn` at virtual time `t` (>= now).
  void at(nanos t, std::function<void()> fn) { agenda.at(t, std::move(fn)); }
  void after(nanos d, std::function<void()> fn) { agenda.at(now() + d, std::move(fn)); }
  void log(int client, std::string_view kind, std::string_view body = {}) { tr.emit(now(), client, kind, body); }

  bool cluster() const { return nodes.size() > 1; }
  bool all_up() const;
  // The node `client` reaches: its home node, or (a load balancer's part) the next one
  // that is up; -1 when none is.
  int node_for(int client) const;
  // What the nodes store into: the cluster's shared engine, or the one node's RocksDB.
  storage::engine& db();

  // Shifts the server's wall clock (clock-jump fault); timers are unaffected.
  void jump_wall_clock(nanos by) { wall_offset += by; }

  options opt;
  std::uint64_t seed;
  model m;
  rng rand;
  trace tr;
  event_queue agenda;
  deterministic env;
  std::string data_dir;
  // A cluster's simulated Redis (--nodes > 1); null for one node.
  std::shared_ptr<sim_pubsub> bus;
  std::shared_ptr<sim_engine> shared;
  std::vector<std::unique_ptr<sim_world>> nodes;  // one, or the cluster's
  sim_network net;
  invariants check;
  std::vector<std::unique_ptr<virtual_client>> clients;
  workload load;
  faults fault;
  bool traffic = true;  // false during the settle phase
  nanos wall_offset = 0;
  run_result stats;

 private:
  void loop_until(nanos end);
  void final_checks();
  void periodic_checks();
};

}  // namespace hub::sim
