// POST /dev/token: development mode's token counter. The demo page (and anyone trying
// the server locally) signs in as a named user and gets a real JWT, so the page uses the
// same code path as production clients: io({auth:{token}}) and Bearer tokens for HTTP.
// Registered by hub-server only with --dev-auth; without it the path does not exist.
#pragma once

#include "apps/hub/auth.hpp"
#include "net/http/http_types.hpp"

#include <chrono>

namespace hub::app {

// How long a development token is valid: a working day of poking at the demo.
inline constexpr std::chrono::hours dev_token_ttl{12};

// {userId, userName?, projects?: [id...]} -> 200 {token, userId, userName, projects};
// 400 for a malformed body, 405 for other methods. Returns false for other paths.
bool handle_dev_token(const authenticator& auth, const http::request_info& req, const http::responder_ptr& r);

}  // namespace hub::app
