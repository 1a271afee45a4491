// Recorded traffic (hub-server --record FILE, server/traffic_recorder.hpp) as scripts
// for virtual clients: one script per recorded connection, its packets at their
// recorded times. `hub-sim --replay FILE` plays them against the actors, with or
// without faults on top (docs/simulation.md#replay).
#pragma once

#include "sim/event_queue.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace hub::sim {

struct script_item {
  nanos at = 0;      // since the start of the recording
  std::string ev;    // text | bin | close
  std::string data;  // Socket.IO packet text ("0{...}", "2[...]"), base64, or close reason
};

struct script {
  std::uint64_t conn = 0;
  nanos opened = 0;
  std::string user;  // from the CONNECT auth's userId, if any
  std::vector<script_item> items;
};

// Reads a record; throws std::runtime_error naming the line of a malformed record.
std::vector<script> load_record(const std::string& path);

}  // namespace hub::sim
