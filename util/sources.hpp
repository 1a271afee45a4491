// Where production code gets wall-clock time and fresh ids. hub-server leaves the
// defaults (system_clock, OpenSSL's CSPRNG); hub-sim installs virtual time and a
// seeded generator so that a run is a pure function of its seed. Process-wide and
// meant to be set once before any actor starts (the simulator is single-threaded).
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace hub {

// The wall clock used for timestamps that leave the process or outlive it
// (createdAt, session records, recovery windows). Never for timers: those use CAF's clock.
std::chrono::system_clock::time_point wall_now();

// Replaces the wall clock (nullptr restores system_clock).
void set_wall_clock(std::function<std::chrono::system_clock::time_point()> source);

// Replaces random_id()'s generator (nullptr restores the CSPRNG). The source must
// return 20 URL-safe characters.
void set_id_source(std::function<std::string()> source);

}  // namespace hub
