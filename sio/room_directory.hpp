// Rooms as actors. The directory maps a room key to its room actor, spawns rooms on
// the first join and retires them when the last member leaves. Every membership change
// passes through the directory, so it knows exactly when a room is empty; a broadcast
// is forwarded to each target room, which hands the same shared packet to its members.
#pragma once

#include <caf/fwd.hpp>
#include <caf/actor.hpp>

namespace hub {

caf::actor spawn_room_directory(caf::actor_system& sys);

}  // namespace hub
