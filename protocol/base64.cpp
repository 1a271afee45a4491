#include "protocol/base64.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

namespace hub::base64 {
namespace {

// EVP_*Block take an int length: work in chunks that keep every length well inside
// int. Encoding chunks are a multiple of 3 bytes, decoding chunks a multiple of 4.
constexpr std::size_t encode_chunk = std::size_t{3} << 28;  // 805 MB in, 1 GiB out
constexpr std::size_t decode_chunk = std::size_t{1} << 30;  // 1 GiB in, 768 MB out

constexpr std::array<bool, 256> make_alphabet() {
  std::array<bool, 256> table{};
  for (char c = 'A'; c <= 'Z'; ++c) table[static_cast<unsigned char>(c)] = true;
  for (char c = 'a'; c <= 'z'; ++c) table[static_cast<unsigned char>(c)] = true;
  for (char c = '0'; c <= '9'; ++c) table[static_cast<unsigned char>(c)] = true;
  table[static_cast<unsigned char>('+')] = true;
  table[static_cast<unsigned char>('/')] = true;
  return table;
}

constexpr std::array<bool, 256> alphabet = make_alphabet();

const unsigned char* bytes_of(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

void encode_append(std::string& out, std::string_view bytes) {
  if (bytes.empty()) return;
  const std::size_t start = out.size();
  const std::size_t encoded = 4 * ((bytes.size() + 2) / 3);
  // EVP_EncodeBlock writes a NUL after the text: make room for it, then drop it.
  out.resize(start + encoded + 1);
  auto* dst = reinterpret_cast<unsigned char*>(out.data() + start);
  std::size_t offset = 0;
  while (offset < bytes.size()) {
    const std::size_t n = std::min(encode_chunk, bytes.size() - offset);
    const int written = EVP_EncodeBlock(dst, bytes_of(bytes) + offset, static_cast<int>(n));
    dst += written;
    offset += n;
  }
  out.resize(start + encoded);
}

std::string encode(std::string_view bytes) {
  std::string out;
  encode_append(out, bytes);
  return out;
}

std::optional<std::string> decode(std::string_view text) {
  if (text.empty()) return std::string{};
  if (text.size() % 4 != 0) return std::nullopt;

  // EVP_DecodeBlock is lenient (it trims whitespace, treats '=' as a zero digit
  // anywhere and stops at '-'), so validate strictly first: alphabet characters, then
  // at most two '=' at the very end.
  std::size_t padding = 0;
  if (text.back() == '=') {
    padding = text[text.size() - 2] == '=' ? 2 : 1;
  }
  const std::size_t body = text.size() - padding;
  for (std::size_t i = 0; i < body; ++i) {
    if (!alphabet[static_cast<unsigned char>(text[i])]) return std::nullopt;
  }

  // The decoded length counts the padding as zero bytes; strip them afterwards.
  const std::size_t decoded = text.size() / 4 * 3;
  std::string out;
  // EVP_DecodeBlock writes exactly 3 bytes per 4 characters (no terminator).
  out.resize(decoded);
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  std::size_t offset = 0;
  while (offset < text.size()) {
    const std::size_t n = std::min(decode_chunk, text.size() - offset);
    const int written = EVP_DecodeBlock(dst, bytes_of(text) + offset, static_cast<int>(n));
    if (written < 0) return std::nullopt;
    dst += written;
    offset += n;
  }
  out.resize(decoded - padding);
  return out;
}

std::optional<std::string> decode_url(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t bits = 0;
  int held = 0;  // bits in `bits`
  for (char c : text) {
    const int v = value(c);
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    held += 6;
    if (held >= 8) {
      held -= 8;
      out += static_cast<char>((bits >> held) & 0xFF);
    }
  }
  if ((bits & ((1u << held) - 1)) != 0) return std::nullopt;  // non-canonical tail
  return out;
}

std::string encode_url(std::string_view bytes) {
  std::string out = encode(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (auto& c : out) {
    if (c == '+')
      c = '-';
    else if (c == '/')
      c = '_';
  }
  return out;
}

}  // namespace hub::base64
