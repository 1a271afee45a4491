// The browser side of hub-server: the demo page at / (files of <web-root>/public) and
// the real socket.io-client bundle at /socket.io/socket.io.js, as Node's socket.io
// serves it. The bundle comes from npm (<web-root>/node_modules, installed by
// scripts/setup.sh), never from the repository.
#pragma once

#include "net/http/http_server.hpp"

#include <filesystem>
#include <string>

namespace hub {

// --web-root when given; otherwise the first of <executable's dir>/../web (build/ in a
// checkout), <executable's dir>/web and ./web that exists; ./web if none does.
std::filesystem::path resolve_web_root(const std::string& flag);

// Adds the bundle route (before the /socket.io/ engine) and the page route (after every
// other handler, so it never shadows the API). Logs a warning for what is missing: the
// server still starts, and the missing routes answer 503 / 404 with a hint.
void add_web_routes(http::route_table& routes, const std::filesystem::path& web_root);

}  // namespace hub
