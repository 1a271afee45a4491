// Validation of Project Hub's client payloads. Pure functions.
#pragma once

#include "net/protocol/json_args.hpp"

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
  json reply_to;  // null, or a message id (string) or seq (integer)
};

// {projectId, content, replyTo?}: content not blank after trimming and at most
// `max_content` bytes of UTF-8 (JSON parsing has already checked it is valid UTF-8).
std::optional<send_message_payload> parse_send_message(const json& value, std::size_t max_content);

}  // namespace hub::app
