#include "protocol/base64.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

using namespace std::string_literals;
using namespace std::string_view_literals;

TEST_CASE("base64: RFC 4648 test vectors", "[protocol][base64]") {
  const std::pair<std::string, std::string> vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    CAPTURE(plain);
    CHECK(hub::base64::encode(plain) == encoded);
    const auto decoded = hub::base64::decode(encoded);
    REQUIRE(decoded.has_value());
    CHECK(*decoded == plain);
  }
}

TEST_CASE("base64: the Engine.IO example 01 02 03 04", "[protocol][base64]") {
  CHECK(hub::base64::encode("\x01\x02\x03\x04"sv) == "AQIDBA==");
  const auto decoded = hub::base64::decode("AQIDBA==");
  REQUIRE(decoded.has_value());
  CHECK(*decoded == "\x01\x02\x03\x04"s);
  CHECK(decoded->size() == 4);  // padding zeros stripped
}

TEST_CASE("base64: padding is stripped from the decoded length", "[protocol][base64]") {
  CHECK(hub::base64::decode("AA==") == std::optional<std::string>("\0"s));
  CHECK(hub::base64::decode("AAA=") == std::optional<std::string>("\0\0"s));
  CHECK(hub::base64::decode("AAAA") == std::optional<std::string>("\0\0\0"s));
  CHECK(hub::base64::encode("\0"s) == "AA==");
  CHECK(hub::base64::encode("\0\0"s) == "AAA=");
  CHECK(hub::base64::encode("\0\0\0"s) == "AAAA");
}

TEST_CASE("base64: every byte value and every length round-trip", "[protocol][base64]") {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  const std::string encoded = hub::base64::encode(all);
  CHECK(encoded.size() == 4 * ((256 + 2) / 3));
  CHECK(encoded.find('\0') == std::string::npos);
  CHECK(hub::base64::decode(encoded) == std::optional<std::string>(all));

  for (std::size_t len = 0; len <= 64; ++len) {
    CAPTURE(len);
    const std::string data = all.substr(256 - len - 3, len);
    const std::string text = hub::base64::encode(data);
    CHECK(text.size() == 4 * ((len + 2) / 3));
    CHECK(hub::base64::decode(text) == std::optional<std::string>(data));
  }
}

TEST_CASE("base64: alphabet uses + and /", "[protocol][base64]") {
  CHECK(hub::base64::encode("\xfb\xff\xbf"sv) == "+/+/");
  CHECK(hub::base64::decode("+/+/") == std::optional<std::string>("\xfb\xff\xbf"s));
}

TEST_CASE("base64: encode_append appends after existing content", "[protocol][base64]") {
  std::string out = "b";
  hub::base64::encode_append(out, "\x01\x02\x03\x04"sv);
  CHECK(out == "bAQIDBA==");
  hub::base64::encode_append(out, "");
  CHECK(out == "bAQIDBA==");
  hub::base64::encode_append(out, "foobar");
  CHECK(out == "bAQIDBA==Zm9vYmFy");
}

TEST_CASE("base64: empty input", "[protocol][base64]") {
  CHECK(hub::base64::encode("").empty());
  const auto decoded = hub::base64::decode("");
  REQUIRE(decoded.has_value());
  CHECK(decoded->empty());
}

TEST_CASE("base64: invalid input is rejected", "[protocol][base64]") {
  const std::string_view bad[] = {
    "A",        "AB",
    "ABC",      "ABCDE",  // length not a multiple of 4
    "Zg",       "Zg=",
    "Zm8",  // missing padding
    "AB=C",     "A=BC",
    "=ABC",  // '=' not at the end
    "A===",     "====",
    "Zg==Zg==",  // too much / inner padding
    " Zg=",     "Zg= ",
    "Zm9v\n",   "Zm 9",  // whitespace
    "Zm9v-",    "-_-_",
    "Zm9v\r\n",                      // URL-safe alphabet, junk
    "Zm9\x80",  "\xff\xff\xff\xff",  // non-ASCII
  };
  for (auto text : bad) {
    CAPTURE(text);
    CHECK_FALSE(hub::base64::decode(text).has_value());
  }
  CHECK_FALSE(hub::base64::decode("Zm9\0"sv).has_value());
}
