// Bounds on client-supplied JSON, checked while scanning and before any tree is built.
// nlohmann's DOM copies and destroys recursively, and ordered_json's object insert
// scans the keys already there, so an unchecked payload can overflow the stack (depth)
// or cost seconds of a worker (an object with 100k keys). Pure: no I/O.
#pragma once

#include "protocol/json_args.hpp"

#include <cstddef>
#include <optional>
#include <string_view>

namespace hub {

struct json_limits {
  std::size_t max_depth = 32;             // nested arrays/objects; the root is depth 1
  std::size_t max_object_members = 1000;  // keys in any one object
};

namespace json_bounds {

enum class verdict { ok, malformed, too_deep, too_many_members };

// One SAX pass (iterative: no recursion on the input's nesting).
verdict check(std::string_view text, const json_limits& limits);

// check() and then parse; nullopt for anything but `ok`.
std::optional<json> parse(std::string_view text, const json_limits& limits);

const char* to_string(verdict v);

}  // namespace json_bounds
}  // namespace hub
