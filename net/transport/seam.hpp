// The seam between actors and the network. In hub-server an outlet is an Engine.IO
// session on Boost.Beast; in hub-sim a virtual link; in tests a recorder. Actors only
// ever see this interface, so the same actor code runs in all three.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
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

// A packet as one recipient gets it: the shared packet plus a small per-recipient
// `insert`, placed before the last character of its text (connection state recovery
// appends each client's own offset as an extra last argument, before an EVENT's closing
// ']'). A broadcast thus shares one encoded body among all recipients and carries only
// the few bytes that differ; the transport splices them in while it frames the write.
struct outbound {
  wire_packet_ptr packet;
  std::string insert;

  outbound() = default;
  outbound(wire_packet_ptr p) : packet(std::move(p)) {}  // NOLINT: implicit on purpose
  outbound(std::shared_ptr<wire_packet> p) : packet(std::move(p)) {}  // NOLINT: likewise
  outbound(wire_packet_ptr p, std::string ins) : packet(std::move(p)), insert(std::move(ins)) {}

  std::size_t text_size() const { return packet->text.size() + insert.size(); }
  std::size_t byte_size() const { return packet->byte_size() + insert.size(); }

  // The recipient's text, in two pieces around the insert point when there is an insert.
  std::string_view text_head() const {
    std::string_view t = packet->text;
    return insert.empty() || t.empty() ? t : t.substr(0, t.size() - 1);
  }
  std::string_view text_tail() const {
    std::string_view t = packet->text;
    return insert.empty() || t.empty() ? std::string_view{} : t.substr(t.size() - 1);
  }
  void append_text(std::string& out) const {
    out += text_head();
    out += insert;
    out += text_tail();
  }
  std::string text() const {
    std::string out;
    out.reserve(text_size());
    append_text(out);
    return out;
  }
};

class outlet {
 public:
  virtual ~outlet() = default;

  // Queues a packet for the peer. Thread-safe, never blocks. A peer whose queue
  // exceeds its bound is disconnected by the outlet (the actor then gets a close).
  virtual void send(outbound packet) = 0;

  // Ends the session after what is already queued has been written. Thread-safe.
  virtual void close() = 0;

  // The actor has handled one inbound message (eio_text / eio_bin) and sent what it
  // produced. A polling outlet holds its poll response until the inputs of one POST
  // are handled, so that their replies share one response (as Node answers within the
  // same tick). Thread-safe; a no-op by default.
  virtual void input_done() {}
};

using outlet_ptr = std::shared_ptr<outlet>;
using outlet_weak = std::weak_ptr<outlet>;

}  // namespace hub
