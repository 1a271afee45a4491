// Client WebSocket frames: ws::frame_parser over arbitrary bytes (byte 0 sets how the
// rest is cut into reads). Invariants: the events do not depend on how the bytes are
// cut (the parser holds partial headers and payloads itself); `none` means all input
// was taken; text is UTF-8; no message is over the bound; nothing follows a close or
// an error; and a message framed again by a client parses back to itself.
#include "fuzz/check.hpp"
#include "protocol/ws_frame.hpp"

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

namespace ws = hub::ws;

// Small, so that the fuzzer reaches the bound and its error.
constexpr std::size_t max_message = 4096;

struct seen {
  ws::event::kind_type kind;
  bool binary;
  std::uint16_t code;
  std::string data;
  std::string what;
  bool operator==(const seen&) const = default;
};

void check_event(const ws::event& e) {
  switch (e.kind) {
    case ws::event::message:
      FUZZ_CHECK(e.data.size() <= max_message);
      if (!e.binary) FUZZ_CHECK(ws::valid_utf8(e.data));
      break;
    case ws::event::ping:
    case ws::event::pong: FUZZ_CHECK(e.data.size() <= 125); break;
    case ws::event::close:
      FUZZ_CHECK(e.code == 0 || ws::valid_close_code(e.code));
      FUZZ_CHECK(e.data.size() <= 123 && ws::valid_utf8(e.data));
      break;
    case ws::event::error: FUZZ_CHECK(e.code != 0 && *e.what != '\0'); break;
    case ws::event::none: break;
  }
}

// Feeds one read (in a buffer of exactly its size, so ASan sees any overread).
void feed(ws::frame_parser& parser, const std::uint8_t* bytes, std::size_t n, std::vector<seen>& out) {
  auto buffer = std::make_unique<char[]>(n);
  if (n) std::memcpy(buffer.get(), bytes, n);
  char* data = buffer.get();
  std::size_t size = n;
  for (;;) {
    const bool was_done = parser.done();
    const std::size_t before = size;
    ws::event e = parser.next(data, size);
    FUZZ_CHECK(size <= before && data == buffer.get() + (n - size));
    if (e.kind == ws::event::none) {
      FUZZ_CHECK(size == 0);
      return;
    }
    FUZZ_CHECK(!was_done);
    check_event(e);
    if (e.kind == ws::event::close || e.kind == ws::event::error) FUZZ_CHECK(parser.done());
    out.push_back(seen{e.kind, e.binary, e.code, std::move(e.data), e.what});
  }
}

// A client frame (masked, one fragment) around `payload`.
std::string client_frame(std::uint8_t opcode, const std::string& payload) {
  static constexpr std::uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  std::string frame;
  ws::append_header(frame, opcode, payload.size());
  frame[1] = static_cast<char>(frame[1] | 0x80);  // the mask bit
  frame.append(reinterpret_cast<const char*>(key), 4);
  const std::size_t start = frame.size();
  frame += payload;
  ws::unmask(frame.data() + start, payload.size(), key, 0);  // XOR: masks as well
  return frame;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t cut = data[0];
  ++data;
  --size;

  std::vector<seen> whole;
  ws::frame_parser one(max_message);
  feed(one, data, size, whole);

  // The same bytes in reads of 1..cut+1 bytes (a small LCG picks each length).
  std::vector<seen> pieces;
  ws::frame_parser many(max_message);
  std::uint32_t state = cut * 2654435761u + 1;
  for (std::size_t at = 0; at < size;) {
    state = state * 1664525u + 1013904223u;
    const std::size_t n = std::min<std::size_t>(size - at, 1 + (state >> 16) % (cut + 1u));
    feed(many, data + at, n, pieces);
    at += n;
  }
  FUZZ_CHECK(whole == pieces);
  FUZZ_CHECK(one.done() == many.done());
  // After an error the parser may keep a partial header it will never use (harmless:
  // the connection closes); before, what it holds must not depend on the cuts.
  if (!one.done()) FUZZ_CHECK(one.holding() == many.holding());

  for (const seen& s : whole) {
    if (s.kind != ws::event::message) continue;
    std::string frame = client_frame(s.binary ? ws::opcode::binary : ws::opcode::text, s.data);
    std::vector<seen> again;
    ws::frame_parser p(max_message);
    feed(p, reinterpret_cast<const std::uint8_t*>(frame.data()), frame.size(), again);
    FUZZ_CHECK(again.size() == 1 && again[0] == s);
  }
  return 0;
}
