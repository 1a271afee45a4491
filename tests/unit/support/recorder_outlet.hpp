// A test outlet: records every wire_packet an actor sends and whether close() was
// called. Like the real transport (net/transport/eio_session.cpp), close() makes the
// session report the close back to its actor with an eio_close message, once.
//
// Meant for the deterministic fixture (tests/unit/support/deterministic.hpp): the
// actors and the test then share one thread, so nothing here is synchronized.
#pragma once

#include "sio/messages.hpp"
#include "net/transport/seam.hpp"

#include <caf/all.hpp>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace hub::test {

class recorder_outlet final : public outlet {
 public:
  struct record {
    wire_packet_ptr packet;
    bool after_close = false;  // sent after close() had been called
  };

  // The actor that gets eio_close when close() is called. Held strongly, as the real
  // session holds its actor; drop it with detach() before ~actor_system.
  void attach(caf::actor peer) { peer_ = std::move(peer); }
  void detach() { peer_ = caf::actor{}; }
  const caf::actor& peer() const { return peer_; }

  // -- outlet ----------------------------------------------------------------------------
  // A packet with a per-recipient insert is recorded as the recipient sees it.
  void send(outbound o) override {
    wire_packet_ptr packet = o.packet;
    if (packet && !o.insert.empty()) {
      auto whole = std::make_shared<wire_packet>(*packet);
      whole->text = o.text();
      packet = std::move(whole);
    }
    records_.push_back(record{std::move(packet), close_calls_ > 0});
  }

  void close() override {
    if (close_calls_++ == 0 && peer_) caf::anon_send(peer_, eio_closed_atom::value, close_reason::forced_close);
  }

  // -- inspection --------------------------------------------------------------------------
  bool closed() const { return close_calls_ > 0; }
  int close_calls() const { return close_calls_; }
  const std::vector<record>& records() const { return records_; }
  std::size_t size() const { return records_.size(); }
  const wire_packet& at(std::size_t i) const { return *records_.at(i).packet; }

  std::size_t sent_after_close() const {
    std::size_t n = 0;
    for (const auto& r : records_) n += r.after_close ? 1 : 0;
    return n;
  }

  // Text parts of everything recorded so far.
  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    out.reserve(records_.size());
    for (const auto& r : records_) out.push_back(r.packet ? r.packet->text : std::string("<null>"));
    return out;
  }

  // Packets recorded since the previous take(), in order; they are then forgotten
  // (close state is kept).
  std::vector<wire_packet_ptr> take() {
    std::vector<wire_packet_ptr> out;
    out.reserve(records_.size());
    for (auto& r : records_) out.push_back(std::move(r.packet));
    records_.clear();
    return out;
  }

  // Same, text parts only.
  std::vector<std::string> take_texts() {
    auto ps = take();
    std::vector<std::string> out;
    out.reserve(ps.size());
    for (const auto& p : ps) out.push_back(p ? p->text : std::string("<null>"));
    return out;
  }

 private:
  caf::actor peer_;
  std::vector<record> records_;
  int close_calls_ = 0;
};

}  // namespace hub::test
