// Seeded faults, each a Poisson process whose rate scales with the number of clients:
// transport drops, a transport dying mid-frame, slow periods (extra delay on a link),
// long pauses of a client (a frozen tab), partitions of groups of clients, server
// crash + restart on the same data, and wall-clock jumps. In a cluster (--nodes) a
// crash takes one node (its clients move to the others), and a node's connection to
// Redis is lost for a while (pub/sub publications to and from it are lost). Per-link latency and jitter
// are always on; `--faults none` keeps a fixed latency per client and nothing else.
#pragma once

#include "sim/event_queue.hpp"
#include "sim/rng.hpp"

#include <map>
#include <string>
#include <vector>

namespace hub::sim {

class simulation;

class faults {
 public:
  faults(simulation& sim, const std::string& profile, rng r);

  // Validates a profile name.
  static bool known(const std::string& profile);

  void start();          // schedules the first occurrence of each fault
  void stop_and_heal();  // end of traffic: no new faults, partitions healed

  // One-way delay of `client`'s link right now.
  nanos link_delay(int client);

 private:
  simulation& sim_;
  std::string profile_;
  rng rng_;
  double scale_ = 1;  // 0: none, 1: default, 4: heavy
  bool on_ = false;
  std::vector<nanos> base_;                      // per-client latency
  std::vector<nanos> jitter_;                    // per-client max jitter
  std::map<int, std::pair<nanos, nanos>> slow_;  // client -> (until, extra)
  std::vector<int> partitioned_;
  std::vector<int> cut_nodes_;

  // Next occurrence after an exponential wait with `per_second` events per second.
  void every(const char* name, double per_second, void (faults::*fire)());
  int pick_client();
  void drop();
  void mid_frame();
  void slow();
  void pause();
  void partition();
  void crash();
  void redis_cut();
  void clock_jump();
};

}  // namespace hub::sim
