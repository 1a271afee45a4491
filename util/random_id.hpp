// Unguessable identifiers (Engine.IO sids, Socket.IO socket ids and pids).
#pragma once

#include <string>

namespace hub {

// 20 URL-safe base64 characters from 15 bytes of OpenSSL's CSPRNG, like Node's ids.
std::string random_id();

}  // namespace hub
