#include "sio/room_directory.hpp"

#include "sio/messages.hpp"
#include "sio/room_members.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hub {
namespace {

caf::behavior room_actor(caf::stateful_actor<room_members>* self) {
  return {
    [=](join_atom, const std::string& key, const caf::actor& member) { self->state.join(key, member); },
    [=](leave_atom, const std::string&, const caf::actor& member) { self->state.leave(member); },
    [=](broadcast_atom, const broadcast_ptr& b) { self->state.deliver(self, b); },
  };
}

struct directory_entry {
  caf::actor room;
  std::size_t members = 0;
  bool provided = false;  // served by an application's actor: not stopped when empty
};

struct directory_state {
  std::unordered_map<std::string, directory_entry> rooms;
  std::vector<room_provider> providers;
  // Every socket's own room (its id) -> its connection, by namespace: no room actor per
  // socket, and the cluster adapter can list a namespace's sockets.
  std::unordered_map<std::string, std::unordered_map<std::string, caf::actor>> sockets;
};

// The connection whose socket `room` names in `nsp`, if it is one of ours.
const caf::actor* socket_room(const directory_state& s, const std::string& nsp, const std::string& room) {
  auto n = s.sockets.find(nsp);
  if (n == s.sockets.end()) return nullptr;
  auto it = n->second.find(room);
  return it == n->second.end() ? nullptr : &it->second;
}

// The application's actor for the room `key` names, if one serves it.
caf::actor provided_room(const directory_state& s, const std::string& key) {
  auto split = key.find('\n');
  if (split == std::string::npos) return {};
  std::string_view nsp(key.data(), split);
  std::string_view room(key.data() + split + 1, key.size() - split - 1);
  for (const auto& p : s.providers)
    if (p.nsp == nsp && room.substr(0, p.prefix.size()) == p.prefix) return p.serve(std::string(room));
  return {};
}

caf::behavior directory_actor(caf::stateful_actor<directory_state>* self) {
  return {
    // Sent by server::serve_rooms before the server accepts connections, so it precedes
    // every join in this mailbox.
    [=](serve_rooms_atom, const room_provider_ptr& p) { self->state.providers.push_back(*p); },
    [=](join_atom a, const std::string& key, const caf::actor& member) {
      auto& e = self->state.rooms[key];
      if (!e.room) {
        e.room = provided_room(self->state, key);
        e.provided = static_cast<bool>(e.room);
        if (!e.provided) e.room = self->spawn<caf::lazy_init>(room_actor);
      }
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
        // a normal exit is just another message; later joins get a fresh room. An
        // application's actor lives on: it was told of the leave and serves the next join.
        if (!e.provided) self->send_exit(e.room, caf::exit_reason::user_shutdown);
        self->state.rooms.erase(it);
      }
    },
    [=](own_join_atom, const std::string& nsp, const std::string& sid, const caf::actor& member) {
      self->state.sockets[nsp][sid] = member;
    },
    [=](own_leave_atom, const std::string& nsp, const std::string& sid) {
      auto n = self->state.sockets.find(nsp);
      if (n == self->state.sockets.end()) return;
      n->second.erase(sid);
      if (n->second.empty()) self->state.sockets.erase(n);
    },
    [=](broadcast_atom a, const broadcast_ptr& b) {
      if (b->rooms.empty()) {
        auto it = self->state.rooms.find(room_key(b->nsp, std::string{}));
        if (it != self->state.rooms.end()) self->send(it->second.room, a, b);
        return;
      }
      for (const auto& r : b->rooms) {
        if (std::find(b->rooms.data(), &r, r) != &r) continue;  // a room named twice: once
        auto key = room_key(b->nsp, r);
        auto it = self->state.rooms.find(key);
        if (it != self->state.rooms.end()) {
          self->send(it->second.room, a, b);
        } else if (const auto* conn = socket_room(self->state, b->nsp, r)) {
          // A socket's own room: its connection is the room's only member.
          self->send(*conn, deliver_atom::value, b, key);
        }
      }
    },
    [=](list_sockets_atom, const std::string& nsp) {
      std::vector<caf::actor> out;
      auto n = self->state.sockets.find(nsp);
      if (n != self->state.sockets.end()) {
        out.reserve(n->second.size());
        for (const auto& [sid, conn] : n->second) out.push_back(conn);
        // A connection has one socket per namespace, so each appears once.
      }
      return out;
    },
    [=](list_rooms_atom, const std::string& nsp) {
      // As Node's adapter.rooms: every room with a member, sockets' own rooms included.
      std::vector<std::string> out;
      const std::string head = nsp + '\n';
      for (const auto& [key, e] : self->state.rooms)
        if (key.size() > head.size() && key.compare(0, head.size(), head) == 0) out.push_back(key.substr(head.size()));
      auto n = self->state.sockets.find(nsp);
      if (n != self->state.sockets.end())
        for (const auto& [sid, conn] : n->second) out.push_back(sid);
      return out;
    },
    [=](find_socket_atom, const std::string& nsp, const std::string& sid) {
      const auto* conn = socket_room(self->state, nsp, sid);
      return conn ? *conn : caf::actor{};
    },
  };
}

}  // namespace

caf::actor spawn_room_directory(caf::actor_system& sys) { return sys.spawn(directory_actor); }

}  // namespace hub
