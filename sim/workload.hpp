// The seeded traffic: users (some with two tabs) in projects, and for each client a
// Poisson stream of actions: send, typing (then send or stop), mark-read, presence,
// leave/rejoin a room, page reload, and bursts that run into the rate limit.
#pragma once

#include "sim/event_queue.hpp"
#include "sim/rng.hpp"

#include <string>
#include <vector>

namespace hub::sim {

class simulation;

class workload {
 public:
  workload(simulation& sim, rng r) : sim_(sim), rng_(r) {}

  // Creates the clients: user and projects of each.
  void populate(int clients);
  // Starts every client (spread over the first seconds) and its action stream.
  void start();

 private:
  simulation& sim_;
  rng rng_;
  nanos think_ = secs(15);  // mean time between a client's actions

  void next(int client);
  void act(int client);
};

}  // namespace hub::sim
