// The seam between actors and the network. In hub-server an outlet is an Engine.IO
// session on Boost.Beast; in hub-sim a virtual link; in tests a recorder. Actors only
// ever see this interface, so the same actor code runs in all three.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace hub {

// One outbound unit, already encoded for the wire: an Engine.IO text packet (type
// digit included, e.g. "42[\"hi\"]"; empty when there is none) followed by raw
// binary messages (a Socket.IO packet's attachments). Immutable once built, so that a
// broadcast encodes it once and shares the same buffer with every recipient.
struct wire_packet {
  std::string text;
  std::vector<std::string> binaries;

  std::size_t byte_size() const {
    std::size_t n = text.size();
    for (const auto& b : binaries) n += b.size();
    return n;
  }
};

using wire_packet_ptr = std::shared_ptr<const wire_packet>;

class outlet {
 public:
  virtual ~outlet() = default;

  // Queues a packet for the peer. Thread-safe, never blocks. A peer whose queue
  // exceeds its bound is disconnected by the outlet (the actor then gets a close).
  virtual void send(wire_packet_ptr packet) = 0;

  // Ends the session after what is already queued has been written. Thread-safe.
  virtual void close() = 0;
};

using outlet_ptr = std::shared_ptr<outlet>;
using outlet_weak = std::weak_ptr<outlet>;

}  // namespace hub
