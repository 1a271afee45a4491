// Parsing of human durations for command-line flags: "500ms", "8s", "2m", "1h", "30d".
// A plain number means milliseconds.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace hub {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// "1500ms" -> "1.5s"-style text for logs and --help defaults.
std::string format_duration(std::chrono::milliseconds d);

}  // namespace hub
