// WebSocket frames as a server reads them (RFC 6455 §5), and UTF-8 validation. Pure: no
// I/O. The parser unmasks in place in the caller's buffer and holds bytes itself only
// for a frame that arrived in part or a fragmented message, so that an idle connection
// keeps no read buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hub::ws {

// Close codes the server sends.
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t bad_payload = 1007;      // text that is not UTF-8
inline constexpr std::uint16_t try_again_later = 1013;  // overloaded, or the client reads too slowly
inline constexpr std::uint16_t too_big = 1009;
}  // namespace close_code

// A code a peer may put in a close frame (RFC 6455 §7.4; 1012 and 1013 as Beast).
bool valid_close_code(std::uint16_t code);

// Incremental UTF-8 validation (RFC 3629: no overlongs, no surrogates, at most
// U+10FFFF), so that a character split across frames or reads is checked as one.
class utf8_validator {
 public:
  // False as soon as the bytes so far cannot start valid UTF-8 (and from then on).
  bool feed(std::string_view bytes);
  // True when no character is left unfinished.
  bool complete() const { return !failed_ && need_ == 0; }
  void reset() { *this = utf8_validator(); }

 private:
  std::uint8_t need_ = 0;               // continuation bytes still expected
  std::uint8_t lo_ = 0x80, hi_ = 0xbf;  // range of the next continuation byte
  bool failed_ = false;
};

bool valid_utf8(std::string_view bytes);

// XORs `n` bytes with the masking key, starting at key byte `offset` (0..3).
void unmask(char* data, std::size_t n, const std::uint8_t key[4], std::size_t offset);

namespace opcode {
inline constexpr std::uint8_t continuation = 0x0, text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xa;
}

// Server frames are unmasked and unfragmented (RFC 6455 §5.2). The header of a frame
// whose payload of `length` bytes the caller appends next:
void append_header(std::string& out, std::uint8_t opcode, std::uint64_t length);
void append_frame(std::string& out, std::uint8_t opcode, std::string_view payload);
void append_close(std::string& out, std::uint16_t code);  // no reason
// With a reason for the client (cut to the 123 bytes a control frame leaves for it).
void append_close(std::string& out, std::uint16_t code, std::string_view reason);

// What the parser found: one whole message, one control frame, or an error that ends
// the connection (with the close code to send).
struct event {
  enum kind_type : std::uint8_t { none, message, ping, pong, close, error };
  kind_type kind = none;
  bool binary = false;     // message
  std::uint16_t code = 0;  // close: the peer's code (0 if none); error: the code to send
  std::string data;        // message payload, ping/pong payload, close reason
  const char* what = "";   // error: why, for the log
};

// Client-to-server frames. Feed it bytes as they arrive; each next() returns at most
// one event and consumes input up to it. After a close or an error it consumes and
// returns nothing more.
class frame_parser {
 public:
  // Messages (all fragments together) larger than `max_message` bytes are an error
  // (1009) as soon as a frame header declares the length.
  explicit frame_parser(std::size_t max_message) : max_message_(max_message) {}

  // Consumes bytes from the front of [data, data + size), unmasking them in place;
  // advances `data` and `size` past what it used. Returns `none` when it needs more.
  event next(char*& data, std::size_t& size);

  bool done() const { return state_ == state::done; }
  // True while bytes of an unfinished frame or message are held here.
  bool holding() const { return hdr_len_ > 0 || !message_.empty() || !control_.empty(); }

 private:
  enum class state : std::uint8_t { header, payload, done };

  event fail(std::uint16_t code, const char* what);
  // Both `none` unless an error: the rules the first two bytes can break, then the rest.
  event check_start(std::uint8_t b0, std::uint8_t b1);
  event parse_header(const std::uint8_t* h);
  event finish_control(std::string payload);
  event finish_message(std::string payload);

  std::size_t max_message_;
  std::uint64_t remaining_ = 0;     // payload bytes of the current frame still to come
  std::uint64_t message_size_ = 0;  // bytes of the open message so far (all fragments)
  std::string message_;             // an unfinished data message's unmasked bytes
  std::string control_;             // an unfinished control frame's unmasked bytes
  utf8_validator utf8_;
  std::uint8_t key_[4] = {};
  std::uint8_t key_offset_ = 0;  // position in the key of the next payload byte
  std::uint8_t hdr_[14] = {};    // a header that arrived in part
  std::uint8_t hdr_len_ = 0;
  std::uint8_t opcode_ = 0;  // of the current frame
  bool fin_ = false;
  bool in_message_ = false;  // a data message is open (until its FIN frame ends)
  bool binary_ = false;      // the open message's type
  state state_ = state::header;
};

}  // namespace hub::ws
