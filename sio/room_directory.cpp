#include "sio/room_directory.hpp"

#include "sio/messages.hpp"

#include <algorithm>
#include <unordered_map>
#include <vector>

namespace hub {
namespace {

struct room_state {
  std::string key;
  // Sorted, without duplicates. Most rooms have one member (every user's `user:` room):
  // a vector holds it in one 8-byte allocation where a hash set had a bucket array and
  // a node (~150 bytes); large rooms still find a member in O(log n).
  std::vector<caf::actor> members;
};

caf::behavior room_actor(caf::stateful_actor<room_state>* self, std::string key) {
  self->state.key = std::move(key);
  return {
    [=](join_atom, const std::string&, const caf::actor& member) {
      auto& ms = self->state.members;
      auto it = std::lower_bound(ms.begin(), ms.end(), member);
      if (it == ms.end() || *it != member) ms.insert(it, member);
    },
    [=](leave_atom, const std::string&, const caf::actor& member) {
      auto& ms = self->state.members;
      auto it = std::lower_bound(ms.begin(), ms.end(), member);
      if (it != ms.end() && *it == member) ms.erase(it);
      if (ms.empty()) ms.shrink_to_fit();
    },
    [=](broadcast_atom, const broadcast_ptr& b) {
      // One message carries the shared packet to every member: the payload is encoded
      // once, and copy-on-write messages are not copied.
      auto msg = caf::make_message(deliver_atom::value, b, self->state.key);
      for (const auto& m : self->state.members) self->send(m, msg);
    },
  };
}

struct directory_entry {
  caf::actor room;
  std::size_t members = 0;
};

struct directory_state {
  std::unordered_map<std::string, directory_entry> rooms;
};

caf::behavior directory_actor(caf::stateful_actor<directory_state>* self) {
  return {
    [=](join_atom a, const std::string& key, const caf::actor& member) {
      auto& e = self->state.rooms[key];
      if (!e.room) e.room = self->spawn<caf::lazy_init>(room_actor, key);
      ++e.members;
      self->send(e.room, a, key, member);
    },
    [=](leave_atom a, const std::string& key, const caf::actor& member) {
      auto it = self->state.rooms.find(key);
      if (it == self->state.rooms.end()) return;
      auto& e = it->second;
      self->send(e.room, a, key, member);
      if (--e.members == 0) {
        // Messages already queued for the room are processed before the exit, since
        // a normal exit is just another message; later joins get a fresh room.
        self->send_exit(e.room, caf::exit_reason::user_shutdown);
        self->state.rooms.erase(it);
      }
    },
    [=](broadcast_atom a, const broadcast_ptr& b) {
      if (b->rooms.empty()) {
        auto it = self->state.rooms.find(room_key(b->nsp, std::string{}));
        if (it != self->state.rooms.end()) self->send(it->second.room, a, b);
        return;
      }
      for (const auto& r : b->rooms) {
        if (std::find(b->rooms.data(), &r, r) != &r) continue;  // a room named twice: once
        auto it = self->state.rooms.find(room_key(b->nsp, r));
        if (it != self->state.rooms.end()) self->send(it->second.room, a, b);
      }
    },
  };
}

}  // namespace

caf::actor spawn_room_directory(caf::actor_system& sys) { return sys.spawn(directory_actor); }

}  // namespace hub
