// Percent-decoding of URL parts (paths, query strings).
#pragma once

#include <string>
#include <string_view>

namespace hub {

// Decodes %XX escapes (malformed ones are kept as they are); in a query string '+'
// also stands for a space.
std::string url_decode(std::string_view s, bool plus_is_space);

}  // namespace hub
