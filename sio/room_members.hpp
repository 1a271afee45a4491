// The members of one room and the fan-out of a broadcast to them: the state of a room
// actor. The directory's own room actors hold one, and so does any actor an
// application names to serve a room itself (server::serve_rooms), e.g. Project Hub's
// user mailbox for the user's `user:<id>` room.
#pragma once

#include "sio/messages.hpp"

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hub {

class room_members {
 public:
  // The room key (room_key(nsp, room)) comes with each join; deliveries carry it.
  void join(const std::string& key, const caf::actor& member) {
    if (key_ != key) key_ = key;
    auto it = std::lower_bound(members_.begin(), members_.end(), member);
    if (it == members_.end() || *it != member) members_.insert(it, member);
  }
  void leave(const caf::actor& member) {
    auto it = std::lower_bound(members_.begin(), members_.end(), member);
    if (it != members_.end() && *it == member) members_.erase(it);
    if (members_.empty()) members_.shrink_to_fit();
  }
  // One message carries the shared packet to every member: the payload is encoded once,
  // and copy-on-write messages are not copied. Enqueued as send() does (sender and
  // execution context kept), because a typed actor may not send() to untyped members.
  template <class Self>
  void deliver(Self* self, const broadcast_ptr& b) const {
    if (members_.empty()) return;
    auto msg = caf::make_message(deliver_atom::value, b, key_);
    for (const auto& m : members_)
      m->enqueue(caf::make_mailbox_element(self->ctrl(), caf::make_message_id(), {}, msg), self->context());
  }

 private:
  std::string key_;
  // Sorted, without duplicates. Most rooms have one member (every user's `user:` room):
  // a vector holds it in one 8-byte allocation where a hash set had a bucket array and
  // a node (~150 bytes); large rooms still find a member in O(log n).
  std::vector<caf::actor> members_;
};

// An application's offer to serve some rooms with its own actors (server::serve_rooms).
struct room_provider {
  std::string nsp;
  std::string prefix;  // rooms whose names start with it
  // The actor serving `room` (it handles join_atom, leave_atom and broadcast_atom with
  // a room_members), or an invalid handle to let the directory spawn a room of its own.
  std::function<caf::actor(const std::string& room)> serve;
};
using room_provider_ptr = std::shared_ptr<const room_provider>;

}  // namespace hub

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hub::room_provider_ptr)
