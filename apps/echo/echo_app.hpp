// `hub-server --app echo`: a fixed profile for checking the protocol layer with any
// Socket.IO tooling (see docs/protocol.md, "The echo profile").
#pragma once

#include "sio/sio_server.hpp"

namespace hub::apps {

// Namespaces "/" and "/custom" on `srv`, with the echo events.
void install_echo(sio::server& srv);

// A bare Engine.IO session actor for /engine.io/: sends every message back unchanged.
caf::actor spawn_engine_echo(caf::actor_system& sys, const outlet_weak& out);

}  // namespace hub::apps
