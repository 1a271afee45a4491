// Validation of Project Hub's client payloads. Pure functions.
#pragma once

#include "protocol/json_args.hpp"

#include <optional>
#include <string>

namespace hub::app {

// Longest project or user id accepted (ids become log and room names).
inline constexpr std::size_t max_id_length = 128;

// An id given as a string or an integer, or as `{<key>: id}`. nullopt when missing,
// empty, too long or of another type.
std::optional<std::string> id_from(const json& value, const char* key);

struct send_message_payload {
  std::string project;
  std::string content;
  json reply_to;  // null, or a message id (string; the room checks it is one of its own)
};

// {projectId, content, replyTo?}: content not blank after trimming and at most
// `max_content` bytes of UTF-8 (JSON parsing has already checked it is valid UTF-8).
std::optional<send_message_payload> parse_send_message(const json& value, std::size_t max_content);

// {userId, title, message, type, data?} of POST /api/notifications: title and type
// non-empty strings (at most 200 and 64 bytes), message a string of at most 2000 bytes.
struct notification_payload {
  std::string user;
  json input;  // {title, message, type, data}
};
std::optional<notification_payload> parse_notification(const json& value);

// {ids:[string...]} (1..500 ids) or {all:true} of mark-notifications-read.
std::optional<json> parse_mark_notifications(const json& value);

// An emoji for `react` (the allow-list): 1..32 bytes of UTF-8 that make one emoji:
// pictographic and symbol code points, optionally joined (ZWJ) and modified (variation
// selectors, skin tones, tags), or a keycap. Letters, digits alone, whitespace and
// markup are refused.
bool valid_emoji(const json& value);

}  // namespace hub::app
