#include "protocol/engineio_packet.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

using namespace std::string_literals;
using namespace std::string_view_literals;
using hub::eio::packet;
using hub::eio::packet_type;

namespace {

packet text(packet_type t, std::string data = {}) { return packet{t, false, std::move(data)}; }
packet bin(std::string bytes) { return packet{packet_type::message, true, std::move(bytes)}; }

}  // namespace

TEST_CASE("eio: encode_text writes the type digit and the data", "[protocol][eio]") {
  CHECK(hub::eio::encode_text(text(packet_type::open, R"({"sid":"x"})")) == R"(0{"sid":"x"})");
  CHECK(hub::eio::encode_text(text(packet_type::close)) == "1");
  CHECK(hub::eio::encode_text(text(packet_type::ping)) == "2");
  CHECK(hub::eio::encode_text(text(packet_type::ping, "probe")) == "2probe");
  CHECK(hub::eio::encode_text(text(packet_type::pong, "probe")) == "3probe");
  CHECK(hub::eio::encode_text(text(packet_type::message, "hello")) == "4hello");
  CHECK(hub::eio::encode_text(text(packet_type::message)) == "4");
  CHECK(hub::eio::encode_text(text(packet_type::upgrade)) == "5");
  CHECK(hub::eio::encode_text(text(packet_type::noop)) == "6");
  CHECK(hub::eio::encode_text(text(packet_type::message, "h\xc3\xa9llo")) == "4h\xc3\xa9llo");
}

TEST_CASE("eio: encode_text of a binary packet is the base64 form", "[protocol][eio]") {
  CHECK(hub::eio::encode_text(bin("\x01\x02\x03\x04")) == "bAQIDBA==");
  CHECK(hub::eio::encode_text(bin("")) == "b");
}

TEST_CASE("eio: decode_text reads every packet type", "[protocol][eio]") {
  for (int t = 0; t <= 6; ++t) {
    CAPTURE(t);
    const std::string frame = std::string(1, static_cast<char>('0' + t)) + "data";
    const auto p = hub::eio::decode_text(frame);
    REQUIRE(p.has_value());
    CHECK(p->type == static_cast<packet_type>(t));
    CHECK_FALSE(p->binary);
    CHECK(p->data == "data");
  }
}

TEST_CASE("eio: decode_text examples", "[protocol][eio]") {
  CHECK(hub::eio::decode_text("4hello") == std::optional<packet>(text(packet_type::message, "hello")));
  CHECK(hub::eio::decode_text("2probe") == std::optional<packet>(text(packet_type::ping, "probe")));
  CHECK(hub::eio::decode_text("3probe") == std::optional<packet>(text(packet_type::pong, "probe")));
  CHECK(hub::eio::decode_text("2") == std::optional<packet>(text(packet_type::ping)));
  CHECK(hub::eio::decode_text("4") == std::optional<packet>(text(packet_type::message)));
  CHECK(hub::eio::decode_text("5") == std::optional<packet>(text(packet_type::upgrade)));
  // The data is taken verbatim, whatever it holds.
  CHECK(hub::eio::decode_text("44\x1f\0x"sv) == std::optional<packet>(text(packet_type::message, "4\x1f\0x"s)));
}

TEST_CASE("eio: decode_text rejects a bad type character", "[protocol][eio]") {
  const std::string_view bad[] = {"", "7", "9hello", "b", "bAQIDBA==", "/", ":", "x4", " 4", "\x1e"};
  for (auto frame : bad) {
    CAPTURE(frame);
    CHECK_FALSE(hub::eio::decode_text(frame).has_value());
  }
}

TEST_CASE("eio: encode_payload joins packets with the record separator", "[protocol][eio]") {
  const std::vector<packet> packets = {text(packet_type::message, "hello"), text(packet_type::ping),
                                       bin("\x01\x02\x03\x04")};
  CHECK(hub::eio::encode_payload(packets) ==
        "4hello\x1e"
        "2\x1e"
        "bAQIDBA==");
  CHECK(hub::eio::encode_payload({}).empty());
  CHECK(hub::eio::encode_payload({text(packet_type::noop)}) == "6");
  CHECK(hub::eio::encode_payload({text(packet_type::message), text(packet_type::message)}) ==
        "4\x1e"
        "4");
  CHECK(hub::eio::encode_payload({bin(""), bin("f")}) ==
        "b\x1e"
        "bZg==");
}

TEST_CASE("eio: append_to_payload adds the separator only between packets", "[protocol][eio]") {
  std::string payload;
  hub::eio::append_to_payload(payload, text(packet_type::message, "hello"));
  CHECK(payload == "4hello");
  hub::eio::append_to_payload(payload, text(packet_type::ping));
  CHECK(payload ==
        "4hello\x1e"
        "2");
  hub::eio::append_to_payload(payload, bin("\x01\x02\x03\x04"));
  CHECK(payload ==
        "4hello\x1e"
        "2\x1e"
        "bAQIDBA==");
}

TEST_CASE("eio: decode_payload, the spec example", "[protocol][eio]") {
  const auto packets = hub::eio::decode_payload(
    "4hello\x1e"
    "2\x1e"
    "bAQIDBA==");
  REQUIRE(packets.has_value());
  REQUIRE(packets->size() == 3);
  CHECK((*packets)[0] == text(packet_type::message, "hello"));
  CHECK((*packets)[1] == text(packet_type::ping));
  CHECK((*packets)[2].type == packet_type::message);
  CHECK((*packets)[2].binary);
  CHECK((*packets)[2].data == "\x01\x02\x03\x04"s);
}

TEST_CASE("eio: decode_payload, single packets and edge cases", "[protocol][eio]") {
  auto one = hub::eio::decode_payload("4hello");
  REQUIRE(one.has_value());
  CHECK(*one == std::vector<packet>{text(packet_type::message, "hello")});

  one = hub::eio::decode_payload("1");
  REQUIRE(one.has_value());
  CHECK(*one == std::vector<packet>{text(packet_type::close)});

  // "b" with nothing after it is an empty binary message.
  one = hub::eio::decode_payload("b");
  REQUIRE(one.has_value());
  CHECK(*one == std::vector<packet>{bin("")});

  // Empty text messages next to each other.
  auto many = hub::eio::decode_payload(
    "4\x1e"
    "4\x1e"
    "6");
  REQUIRE(many.has_value());
  CHECK(*many == std::vector<packet>{text(packet_type::message), text(packet_type::message), text(packet_type::noop)});
}

TEST_CASE("eio: decode_payload errors fail the whole payload", "[protocol][eio]") {
  const std::string_view bad[] = {
    "",   // empty payload
    "7",  // unknown type
    "4hello\x1e"
    "7",  // unknown type after a good packet
    "x\x1e"
    "4hello",  // unknown type first
    "4hello\x1e\x1e"
    "2",           // empty segment
    "4hello\x1e",  // trailing separator
    "\x1e"
    "4hello",    // leading separator
    "\x1e",      // only a separator
    "bAQI",      // base64 length not a multiple of 4
    "bAQIDBA=",  // bad padding
    "b!!!!",     // not base64
    "4a\x1e"
    "bAQIDBA==\x1e"
    "bA",  // bad base64 at the end
    "B"
    "AQIDBA==",  // capital B is not the binary marker
  };
  for (auto payload : bad) {
    CAPTURE(payload);
    CHECK_FALSE(hub::eio::decode_payload(payload).has_value());
  }
}

TEST_CASE("eio: payload round-trip", "[protocol][eio]") {
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes += static_cast<char>(i);
  const std::vector<packet> packets = {
    text(packet_type::open, R"({"sid":"abc","upgrades":["websocket"]})"),
    text(packet_type::message, R"(2["chat",{"text":"h\u00e9"}])"),
    bin(all_bytes),
    bin(""),
    text(packet_type::message),
    text(packet_type::pong, "probe"),
    bin("\x1e\x1e"),  // the separator inside binary data is fine: it is base64 encoded
    text(packet_type::close),
  };
  const std::string payload = hub::eio::encode_payload(packets);
  const auto decoded = hub::eio::decode_payload(payload);
  REQUIRE(decoded.has_value());
  CHECK(*decoded == packets);

  std::string appended;
  for (const auto& p : packets) hub::eio::append_to_payload(appended, p);
  CHECK(appended == payload);
}
