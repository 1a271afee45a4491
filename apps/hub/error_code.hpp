// The hub's application error codes: what a refused or failed request tells the client,
// in a Socket.IO ack ({ok:false, error}) or an HTTP body ({error}). Inside the hub they
// travel as this enum; the text is made only at the wire (to_string), and an HTTP
// reply's status is derived from its code (http_status), so neither is spelt twice.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace hub::app {

enum class error_code : std::uint8_t {
  // Socket.IO acks, and HTTP where the same word is meant
  invalid,             // a malformed request
  forbidden,           // not a member of the project
  unauthenticated,     // a socket with no identity yet
  unavailable,         // a domain actor did not answer (shutting down)
  storage,             // the store failed
  rate_limited,        // the user's bucket is empty (retryAfterMs beside it)
  not_found,           // no such message / thread root
  gap,                 // the log was pruned after the requested seq (oldestSeq beside it)
  too_many_rooms,      // the socket's room cap (maxRooms beside it)
  too_many_reactions,  // the message's cap on different emoji
  // HTTP only: the API's replies name what was wrong in words
  too_many_auth_failures,  // the address failed too often (retryAfterMs beside it)
  unauthorized,            // no or a wrong credential
  method_not_allowed,
  unknown_path,  // "not found": the path names nothing the API serves
  shutting_down,
  invalid_after,
  invalid_limit,
  invalid_thread,
  invalid_unread,
  invalid_reply_target,
  invalid_user_id,  // /dev/token
  invalid_user_name,
  invalid_projects,
};

// Every code, for lookups and tests.
inline constexpr std::array all_error_codes{
  error_code::invalid,
  error_code::forbidden,
  error_code::unauthenticated,
  error_code::unavailable,
  error_code::storage,
  error_code::rate_limited,
  error_code::not_found,
  error_code::gap,
  error_code::too_many_rooms,
  error_code::too_many_reactions,
  error_code::too_many_auth_failures,
  error_code::unauthorized,
  error_code::method_not_allowed,
  error_code::unknown_path,
  error_code::shutting_down,
  error_code::invalid_after,
  error_code::invalid_limit,
  error_code::invalid_thread,
  error_code::invalid_unread,
  error_code::invalid_reply_target,
  error_code::invalid_user_id,
  error_code::invalid_user_name,
  error_code::invalid_projects,
};

// The exact text clients get (and test against).
constexpr std::string_view to_string(error_code c) {
  switch (c) {
    case error_code::invalid: return "invalid";
    case error_code::forbidden: return "forbidden";
    case error_code::unauthenticated: return "unauthenticated";
    case error_code::unavailable: return "unavailable";
    case error_code::storage: return "storage";
    case error_code::rate_limited: return "rate_limited";
    case error_code::not_found: return "not_found";
    case error_code::gap: return "gap";
    case error_code::too_many_rooms: return "too_many_rooms";
    case error_code::too_many_reactions: return "too_many_reactions";
    case error_code::too_many_auth_failures: return "too_many_auth_failures";
    case error_code::unauthorized: return "unauthorized";
    case error_code::method_not_allowed: return "method not allowed";
    case error_code::unknown_path: return "not found";
    case error_code::shutting_down: return "shutting down";
    case error_code::invalid_after: return "invalid after";
    case error_code::invalid_limit: return "invalid limit";
    case error_code::invalid_thread: return "invalid thread";
    case error_code::invalid_unread: return "invalid unread";
    case error_code::invalid_reply_target: return "invalid reply target";
    case error_code::invalid_user_id: return "invalid userId";
    case error_code::invalid_user_name: return "invalid userName";
    case error_code::invalid_projects: return "invalid projects";
  }
  return "unknown";  // not reached: every code has its case (-Wswitch checks)
}

// The code a wire text names, for replies that arrive as JSON (the chat room's history
// pages carry their error in the body).
constexpr std::optional<error_code> error_code_from(std::string_view text) {
  for (auto c : all_error_codes)
    if (to_string(c) == text) return c;
  return std::nullopt;
}

// The HTTP status of a reply carrying the code. Codes sent only on Socket.IO get the
// status they would have, so that every code has one.
constexpr int http_status(error_code c) {
  switch (c) {
    case error_code::invalid:
    case error_code::invalid_after:
    case error_code::invalid_limit:
    case error_code::invalid_thread:
    case error_code::invalid_unread:
    case error_code::invalid_reply_target:
    case error_code::invalid_user_id:
    case error_code::invalid_user_name:
    case error_code::invalid_projects: return 400;
    case error_code::unauthenticated:
    case error_code::unauthorized: return 401;
    case error_code::forbidden: return 403;
    case error_code::not_found:
    case error_code::unknown_path: return 404;
    case error_code::method_not_allowed: return 405;
    case error_code::too_many_reactions: return 409;
    case error_code::gap: return 410;  // gone: pruned, a sync from there can't be complete
    case error_code::rate_limited:
    case error_code::too_many_rooms:
    case error_code::too_many_auth_failures: return 429;
    case error_code::storage: return 500;
    case error_code::unavailable:
    case error_code::shutting_down: return 503;
  }
  return 500;  // not reached
}

}  // namespace hub::app
