// Helpers for Socket.IO's JSON payloads, kept as raw text.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hub {

// Ordered so that objects keep the sender's key order when re-encoded.
using json = nlohmann::ordered_json;

namespace json_args {

// Splits the raw text of a JSON array into the raw text of its top-level elements,
// without re-encoding them (whitespace around elements trimmed). Returns nullopt if
// `array_text` is not syntactically a JSON array. The views point into `array_text`.
std::optional<std::vector<std::string_view>> split_array(std::string_view array_text);

// Joins raw element texts into an array text: "[" e0 "," e1 ... "]".
std::string join_array(const std::vector<std::string_view>& elements);

// Replaces every {"_placeholder":true,"num":i} in `value` by a json binary holding
// attachments[i]. Returns false if a placeholder's num is out of range.
bool fill_placeholders(json& value, const std::vector<std::string>& attachments);

// The reverse: moves every json binary in `value` out into `attachments` (depth-first
// order) and puts a placeholder in its place.
void extract_binaries(json& value, std::vector<std::string>& attachments);

}  // namespace json_args
}  // namespace hub
