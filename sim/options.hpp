// hub-sim's command line, parsed into one struct that fully determines a run
// (together with the seed): same options + same seed = same trace.
#pragma once

#include <cstdint>
#include <string>

namespace hub::sim {

struct options {
  std::uint64_t seed = 1;
  std::uint64_t seed_last = 0;  // --seeds A..B sweeps seed..seed_last
  bool sweep = false;
  int clients = 100;
  // > 1: a cluster of hub-server nodes over a simulated Redis (sim/sim_redis.hpp); each
  // client has a home node and moves to another one while it is down.
  int nodes = 1;
  std::int64_t duration_ms = 60000;  // virtual time of traffic (a settle phase follows)
  std::string faults = "default";    // none | default | heavy
  std::string trace_path;
  std::string inject_bug;   // util/injected_bugs.hpp
  std::string replay_path;  // not implemented yet
  bool quiet = false;
  bool shrink = false;  // on a violation, look for a smaller failing run
  std::string argv0 = "build/hub-sim";

  // The command that reproduces a run of `seed` with these options.
  std::string command_for(std::uint64_t seed) const;
};

}  // namespace hub::sim
