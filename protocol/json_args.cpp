#include "protocol/json_args.hpp"

#include <cmath>
#include <cstdint>

namespace hub::json_args {
namespace {

constexpr bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
  return s;
}

enum class placeholder_kind { none, valid, invalid };

// socket.io-parser's reconstructPacket: an object whose "_placeholder" is `true` is a
// placeholder, and its "num" must then be a number in [0, n). We also require the
// number to be integral (JSON.parse("1.0") is 1, so 1.0 is accepted).
placeholder_kind classify(const json& v, std::size_t n, std::size_t& index) {
  if (!v.is_object()) return placeholder_kind::none;
  const auto flag = v.find("_placeholder");
  if (flag == v.end() || !flag->is_boolean() || !flag->get<bool>()) {
    return placeholder_kind::none;
  }
  const auto num = v.find("num");
  if (num == v.end()) return placeholder_kind::invalid;
  if (num->is_number_unsigned()) {
    const auto u = num->get<std::uint64_t>();
    if (u >= n) return placeholder_kind::invalid;
    index = static_cast<std::size_t>(u);
    return placeholder_kind::valid;
  }
  if (num->is_number_integer()) {  // signed: only reached for negative values
    const auto i = num->get<std::int64_t>();
    if (i < 0 || static_cast<std::uint64_t>(i) >= n) return placeholder_kind::invalid;
    index = static_cast<std::size_t>(i);
    return placeholder_kind::valid;
  }
  if (num->is_number_float()) {
    const double d = num->get<double>();
    if (!(d >= 0) || d >= static_cast<double>(n) || std::floor(d) != d) {
      return placeholder_kind::invalid;
    }
    index = static_cast<std::size_t>(d);
    return placeholder_kind::valid;
  }
  return placeholder_kind::invalid;
}

}  // namespace

std::optional<std::vector<std::string_view>> split_array(std::string_view array_text) {
  // Validate first (no DOM is built); the scan below may then assume well-formed JSON.
  if (!nlohmann::json::accept(array_text)) return std::nullopt;

  std::size_t i = 0;
  const std::size_t size = array_text.size();
  while (i < size && is_ws(array_text[i])) ++i;
  if (i == size || array_text[i] != '[') return std::nullopt;
  ++i;

  std::vector<std::string_view> elements;
  std::size_t start = i;
  std::size_t depth = 0;
  bool seen_value = false;  // distinguishes "[]" from "[x]"
  for (; i < size; ++i) {
    const char c = array_text[i];
    switch (c) {
      case '"':
        seen_value = true;
        // Skip the string; a backslash always escapes exactly the next character
        // (\uXXXX continues with plain hex digits).
        for (++i; array_text[i] != '"'; ++i) {
          if (array_text[i] == '\\') ++i;
        }
        break;
      case '[':
      case '{':
        seen_value = true;
        ++depth;
        break;
      case ']':
      case '}':
        if (depth == 0) {  // the end of the outer array
          if (seen_value) elements.push_back(trim(array_text.substr(start, i - start)));
          return elements;
        }
        --depth;
        break;
      case ',':
        if (depth == 0) {
          elements.push_back(trim(array_text.substr(start, i - start)));
          start = i + 1;
        }
        break;
      default:
        if (!is_ws(c)) seen_value = true;
        break;
    }
  }
  return std::nullopt;  // unreachable for valid JSON
}

std::string join_array(const std::vector<std::string_view>& elements) {
  std::size_t total = 2 + (elements.empty() ? 0 : elements.size() - 1);
  for (auto e : elements) total += e.size();
  std::string out;
  out.reserve(total);
  out += '[';
  for (std::size_t i = 0; i < elements.size(); ++i) {
    if (i != 0) out += ',';
    out += elements[i];
  }
  out += ']';
  return out;
}

bool fill_placeholders(json& value, const std::vector<std::string>& attachments) {
  // Iterative, so that deeply nested client input cannot overflow the stack.
  std::vector<json*> stack{&value};
  while (!stack.empty()) {
    json* node = stack.back();
    stack.pop_back();
    std::size_t index = 0;
    switch (classify(*node, attachments.size(), index)) {
      case placeholder_kind::valid: {
        const std::string& bytes = attachments[index];
        *node = json::binary(json::binary_t::container_type(bytes.begin(), bytes.end()));
        continue;
      }
      case placeholder_kind::invalid: return false;
      case placeholder_kind::none: break;
    }
    if (node->is_array() || node->is_object()) {
      for (auto& child : *node) stack.push_back(&child);
    }
  }
  return true;
}

void extract_binaries(json& value, std::vector<std::string>& attachments) {
  // Pre-order, depth-first: arrays by index, objects by key order, as
  // socket.io-parser's deconstructPacket. Children are pushed in reverse so that they
  // are popped in order.
  std::vector<json*> stack{&value};
  while (!stack.empty()) {
    json* node = stack.back();
    stack.pop_back();
    if (node->is_binary()) {
      const auto& bytes = node->get_binary();
      const std::size_t num = attachments.size();
      attachments.emplace_back(bytes.begin(), bytes.end());
      *node = json{{"_placeholder", true}, {"num", num}};
    } else if (node->is_array() || node->is_object()) {
      for (auto it = node->rbegin(); it != node->rend(); ++it) stack.push_back(&*it);
    }
  }
}

}  // namespace hub::json_args
