// Validation of Project Hub's client payloads. Pure functions.
#pragma once

#include "protocol/json_args.hpp"

#include <optional>
#include <string>

namespace hub::app {

// Longest project or user id accepted (ids become log and room names).
inline constexpr std::size_t max_id_length = 128;

// Bounds of the notification API and of mark-notifications-read.
inline constexpr std::size_t max_title_bytes = 200;
inline constexpr std::size_t max_type_bytes = 64;
inline constexpr std::size_t max_notification_text_bytes = 2000;
inline constexpr std::size_t max_mark_read_ids = 500;
inline constexpr std::size_t max_notification_id_bytes = 64;

// A reaction: one emoji of at most this many bytes and code points.
inline constexpr std::size_t max_emoji_bytes = 32;
inline constexpr std::size_t max_emoji_code_points = 10;

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
// non-empty strings (at most max_title_bytes and max_type_bytes), message a string of at
// most max_notification_text_bytes.
struct notification_payload {
  std::string user;
  json input;  // {title, message, type, data}
};
std::optional<notification_payload> parse_notification(const json& value);

// {ids:[string...]} (1..max_mark_read_ids ids of 1..max_notification_id_bytes) or
// {all:true} of mark-notifications-read.
std::optional<json> parse_mark_notifications(const json& value);

// An emoji for `react` (the allow-list): 1..max_emoji_bytes of UTF-8 (at most
// max_emoji_code_points) that make one emoji:
// pictographic and symbol code points, optionally joined (ZWJ) and modified (variation
// selectors, skin tones, tags), or a keycap. Letters, digits alone, whitespace and
// markup are refused.
bool valid_emoji(const json& value);

}  // namespace hub::app
