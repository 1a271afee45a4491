// The fuzz invariant of every decoder that builds JSON under json_limits: the tree it
// gives back is no deeper and no wider than the limits said. Without recursion, as it
// must hold for any depth a decoder lets through.
#pragma once

#include "fuzz/check.hpp"
#include "protocol/json_limits.hpp"

#include <cstddef>
#include <utility>
#include <vector>

namespace hub::fuzz {

inline void check_within_bounds(const json& root, const json_limits& limits) {
  std::vector<std::pair<const json*, std::size_t>> stack{{&root, 1}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (!node->is_structured()) continue;
    FUZZ_CHECK(depth <= limits.max_depth);
    if (node->is_object()) FUZZ_CHECK(node->size() <= limits.max_object_members);
    for (const auto& child : *node) stack.emplace_back(&child, depth + 1);
  }
}

}  // namespace hub::fuzz
