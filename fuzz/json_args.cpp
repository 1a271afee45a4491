// The JSON argument scanner and its bounds: json_bounds::check / parse, and
// json_args::split_array / join_array / fill_placeholders / extract_binaries, on
// arbitrary text. Invariants: the bounds scanner agrees with nlohmann's own syntax
// check; what it lets through is within the bounds; split_array accepts exactly the
// JSON arrays, and its elements, parsed or joined again, give the same values; a tree
// with its placeholders filled and its binaries extracted again fills back the same.
#include "fuzz/check.hpp"
#include "fuzz/json_bounds_check.hpp"
#include "protocol/json_args.hpp"
#include "protocol/json_limits.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using hub::json;
namespace bounds = hub::json_bounds;
namespace args = hub::json_args;

// Small, so that short inputs reach them (the server's: 32 deep, 1000 members).
constexpr hub::json_limits limits{12, 24};


}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool valid = nlohmann::json::accept(text);
  const auto verdict = bounds::check(text, limits);
  if (verdict == bounds::verdict::ok) FUZZ_CHECK(valid);
  if (verdict == bounds::verdict::malformed) FUZZ_CHECK(!valid);

  auto parsed = bounds::parse(text, limits);
  FUZZ_CHECK(parsed.has_value() == (verdict == bounds::verdict::ok));

  // split_array validates with nlohmann first; no DOM is needed to compare syntax.
  auto elements = args::split_array(text);
  if (elements) FUZZ_CHECK(valid);
  if (!parsed) return 0;  // beyond the bounds: no tree (comparing one would recurse)

  hub::fuzz::check_within_bounds(*parsed, limits);
  FUZZ_CHECK(elements.has_value() == parsed->is_array());
  if (elements) {
    FUZZ_CHECK(elements->size() == parsed->size());
    for (std::size_t i = 0; i < elements->size(); ++i) {
      const auto e = (*elements)[i];
      FUZZ_CHECK(!e.empty() && e.front() != ' ' && e.back() != ' ');
      FUZZ_CHECK(json::parse(e, nullptr, false) == (*parsed)[i]);
    }
    FUZZ_CHECK(json::parse(args::join_array(*elements), nullptr, false) == *parsed);
  }

  // Placeholders {"_placeholder":true,"num":i} against three attachments.
  const std::vector<std::string> attachments{"", "x", std::string("\0\xff", 2)};
  json filled = *parsed;
  if (!args::fill_placeholders(filled, attachments)) return 0;
  json extracted = filled;
  std::vector<std::string> out;
  args::extract_binaries(extracted, out);
  for (const auto& bytes : out) {
    bool known = false;
    for (const auto& a : attachments) known = known || a == bytes;
    FUZZ_CHECK(known);
  }
  json refilled = extracted;
  FUZZ_CHECK(args::fill_placeholders(refilled, out));
  FUZZ_CHECK(refilled == filled);
  return 0;
}
