#include "protocol/ws_frame.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace hub::ws {

bool valid_close_code(std::uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1013) || (code >= 3000 && code <= 4999);
}

bool utf8_validator::feed(std::string_view bytes) {
  if (failed_) return false;
  auto p = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto end = p + bytes.size();
  while (p < end) {
    if (need_ > 0) {
      unsigned char b = *p++;
      if (b < lo_ || b > hi_) return !(failed_ = true);
      --need_;
      lo_ = 0x80;
      hi_ = 0xbf;
      continue;
    }
    // Mostly ASCII (JSON): eight bytes at a time.
    while (end - p >= 8) {
      std::uint64_t v;
      std::memcpy(&v, p, 8);
      if (v & 0x8080808080808080ull) break;
      p += 8;
    }
    if (p == end) break;
    unsigned char b = *p++;
    if (b < 0x80) continue;
    // The second byte's range rules out overlongs (E0, F0), surrogates (ED) and code
    // points above U+10FFFF (F4).
    if (b >= 0xc2 && b <= 0xdf)
      need_ = 1;
    else if (b >= 0xe0 && b <= 0xef)
      need_ = 2;
    else if (b >= 0xf0 && b <= 0xf4)
      need_ = 3;
    else
      return !(failed_ = true);
    lo_ = b == 0xe0 ? 0xa0 : b == 0xf0 ? 0x90 : 0x80;
    hi_ = b == 0xed ? 0x9f : b == 0xf4 ? 0x8f : 0xbf;
  }
  return true;
}

bool valid_utf8(std::string_view bytes) {
  utf8_validator v;
  return v.feed(bytes) && v.complete();
}

void unmask(char* data, std::size_t n, const std::uint8_t key[4], std::size_t offset) {
  std::uint8_t k[8];
  for (std::size_t i = 0; i < 8; ++i) k[i] = key[(offset + i) & 3];
  std::uint64_t k8;
  std::memcpy(&k8, k, 8);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t v;
    std::memcpy(&v, data + i, 8);
    v ^= k8;
    std::memcpy(data + i, &v, 8);
  }
  for (; i < n; ++i) data[i] = static_cast<char>(data[i] ^ k[i & 7]);
}

void append_header(std::string& out, std::uint8_t opcode, std::uint64_t length) {
  char header[10];
  std::size_t n = 0;
  header[n++] = static_cast<char>(0x80 | opcode);
  if (length < 126) {
    header[n++] = static_cast<char>(length);
  } else if (length <= 0xffff) {
    header[n++] = 126;
    header[n++] = static_cast<char>(length >> 8);
    header[n++] = static_cast<char>(length);
  } else {
    header[n++] = 127;
    for (int shift = 56; shift >= 0; shift -= 8) header[n++] = static_cast<char>(length >> shift);
  }
  out.append(header, n);
}

void append_frame(std::string& out, std::uint8_t opcode, std::string_view payload) {
  append_header(out, opcode, payload.size());
  out.append(payload);
}

void append_close(std::string& out, std::uint16_t code) {
  const char payload[2] = {static_cast<char>(code >> 8), static_cast<char>(code)};
  append_frame(out, opcode::close, std::string_view(payload, 2));
}

void append_close(std::string& out, std::uint16_t code, std::string_view reason) {
  std::string payload{static_cast<char>(code >> 8), static_cast<char>(code)};
  payload.append(reason.substr(0, 123));
  append_frame(out, opcode::close, payload);
}

// -- frame_parser -------------------------------------------------------------------------

namespace {

std::size_t header_size(std::uint8_t b1) {
  std::uint8_t len = b1 & 0x7f;
  return 2 + (len == 126 ? 2 : len == 127 ? 8 : 0) + 4;  // a client frame always has a key
}

}  // namespace

event frame_parser::fail(std::uint16_t code, const char* what) {
  state_ = state::done;
  std::string().swap(message_);
  std::string().swap(control_);
  event e;
  e.kind = event::error;
  e.code = code;
  e.what = what;
  return e;
}

event frame_parser::check_start(std::uint8_t b0, std::uint8_t b1) {
  using namespace close_code;
  if (b0 & 0x70) return fail(protocol_error, "reserved bits set");
  std::uint8_t op = b0 & 0x0f;
  if (op > opcode::binary && (op < opcode::close || op > opcode::pong)) return fail(protocol_error, "unknown opcode");
  if (!(b1 & 0x80)) return fail(protocol_error, "unmasked client frame");
  if (op >= opcode::close) {
    if (!(b0 & 0x80)) return fail(protocol_error, "fragmented control frame");
    if ((b1 & 0x7f) > 125) return fail(protocol_error, "control frame over 125 bytes");
  } else if (op == opcode::continuation && !in_message_) {
    return fail(protocol_error, "continuation without a message");
  } else if (op != opcode::continuation && in_message_) {
    return fail(protocol_error, "new message inside a fragmented one");
  }
  return {};
}

event frame_parser::parse_header(const std::uint8_t* h) {
  fin_ = h[0] & 0x80;
  opcode_ = h[0] & 0x0f;
  std::uint64_t len = h[1] & 0x7f;
  std::size_t p = 2;
  // The shortest encoding is a MUST (RFC 6455 §5.2), and Beast refused longer ones.
  if (len == 126) {
    len = std::uint64_t{h[2]} << 8 | h[3];
    p = 4;
    if (len < 126) return fail(close_code::protocol_error, "16-bit length under 126");
  } else if (len == 127) {
    len = 0;
    for (std::size_t i = 2; i < 10; ++i) len = len << 8 | h[i];
    p = 10;
    if (len >> 63) return fail(close_code::protocol_error, "64-bit length with the high bit set");
    if (len <= 0xffff) return fail(close_code::protocol_error, "64-bit length under 65536");
  }
  std::memcpy(key_, h + p, 4);
  key_offset_ = 0;
  remaining_ = len;
  if (opcode_ < opcode::close) {
    if (opcode_ != opcode::continuation) {
      in_message_ = true;
      binary_ = opcode_ == opcode::binary;
      message_size_ = 0;
      utf8_.reset();
    }
    // Refused from the declared length, before any of it is buffered.
    if (len > max_message_ - message_size_) return fail(close_code::too_big, "message over the maximum size");
    message_size_ += len;
  }
  state_ = state::payload;
  return {};
}

event frame_parser::finish_control(std::string payload) {
  event e;
  e.data = std::move(payload);
  if (opcode_ == opcode::ping) {
    e.kind = event::ping;
    return e;
  }
  if (opcode_ == opcode::pong) {
    e.kind = event::pong;
    return e;
  }
  if (e.data.size() == 1) return fail(close_code::protocol_error, "close frame with a 1-byte payload");
  if (e.data.size() >= 2) {
    e.code =
      static_cast<std::uint16_t>(static_cast<std::uint8_t>(e.data[0]) << 8 | static_cast<std::uint8_t>(e.data[1]));
    if (!valid_close_code(e.code)) return fail(close_code::protocol_error, "invalid close code");
    e.data.erase(0, 2);
    if (!valid_utf8(e.data)) return fail(close_code::protocol_error, "close reason not UTF-8");
  }
  e.kind = event::close;
  state_ = state::done;
  std::string().swap(message_);
  return e;
}

event frame_parser::finish_message(std::string payload) {
  if (!binary_ && !utf8_.complete()) return fail(close_code::bad_payload, "text message ends inside a character");
  in_message_ = false;
  message_size_ = 0;
  event e;
  e.kind = event::message;
  e.binary = binary_;
  e.data = std::move(payload);
  return e;
}

event frame_parser::next(char*& data, std::size_t& size) {
  auto advance = [&](std::size_t n) {
    data += n;
    size -= n;
  };
  for (;;) {
    if (state_ == state::done) {
      advance(size);
      return {};
    }

    if (state_ == state::header) {
      // Usually the whole header is in the input: parsed where it lies.
      if (hdr_len_ == 0 && size >= 2) {
        auto u = reinterpret_cast<const std::uint8_t*>(data);
        if (event e = check_start(u[0], u[1]); e.kind) return e;
        std::size_t total = header_size(u[1]);
        if (size >= total) {
          if (event e = parse_header(u); e.kind) return e;
          advance(total);
          continue;
        }
      }
      if (size == 0) return {};
      if (hdr_len_ < 2) {
        std::size_t n = std::min<std::size_t>(2 - hdr_len_, size);
        std::memcpy(hdr_ + hdr_len_, data, n);
        hdr_len_ = static_cast<std::uint8_t>(hdr_len_ + n);
        advance(n);
        if (hdr_len_ < 2) return {};
        if (event e = check_start(hdr_[0], hdr_[1]); e.kind) return e;
      }
      std::size_t total = header_size(hdr_[1]);
      std::size_t n = std::min(total - hdr_len_, size);
      std::memcpy(hdr_ + hdr_len_, data, n);
      hdr_len_ = static_cast<std::uint8_t>(hdr_len_ + n);
      advance(n);
      if (hdr_len_ < total) return {};
      hdr_len_ = 0;
      if (event e = parse_header(hdr_); e.kind) return e;
      continue;
    }

    // Payload. A frame wholly in the input (and a message in one frame) is taken from
    // there; only the rest is held here.
    std::string& held = opcode_ >= opcode::close ? control_ : message_;
    bool whole = held.empty() && size >= remaining_ && (opcode_ >= opcode::close || fin_);
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, size));
    unmask(data, n, key_, key_offset_);
    std::string_view chunk(data, n);
    if (opcode_ < opcode::close && !binary_ && !utf8_.feed(chunk))
      return fail(close_code::bad_payload, "text message not UTF-8");
    std::string payload;
    if (whole)
      payload.assign(chunk);
    else
      held.append(chunk);
    advance(n);
    remaining_ -= n;
    key_offset_ = static_cast<std::uint8_t>((key_offset_ + n) & 3);
    if (remaining_ > 0) return {};
    state_ = state::header;
    if (opcode_ < opcode::close && !fin_) continue;  // the next fragment continues it
    if (!whole) payload = std::exchange(held, {});   // and frees it
    if (opcode_ >= opcode::close) return finish_control(std::move(payload));
    return finish_message(std::move(payload));
  }
}

}  // namespace hub::ws
