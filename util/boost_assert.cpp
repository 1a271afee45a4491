// Boost's assertions where they are on: the fuzz build (BOOST_ENABLE_ASSERT_HANDLER) and
// builds without NDEBUG such as the ASan one (BOOST_ENABLE_ASSERT_DEBUG_HANDLER, which
// release builds compile to nothing). Every one is a crash, except one known-wrong
// assertion of Beast 1.74 (Debian's): without this, one crafted chunked POST aborted
// the ASan server. Its basic_parser
// asserts n >= 5 when it re-parses the final chunk's header after need_more, but 4
// bytes are legitimate there ("0\r\n" in one read, one more byte in the next) and the
// code after it handles them (checked under ASan with NDEBUG: 400, as when the bytes
// come at once). Fixed upstream in boostorg/beast#2861.
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace boost {

void assertion_failed(char const* expr, char const* function, char const* file, long line) {
  if (std::strcmp(expr, "n >= 5") == 0 && std::strstr(function, "parse_chunk_header") != nullptr) return;
  std::fprintf(stderr, "%s:%ld: %s: Boost assertion failed: %s\n", file, line, function, expr);
  std::abort();
}

void assertion_failed_msg(char const* expr, char const* msg, char const* function, char const* file, long line) {
  std::fprintf(stderr, "%s:%ld: %s: Boost assertion failed: %s (%s)\n", file, line, function, expr, msg);
  std::abort();
}

}  // namespace boost
