#include "protocol/ws_frame.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace std::string_literals;
using hub::ws::event;
using hub::ws::frame_parser;

namespace {

constexpr std::size_t max_message = 100000;

// A client frame: `b0` is FIN/RSV/opcode; `form` forces the length encoding (7, 16, 64).
std::string frame(std::uint8_t b0, std::string_view payload, bool masked = true, int form = 0,
                  std::array<std::uint8_t, 4> key = {0x37, 0xfa, 0x21, 0x3d}) {
  std::string out(1, static_cast<char>(b0));
  const std::uint8_t m = masked ? 0x80 : 0;
  std::uint64_t len = payload.size();
  if (form == 0) form = len < 126 ? 7 : len <= 0xffff ? 16 : 64;
  if (form == 7) {
    out += static_cast<char>(m | len);
  } else if (form == 16) {
    out += static_cast<char>(m | 126);
    out += static_cast<char>(len >> 8);
    out += static_cast<char>(len);
  } else {
    out += static_cast<char>(m | 127);
    for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>(len >> shift);
  }
  if (!masked) return out + std::string(payload);
  for (auto k : key) out += static_cast<char>(k);
  for (std::size_t i = 0; i < payload.size(); ++i) out += static_cast<char>(payload[i] ^ key[i % 4]);
  return out;
}

constexpr std::uint8_t fin = 0x80;
std::string text(std::string_view p) { return frame(fin | 0x1, p); }
std::string binary(std::string_view p) { return frame(fin | 0x2, p); }
std::string close_payload(std::uint16_t code, std::string_view reason = "") {
  return std::string{static_cast<char>(code >> 8), static_cast<char>(code)} + std::string(reason);
}

// Feeds `bytes` in pieces of `chunk` bytes (each piece its own buffer) and collects events.
std::vector<event> feed(frame_parser& p, const std::string& bytes, std::size_t chunk = SIZE_MAX) {
  std::vector<event> out;
  for (std::size_t at = 0; at < bytes.size(); at += chunk) {
    std::vector<char> piece(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                            bytes.begin() + static_cast<std::ptrdiff_t>(std::min(bytes.size(), at + chunk)));
    char* data = piece.data();
    std::size_t size = piece.size();
    while (size > 0) {
      event e = p.next(data, size);
      if (e.kind != event::none) out.push_back(std::move(e));
    }
  }
  return out;
}

std::vector<event> feed(const std::string& bytes, std::size_t chunk = SIZE_MAX) {
  frame_parser p(max_message);
  return feed(p, bytes, chunk);
}

// The single error the bytes lead to (0 when there is none).
std::uint16_t error_code(const std::string& bytes, std::size_t max = max_message) {
  frame_parser p(max);
  for (const auto& e : feed(p, bytes))
    if (e.kind == event::error) return e.code;
  return 0;
}

}  // namespace

TEST_CASE("ws_frame: RFC 6455 §5.7 masked \"Hello\"", "[protocol][ws]") {
  const std::string bytes = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"s;
  for (std::size_t chunk : {SIZE_MAX, std::size_t{1}}) {
    auto events = feed(bytes, chunk);
    REQUIRE(events.size() == 1);
    CHECK(events[0].kind == event::message);
    CHECK_FALSE(events[0].binary);
    CHECK(events[0].data == "Hello");
  }
  CHECK(text("Hello") == bytes);  // the helper builds the same bytes
}

TEST_CASE("ws_frame: binary frame keeps any bytes", "[protocol][ws]") {
  const std::string payload = "\x00\xff\x80\xc0 binary"s;
  auto events = feed(binary(payload));
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == event::message);
  CHECK(events[0].binary);
  CHECK(events[0].data == payload);
}

TEST_CASE("ws_frame: 7-, 16- and 64-bit lengths, whole and byte by byte", "[protocol][ws]") {
  for (std::size_t len : {0, 1, 125, 126, 127, 65535, 65536, 70001}) {
    std::string payload(len, 'a');
    for (std::size_t i = 0; i < len; ++i) payload[i] = static_cast<char>('a' + i % 26);
    for (std::size_t chunk : {SIZE_MAX, std::size_t{1}, std::size_t{7}}) {
      CAPTURE(len, chunk);
      auto events = feed(text(payload), chunk);
      REQUIRE(events.size() == 1);
      CHECK(events[0].kind == event::message);
      CHECK(events[0].data == payload);
    }
  }
}

TEST_CASE("ws_frame: several frames in one buffer come out in order", "[protocol][ws]") {
  const std::string bytes =
    text("one") + binary("two") + frame(fin | 0x9, "p") + frame(fin | 0xa, "q") + text("") + text("three");
  for (std::size_t chunk : {SIZE_MAX, std::size_t{1}, std::size_t{5}}) {
    CAPTURE(chunk);
    auto e = feed(bytes, chunk);
    REQUIRE(e.size() == 6);
    CHECK((e[0].kind == event::message && e[0].data == "one" && !e[0].binary));
    CHECK((e[1].kind == event::message && e[1].data == "two" && e[1].binary));
    CHECK((e[2].kind == event::ping && e[2].data == "p"));
    CHECK((e[3].kind == event::pong && e[3].data == "q"));
    CHECK((e[4].kind == event::message && e[4].data.empty()));
    CHECK((e[5].kind == event::message && e[5].data == "three"));
  }
}

TEST_CASE("ws_frame: a fragmented message with a ping between its fragments", "[protocol][ws]") {
  const std::string bytes = frame(0x1, "Hel") + frame(fin | 0x9, "ping!") + frame(0x0, "") +
                            frame(0x0, "l", true, 0, {1, 2, 3, 4}) + frame(fin | 0x0, "o, world");
  for (std::size_t chunk : {SIZE_MAX, std::size_t{1}, std::size_t{3}}) {
    CAPTURE(chunk);
    frame_parser p(max_message);
    auto e = feed(p, bytes, chunk);
    REQUIRE(e.size() == 2);
    CHECK(e[0].kind == event::ping);
    CHECK(e[0].data == "ping!");
    CHECK(e[1].kind == event::message);
    CHECK_FALSE(e[1].binary);
    CHECK(e[1].data == "Hello, world");
    CHECK_FALSE(p.holding());  // the message's buffer is released
  }
  auto e = feed(frame(0x2, "\x01") + frame(fin | 0x0, "\x02"));
  REQUIRE(e.size() == 1);
  CHECK(e[0].binary);
  CHECK(e[0].data == "\x01\x02");
}

TEST_CASE("ws_frame: bytes are held only for an unfinished frame or message", "[protocol][ws]") {
  frame_parser p(max_message);
  std::string whole = text("complete");
  CHECK(feed(p, whole).size() == 1);
  CHECK_FALSE(p.holding());
  std::string part = text("partial frame");
  CHECK(feed(p, part.substr(0, 4)).empty());
  CHECK(p.holding());
  auto e = feed(p, part.substr(4));
  REQUIRE(e.size() == 1);
  CHECK(e[0].data == "partial frame");
  CHECK_FALSE(p.holding());
  CHECK(feed(p, frame(0x1, "first")).empty());
  CHECK(p.holding());
}

TEST_CASE("ws_frame: protocol errors close with 1002", "[protocol][ws]") {
  using hub::ws::close_code::protocol_error;
  CHECK(error_code(frame(fin | 0x1, "hi", false)) == protocol_error);  // unmasked
  CHECK(error_code(frame(fin | 0x40 | 0x1, "hi")) == protocol_error);  // RSV1
  CHECK(error_code(frame(fin | 0x20 | 0x1, "hi")) == protocol_error);  // RSV2
  CHECK(error_code(frame(fin | 0x10 | 0x1, "hi")) == protocol_error);  // RSV3
  for (std::uint8_t op : {0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf}) {
    CAPTURE(int(op));
    CHECK(error_code(frame(fin | op, "")) == protocol_error);  // reserved opcodes
  }
  CHECK(error_code(frame(fin | 0x9, std::string(126, 'p'))) == protocol_error);  // control > 125
  CHECK(error_code(frame(fin | 0xa, "", true, 16)) == protocol_error);           // ...or its encoding
  CHECK(error_code(frame(0x9, "p")) == protocol_error);                          // control without FIN
  CHECK(error_code(frame(0x8, close_payload(1000))) == protocol_error);
  CHECK(error_code(frame(fin | 0x0, "lost")) == protocol_error);                 // continuation first
  CHECK(error_code(text("done") + frame(fin | 0x0, "more")) == protocol_error);  // ...after a message
  CHECK(error_code(frame(0x1, "open") + text("new")) == protocol_error);         // new message inside
  CHECK(error_code(frame(0x1, "open") + binary("new")) == protocol_error);
  // 64-bit length with the most significant bit set: refused from the header alone.
  std::string huge =
    "\x82\xff\x80\x00\x00\x00\x00\x00\x00\x05"
    "abcd"s;
  CHECK(error_code(huge, SIZE_MAX) == protocol_error);
  // Lengths must use the shortest encoding.
  CHECK(error_code(frame(fin | 0x1, "abc", true, 16)) == protocol_error);
  CHECK(error_code(frame(fin | 0x1, std::string(125, 'a'), true, 16)) == protocol_error);
  CHECK(error_code(frame(fin | 0x1, std::string(126, 'a'), true, 16)) == 0);
  CHECK(error_code(frame(fin | 0x2, "abc", true, 64)) == protocol_error);
  CHECK(error_code(frame(fin | 0x2, std::string(65535, 'a'), true, 64)) == protocol_error);
  CHECK(error_code(frame(fin | 0x2, std::string(65536, 'a'), true, 64)) == 0);
  // The error is reported as soon as the first two bytes show it, and nothing after it.
  frame_parser p(max_message);
  std::string bad = frame(fin | 0x1, "hi", false);
  auto e = feed(p, bad.substr(0, 2));
  REQUIRE(e.size() == 1);
  CHECK(e[0].kind == event::error);
  CHECK(std::string(e[0].what) == "unmasked client frame");
  CHECK(p.done());
  CHECK(feed(p, text("after")).empty());
}

TEST_CASE("ws_frame: a message over the maximum is 1009 from its declared length", "[protocol][ws]") {
  using hub::ws::close_code::too_big;
  const std::size_t max = 1000;
  CHECK(error_code(text(std::string(max, 'a')), max) == 0);
  std::string over = text(std::string(max + 1, 'a'));
  // Only the header: the payload need not arrive (nor be held) for the error.
  frame_parser p(max);
  auto e = feed(p, over.substr(0, 8));
  REQUIRE(e.size() == 1);
  CHECK(e[0].kind == event::error);
  CHECK(e[0].code == too_big);
  CHECK_FALSE(p.holding());
  // Fragments count together; each message starts from zero again.
  CHECK(error_code(frame(0x2, std::string(600, 'a')) + frame(fin | 0x0, std::string(401, 'b')), max) == too_big);
  CHECK(error_code(
          frame(0x2, std::string(600, 'a')) + frame(fin | 0x0, std::string(400, 'b')) + binary(std::string(max, 'c')),
          max) == 0);
  // A 64-bit length far over the maximum.
  CHECK(error_code("\x82\xff\x00\x00\x01\x00\x00\x00\x00\x00"
                   "abcd"s,
                   max) == too_big);
  // Control frames do not count towards it.
  CHECK(error_code(frame(0x1, std::string(max, 'a')) + frame(fin | 0x9, "p") + frame(fin | 0x0, ""), max) == 0);
}

TEST_CASE("ws_frame: text must be UTF-8 (1007), across fragment boundaries", "[protocol][ws]") {
  using hub::ws::close_code::bad_payload;
  CHECK(error_code(text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")) == 0);
  CHECK(error_code(text("\xff")) == bad_payload);
  CHECK(error_code(text("\xc0\xaf")) == bad_payload);          // overlong '/'
  CHECK(error_code(text("\xe0\x80\xaf")) == bad_payload);      // overlong, 3 bytes
  CHECK(error_code(text("\xed\xa0\x80")) == bad_payload);      // surrogate U+D800
  CHECK(error_code(text("\xf4\x90\x80\x80")) == bad_payload);  // above U+10FFFF
  CHECK(error_code(text("ends in \xe2\x82")) == bad_payload);  // unfinished character
  CHECK(error_code(binary("\xff\xc0\xaf")) == 0);              // binary is not checked
  // "€" split across fragments (and a ping between them) is one valid character.
  auto e = feed(frame(0x1, "\xe2") + frame(fin | 0x9, "") + frame(0x0, "\x82") + frame(fin | 0x0, "\xac!"), 1);
  REQUIRE(e.size() == 2);
  CHECK(e[1].kind == event::message);
  CHECK(e[1].data == "\xe2\x82\xac!");
  // A surrogate split the same way is not.
  CHECK(error_code(frame(0x1, "a\xed") + frame(fin | 0x0, "\xa0\x80")) == bad_payload);
  // An unfinished character at the end of the last fragment.
  CHECK(error_code(frame(0x1, "a") + frame(fin | 0x0, "\xf0\x9f\x98")) == bad_payload);
  // Invalid bytes are reported before the (declared) rest of the frame arrives.
  frame_parser p(max_message);
  std::string bytes = text("\xff" + std::string(1000, 'a'));
  auto early = feed(p, bytes.substr(0, 10));
  REQUIRE(early.size() == 1);
  CHECK(early[0].code == bad_payload);
}

TEST_CASE("ws_frame: close frame payloads", "[protocol][ws]") {
  using hub::ws::close_code::protocol_error;
  auto e = feed(frame(fin | 0x8, ""));
  REQUIRE(e.size() == 1);
  CHECK(e[0].kind == event::close);
  CHECK(e[0].code == 0);
  e = feed(frame(fin | 0x8, close_payload(1001, "going \xc3\xa9")) + text("ignored after close"), 1);
  REQUIRE(e.size() == 1);
  CHECK(e[0].kind == event::close);
  CHECK(e[0].code == 1001);
  CHECK(e[0].data == "going \xc3\xa9");
  for (std::uint16_t code : {1000, 1003, 1007, 1011, 3000, 4999}) {
    CAPTURE(code);
    CHECK(error_code(frame(fin | 0x8, close_payload(code))) == 0);
  }
  for (std::uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1100, 2999, 5000, 65535}) {
    CAPTURE(code);
    CHECK(error_code(frame(fin | 0x8, close_payload(code))) == protocol_error);
  }
  CHECK(error_code(frame(fin | 0x8, "\x03")) == protocol_error);                           // 1 byte
  CHECK(error_code(frame(fin | 0x8, close_payload(1000, "\xc0\xaf"))) == protocol_error);  // reason not UTF-8
}

TEST_CASE("ws_frame: utf8_validator agrees with itself fed in any split", "[protocol][ws]") {
  const std::pair<std::string, bool> cases[] = {
    {"", true},
    {"plain ascii text, more than eight bytes", true},
    {"\xc2\x80\xdf\xbf", true},
    {"\xe0\xa0\x80\xef\xbf\xbf", true},
    {"\xed\x9f\xbf", true},
    {"\xee\x80\x80", true},
    {"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", true},
    {"\x80", false},
    {"\xc1\xbf", false},
    {"\xe0\x9f\xbf", false},
    {"\xed\xbf\xbf", false},
    {"\xf0\x8f\xbf\xbf", false},
    {"\xf5\x80\x80\x80", false},
    {"\xc2", false},
    {"\xc2\x41", false},
    {"abcdefgh\xe2\x82", false},
    {"abcdefghij\xe2\x82\xac", true},
  };
  for (const auto& [bytes, valid] : cases) {
    CAPTURE(bytes);
    CHECK(hub::ws::valid_utf8(bytes) == valid);
    for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
      hub::ws::utf8_validator v;
      bool ok = v.feed(std::string_view(bytes).substr(0, cut));
      ok = v.feed(std::string_view(bytes).substr(cut)) && ok;
      CHECK((ok && v.complete()) == valid);
    }
  }
}

TEST_CASE("ws_frame: unmask matches byte-wise XOR at every length and key offset", "[protocol][ws]") {
  const std::uint8_t key[4] = {0xde, 0xad, 0xbe, 0xef};
  for (std::size_t len = 0; len < 40; ++len) {
    for (std::size_t offset = 0; offset < 4; ++offset) {
      std::string data(len, '\0');
      for (std::size_t i = 0; i < len; ++i) data[i] = static_cast<char>(i * 7 + 1);
      std::string expected = data;
      for (std::size_t i = 0; i < len; ++i) expected[i] = static_cast<char>(expected[i] ^ key[(offset + i) % 4]);
      hub::ws::unmask(data.data(), len, key, offset);
      CAPTURE(len, offset);
      CHECK(data == expected);
    }
  }
}

TEST_CASE("ws_frame: server frame headers", "[protocol][ws]") {
  std::string out;
  hub::ws::append_frame(out, hub::ws::opcode::pong, "abc");
  CHECK(out ==
        "\x8a\x03"
        "abc"s);
  out.clear();
  hub::ws::append_close(out, 1009);
  CHECK(out == "\x88\x02\x03\xf1"s);
  out.clear();
  hub::ws::append_header(out, hub::ws::opcode::text, 126);
  CHECK(out == "\x81\x7e\x00\x7e"s);
  out.clear();
  hub::ws::append_header(out, hub::ws::opcode::binary, 65536);
  CHECK(out == "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00"s);
}
