// Replies from a Redis server (or whatever answers on its port): redis::reply_parser
// over arbitrary bytes, with small bounds so that the fuzzer reaches them. Byte 0 sets
// how the rest is cut into reads. Invariants: the replies do not depend on the cut (the
// parser keeps partial replies itself), a failed parser stays failed and says why, and
// what a reply holds stays within the bounds.
#include "fuzz/check.hpp"
#include "net/redis/resp.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace redis = hub::redis;

constexpr redis::reply_limits small{4096, 256, 512, 1024};

struct outcome {
  std::vector<std::string> replies;  // describe() of each
  bool failed = false;
};

std::size_t weight(const redis::reply& r) {
  std::size_t n = 1;
  if (const auto* a = r.array())
    for (const auto& e : *a) n += weight(e);
  return n;
}

outcome run(std::string_view input, std::size_t chunk) {
  redis::reply_parser p(small);
  outcome o;
  std::size_t at = 0;
  while (at < input.size() && !o.failed) {
    auto piece = input.substr(at, chunk);
    at += piece.size();
    if (!p.feed(piece)) {
      o.failed = true;
      break;
    }
    while (auto r = p.next()) {
      FUZZ_CHECK(weight(*r) <= small.max_elements);
      o.replies.push_back(r->describe());
    }
    if (p.failed()) o.failed = true;
  }
  if (o.failed) {
    FUZZ_CHECK(p.failed());
    FUZZ_CHECK(!p.error().empty());
    FUZZ_CHECK(!p.feed("+OK\r\n"));  // failed for good
    FUZZ_CHECK(!p.next());
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 17;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto whole = run(input, input.size() + 1);
  auto cut = run(input, chunk);
  // Until a failure the same replies come out, however the bytes arrive; a bound may be
  // reached at a different moment, so only the replies before either failure are compared.
  const auto n = std::min(whole.replies.size(), cut.replies.size());
  for (std::size_t i = 0; i < n; ++i) FUZZ_CHECK(whole.replies[i] == cut.replies[i]);
  if (!whole.failed && !cut.failed) FUZZ_CHECK(whole.replies == cut.replies);
  return 0;
}
