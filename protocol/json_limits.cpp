#include "protocol/json_limits.hpp"

#include <vector>

namespace hub::json_bounds {
namespace {

// Counts depth and per-object members; stops the parse at the first excess.
class bounds_scanner {
 public:
  using njson = nlohmann::json;
  explicit bounds_scanner(const json_limits& limits) : limits_(limits) {}

  verdict result = verdict::ok;

  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(njson::number_integer_t) { return true; }
  bool number_unsigned(njson::number_unsigned_t) { return true; }
  bool number_float(njson::number_float_t, const njson::string_t&) { return true; }
  bool string(njson::string_t&) { return true; }
  bool binary(njson::binary_t&) { return true; }
  bool start_object(std::size_t) { return open(true); }
  bool key(njson::string_t&) {
    if (++members_.back() > limits_.max_object_members) {
      result = verdict::too_many_members;
      return false;
    }
    return true;
  }
  bool end_object() { return close(); }
  bool start_array(std::size_t) { return open(false); }
  bool end_array() { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    if (result == verdict::ok) result = verdict::malformed;
    return false;
  }

 private:
  bool open(bool /*is_object*/) {
    if (members_.size() + 1 > limits_.max_depth) {
      result = verdict::too_deep;
      return false;
    }
    // Arrays get a slot too (never counted) so that the stack mirrors the nesting.
    members_.push_back(0);
    return true;
  }
  bool close() {
    members_.pop_back();
    return true;
  }

  const json_limits& limits_;
  std::vector<std::size_t> members_;
};

}  // namespace

verdict check(std::string_view text, const json_limits& limits) {
  bounds_scanner scan(limits);
  const bool ok = nlohmann::json::sax_parse(text.begin(), text.end(), &scan);
  if (!ok && scan.result == verdict::ok) return verdict::malformed;
  return scan.result;
}

std::optional<json> parse(std::string_view text, const json_limits& limits) {
  if (check(text, limits) != verdict::ok) return std::nullopt;
  json value = json::parse(text, nullptr, false);
  if (value.is_discarded()) return std::nullopt;
  return value;
}

const char* to_string(verdict v) {
  switch (v) {
    case verdict::ok: return "ok";
    case verdict::malformed: return "malformed JSON";
    case verdict::too_deep: return "JSON nested too deeply";
    case verdict::too_many_members: return "JSON object with too many members";
  }
  return "malformed JSON";
}

}  // namespace hub::json_bounds
