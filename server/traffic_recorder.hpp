// hub-server --record FILE: records the inbound traffic of every Engine.IO session as
// the connection actor receives it (Engine.IO-decoded Socket.IO packets), timestamped,
// as JSON lines, for `hub-sim --replay FILE` (docs/simulation.md#replay).
//
//   {"t":<ms since start>,"conn":<n>,"ev":"open","remote":"<ip>"}
//   {"t":...,"conn":<n>,"ev":"text","data":"2[\"send-message\",...]"}
//   {"t":...,"conn":<n>,"ev":"bin","data":"<base64>"}
//   {"t":...,"conn":<n>,"ev":"close","data":"<reason>"}
//
// It sits between the session and the connection actor as a forwarding actor, so the
// transport and the actors are unchanged; it costs one extra actor hop per packet and
// only exists when --record is given.
#pragma once

#include "sio/sio_server.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace hub {

class traffic_recorder : public std::enable_shared_from_this<traffic_recorder> {
 public:
  explicit traffic_recorder(const std::string& path);

  // The actor the session should talk to instead of `conn`: it records and forwards,
  // and quits when `conn` does.
  caf::actor wrap(caf::actor_system& sys, caf::actor conn, const sio::handshake& hs);

  void write(std::uint64_t conn, std::string_view ev, std::string_view data);

 private:
  std::mutex mutex_;
  std::ofstream out_;
  std::atomic<std::uint64_t> next_{1};
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace hub
