#include "protocol/socketio_packet.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

using namespace std::string_literals;
using namespace std::string_view_literals;
using hub::sio::decode_error;
using hub::sio::decoder;
using hub::sio::packet;
using hub::sio::packet_type;

namespace {

constexpr std::string_view spec_binary_data =
  R"(["bin-back",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}])";

packet make(packet_type type, std::string nsp = "/", std::optional<std::uint64_t> id = {}, std::string data = {},
            std::vector<std::string> attachments = {}) {
  return packet{type, std::move(nsp), id, std::move(data), std::move(attachments)};
}

bool is_pending(const decoder::result& r) { return std::holds_alternative<std::nullopt_t>(r); }

bool is_error(const decoder::result& r) { return std::holds_alternative<decode_error>(r); }

std::string describe(const decoder::result& r) {
  if (const auto* e = std::get_if<decode_error>(&r)) return "error: " + e->reason;
  if (is_pending(r)) return "pending";
  return "packet";
}

// Decodes one complete text packet with a fresh decoder.
packet decode_ok(std::string_view text) {
  decoder d;
  auto r = d.feed_text(text);
  INFO("input: " << text << " -> " << describe(r));
  REQUIRE(std::holds_alternative<packet>(r));
  CHECK_FALSE(d.awaiting_attachments());
  return std::get<packet>(std::move(r));
}

// The text alone must be refused (and leave the decoder usable).
void decode_fails(std::string_view text) {
  decoder d;
  const auto r = d.feed_text(text);
  INFO("input: " << text << " -> " << describe(r));
  CHECK(is_error(r));
  CHECK_FALSE(d.awaiting_attachments());
  if (const auto* e = std::get_if<decode_error>(&r)) CHECK_FALSE(e->reason.empty());
  CHECK(std::holds_alternative<packet>(d.feed_text(R"(2["ok"])")));
}

}  // namespace

TEST_CASE("sio: is_event / is_ack helpers", "[protocol][sio]") {
  STATIC_REQUIRE(hub::sio::is_event(packet_type::event));
  STATIC_REQUIRE(hub::sio::is_event(packet_type::binary_event));
  STATIC_REQUIRE_FALSE(hub::sio::is_event(packet_type::ack));
  STATIC_REQUIRE_FALSE(hub::sio::is_event(packet_type::connect));
  STATIC_REQUIRE(hub::sio::is_ack(packet_type::ack));
  STATIC_REQUIRE(hub::sio::is_ack(packet_type::binary_ack));
  STATIC_REQUIRE_FALSE(hub::sio::is_ack(packet_type::binary_event));
  STATIC_REQUIRE_FALSE(hub::sio::is_ack(packet_type::disconnect));
}

TEST_CASE("sio: reserved event names", "[protocol][sio]") {
  for (auto name : {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}) {
    CAPTURE(name);
    CHECK(hub::sio::is_reserved_event_name(name));
  }
  for (auto name : {"", "message", "Connect", "connected", "connect ", "newlistener", "error"}) {
    CAPTURE(name);
    CHECK_FALSE(hub::sio::is_reserved_event_name(name));
  }
}

TEST_CASE("sio: decode CONNECT", "[protocol][sio]") {
  CHECK(decode_ok("0") == make(packet_type::connect));
  CHECK(decode_ok(R"(0{"token":"abc"})") == make(packet_type::connect, "/", {}, R"({"token":"abc"})"));
  // "40/custom": a namespace with no comma runs to the end.
  CHECK(decode_ok("0/custom") == make(packet_type::connect, "/custom"));
  CHECK(decode_ok("0/custom,") == make(packet_type::connect, "/custom"));
  CHECK(decode_ok(R"(0/admin,{"token":"x"})") == make(packet_type::connect, "/admin", {}, R"({"token":"x"})"));
  // "/," is the main namespace written out.
  CHECK(decode_ok("0/,{}") == make(packet_type::connect, "/", {}, "{}"));
  CHECK(decode_ok("0/a/b-c_d.e,") == make(packet_type::connect, "/a/b-c_d.e"));
}

TEST_CASE("sio: decode DISCONNECT", "[protocol][sio]") {
  CHECK(decode_ok("1") == make(packet_type::disconnect));
  CHECK(decode_ok("1/chat,") == make(packet_type::disconnect, "/chat"));
  CHECK(decode_ok("1/chat") == make(packet_type::disconnect, "/chat"));
}

TEST_CASE("sio: decode EVENT", "[protocol][sio]") {
  CHECK(decode_ok(R"(2["hello",1])") == make(packet_type::event, "/", {}, R"(["hello",1])"));
  CHECK(decode_ok(R"(2/chat,12["a"])") == make(packet_type::event, "/chat", 12, R"(["a"])"));
  CHECK(decode_ok(R"(212["a"])") == make(packet_type::event, "/", 12, R"(["a"])"));
  CHECK(decode_ok(R"(20["a"])") == make(packet_type::event, "/", 0, R"(["a"])"));
  CHECK(decode_ok(R"(2/,7["a"])") == make(packet_type::event, "/", 7, R"(["a"])"));
  // A number is a valid event name.
  CHECK(decode_ok("2[1,2]") == make(packet_type::event, "/", {}, "[1,2]"));
  CHECK(decode_ok("2[-1.5e2]") == make(packet_type::event, "/", {}, "[-1.5e2]"));
  // Names that merely resemble reserved ones.
  CHECK(decode_ok(R"(2["connected"])").data == R"(["connected"])");
  CHECK(decode_ok(R"(2["Connect"])").data == R"(["Connect"])");
  // The payload is kept exactly as received: whitespace, key order, number text.
  const std::string raw = R"([ "msg" , {"z":1, "a":[1.0, 2e0]}, "\u00e9" ] )";
  CHECK(decode_ok("2" + raw).data == raw);
  // Leading zeros in the ack id.
  CHECK(decode_ok(R"(2007["a"])").id == std::optional<std::uint64_t>(7));
}

TEST_CASE("sio: decode ACK", "[protocol][sio]") {
  CHECK(decode_ok("3/chat,5[]") == make(packet_type::ack, "/chat", 5, "[]"));
  CHECK(decode_ok(R"(35["x",{"y":null}])") == make(packet_type::ack, "/", 5, R"(["x",{"y":null}])"));
  CHECK(decode_ok("30[]") == make(packet_type::ack, "/", 0, "[]"));
}

TEST_CASE("sio: decode CONNECT_ERROR", "[protocol][sio]") {
  CHECK(decode_ok(R"(4{"message":"Not authorized","data":{"x":1}})") ==
        make(packet_type::connect_error, "/", {}, R"({"message":"Not authorized","data":{"x":1}})"));
  CHECK(decode_ok(R"(4/admin,"legacy")") == make(packet_type::connect_error, "/admin", {}, R"("legacy")"));
}

TEST_CASE("sio: ack id range", "[protocol][sio]") {
  CHECK(decode_ok(R"(218446744073709551615["a"])").id ==
        std::optional<std::uint64_t>(std::numeric_limits<std::uint64_t>::max()));
  CHECK(decode_ok(R"(2/x,9999999999999999999["a"])").id == std::optional<std::uint64_t>(9999999999999999999ULL));
  decode_fails(R"(218446744073709551616["a"])");
  decode_fails(R"(299999999999999999999["a"])");
  decode_fails(R"(3/chat,1234567890123456789012345[])");
}

TEST_CASE("sio: malformed headers are refused", "[protocol][sio]") {
  decode_fails("");
  decode_fails("7");
  decode_fails(R"(7["a"])");
  decode_fails("x");
  decode_fails(R"(/chat,["a"])");
  decode_fails(R"(-1["a"])");
  // Attachment counts.
  decode_fails(R"(5-["a"])");   // no digits
  decode_fails(R"(51x["a"])");  // no '-'
  decode_fails(R"(51["a"])");   // no '-'
  decode_fails("5");            // nothing at all
  decode_fails("51");           // digits, then the end
  decode_fails(R"(5a-["a"])");
  decode_fails(R"(5 1-["a"])");
  decode_fails(R"(511-["a"])");  // more than max_attachments
  decode_fails(R"(5999999999999999999999999999-["a"])");
  decode_fails(R"(6-1[])");
  decode_fails(R"(611-1[])");
}

TEST_CASE("sio: payload rules", "[protocol][sio]") {
  SECTION("CONNECT takes only an object") {
    decode_fails("0[1]");
    decode_fails(R"(0"str")");
    decode_fails("0x");
    decode_fails("0/custom,[]");
    decode_fails("0null");
  }
  SECTION("DISCONNECT takes nothing") {
    decode_fails("1{}");
    decode_fails("1[]");
    decode_fails("1/chat,{}");
    decode_fails("1 ");
  }
  SECTION("EVENT needs a non-empty array named by a string or number") {
    decode_fails("2");
    decode_fails("2/chat,");
    decode_fails("27");  // an ack id and no payload
    decode_fails("2[]");
    decode_fails("2[ ]");
    decode_fails(R"(2[{"a":1}])");
    decode_fails("2[null]");
    decode_fails("2[true]");
    decode_fails(R"(2[["a"]])");
    decode_fails(R"(2{"a":1})");
    decode_fails(R"(2"a")");
    decode_fails("21");
  }
  SECTION("reserved event names are refused") {
    for (auto name : {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}) {
      decode_fails("2[\""s + name + "\"]");
      decode_fails("2/chat,3[\""s + name + "\",1]");
      decode_fails("51-[\""s + name + R"(",{"_placeholder":true,"num":0}])");
    }
    // An escaped spelling is the same name once parsed.
    decode_fails(R"(2["conn\u0065ct"])");
  }
  SECTION("ACK needs an array and an id") {
    decode_fails(R"(3["a"])");
    decode_fails("3[]");
    decode_fails("3/chat,[]");
    decode_fails("3");
    decode_fails("35");
    decode_fails(R"(35{"a":1})");
    decode_fails(R"(35"a")");
    decode_fails(R"(61-[{"_placeholder":true,"num":0}])");
  }
  SECTION("CONNECT_ERROR needs an object or a string") {
    decode_fails("4");
    decode_fails("4[]");
    decode_fails("41");
    decode_fails("4null");
  }
  SECTION("the JSON must parse, completely") {
    decode_fails(R"(2["a")");
    decode_fails(R"(2["a"]x)");
    decode_fails(R"(2["a"]])");
    decode_fails(R"(2["a",])");
    decode_fails(R"(2['a'])");
    decode_fails(R"(2["a"] ["b"])");
    decode_fails(R"(2/chat,["a)");
    decode_fails("2 ");
    decode_fails(R"(0{"a":})");
    decode_fails("2[\"\xff\"]");  // not UTF-8
  }
}

TEST_CASE("sio: binary event, the spec example", "[protocol][sio]") {
  decoder d;
  auto r = d.feed_text("52-"s + std::string(spec_binary_data));
  REQUIRE(is_pending(r));
  CHECK(d.awaiting_attachments());
  r = d.feed_binary("\x01\x02");
  REQUIRE(is_pending(r));
  CHECK(d.awaiting_attachments());
  r = d.feed_binary("\x03");
  INFO(describe(r));
  REQUIRE(std::holds_alternative<packet>(r));
  CHECK_FALSE(d.awaiting_attachments());
  const packet& p = std::get<packet>(r);
  CHECK(p.type == packet_type::binary_event);
  CHECK(hub::sio::is_event(p.type));
  CHECK(p.nsp == "/");
  CHECK_FALSE(p.id.has_value());
  CHECK(p.data == spec_binary_data);
  CHECK(p.attachments == std::vector<std::string>{"\x01\x02", "\x03"});

  // The decoder goes on with the next packet.
  CHECK(std::holds_alternative<packet>(d.feed_text(R"(2["next"])")));
}

TEST_CASE("sio: binary ack with namespace and id", "[protocol][sio]") {
  decoder d;
  REQUIRE(is_pending(d.feed_text(R"(61-/chat,7[{"_placeholder":true,"num":0}])")));
  const auto r = d.feed_binary(""s);  // an empty attachment is still an attachment
  INFO(describe(r));
  REQUIRE(std::holds_alternative<packet>(r));
  CHECK(std::get<packet>(r) == make(packet_type::binary_ack, "/chat", 7, R"([{"_placeholder":true,"num":0}])", {""}));
}

TEST_CASE("sio: binary packets, attachment counts", "[protocol][sio]") {
  SECTION("0- completes at once") {
    CHECK(decode_ok(R"(50-["a"])") == make(packet_type::binary_event, "/", {}, R"(["a"])"));
    CHECK(decode_ok("60-3[]") == make(packet_type::binary_ack, "/", 3, "[]"));
    decode_fails(R"(50-["a",{"_placeholder":true,"num":0}])");
  }
  SECTION("up to max_attachments") {
    decoder d;
    REQUIRE(is_pending(d.feed_text(R"(510-["many",{"_placeholder":true,"num":9}])")));
    for (int i = 0; i < 9; ++i) REQUIRE(is_pending(d.feed_binary(std::string(1, static_cast<char>('a' + i)))));
    const auto r = d.feed_binary("j");
    REQUIRE(std::holds_alternative<packet>(r));
    CHECK(std::get<packet>(r).attachments.size() == 10);
    CHECK(std::get<packet>(r).attachments[9] == "j");
  }
  SECTION("placeholders may repeat, come in any order, or be missing") {
    decoder d;
    REQUIRE(is_pending(d.feed_text(
      R"(53-["x",{"_placeholder":true,"num":2},{"_placeholder":true,"num":2},{"num":0,"_placeholder":true}])")));
    REQUIRE(is_pending(d.feed_binary("A")));
    REQUIRE(is_pending(d.feed_binary("B")));
    const auto r = d.feed_binary("C");
    REQUIRE(std::holds_alternative<packet>(r));
    CHECK(std::get<packet>(r).attachments == std::vector<std::string>{"A", "B", "C"});
  }
  SECTION("leading zeros in the count") {
    decoder d;
    REQUIRE(is_pending(d.feed_text(R"(501-["a",{"_placeholder":true,"num":0}])")));
    CHECK(std::holds_alternative<packet>(d.feed_binary("z")));
  }
}

TEST_CASE("sio: placeholder numbers are checked once the attachments are in", "[protocol][sio]") {
  const std::string bad[] = {
    R"(51-["a",{"_placeholder":true,"num":1}])",
    R"(51-["a",{"_placeholder":true,"num":-1}])",
    R"(51-["a",{"_placeholder":true,"num":"0"}])",
    R"(51-["a",{"_placeholder":true,"num":0.5}])",
    R"(51-["a",{"_placeholder":true}])",
    R"(51-["a",{"_placeholder":true,"num":[0]}])",
    R"(51-["a",{"_placeholder":true,"num":18446744073709551615}])",
    R"(51-["a",{"deep":[{"x":{"_placeholder":true,"num":1}}]}])",
    R"(51-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":3}])",
    R"(61-1[{"_placeholder":true,"num":1}])",
    // The last value of a repeated key counts, as in JSON.parse.
    R"(51-["a",{"_placeholder":true,"num":0,"num":1}])",
    R"(51-["a",{"_placeholder":false,"num":7,"_placeholder":true}])",
  };
  for (const auto& text : bad) {
    CAPTURE(text);
    decoder d;
    REQUIRE(is_pending(d.feed_text(text)));
    const auto r = d.feed_binary("x");
    INFO(describe(r));
    CHECK(is_error(r));
    CHECK_FALSE(d.awaiting_attachments());
    CHECK(std::holds_alternative<packet>(d.feed_text(R"(2["ok"])")));
  }

  const std::string good[] = {
    R"(51-["a",{"_placeholder":true,"num":0}])",
    R"(51-["a",{"_placeholder":true,"num":0.0}])",
    R"(51-["a",{"_placeholder":true,"num":-0}])",
    R"(51-["a",{"_placeholder":true,"num":1,"num":0}])",
    R"(51-["a",{"_placeholder":true,"num":0,"extra":{"_placeholder":true,"num":9}}])",
    // Not placeholders: "_placeholder" is not `true`.
    R"(51-["a",{"_placeholder":false,"num":5},{"_placeholder":"true","num":5},{"_placeholder":1}])",
    R"(51-["a",{"_placeholder":{"x":true},"num":5}])",
    R"(51-["a",{"_placeholder":true,"num":7,"_placeholder":false}])",
  };
  for (const auto& text : good) {
    CAPTURE(text);
    decoder d;
    REQUIRE(is_pending(d.feed_text(text)));
    const auto r = d.feed_binary("x");
    INFO(describe(r));
    CHECK(std::holds_alternative<packet>(r));
  }

  // In a plain EVENT a placeholder-like object is just data.
  CHECK(decode_ok(R"(2["a",{"_placeholder":true,"num":5}])").data == R"(["a",{"_placeholder":true,"num":5}])");
}

TEST_CASE("sio: binary data when none is expected", "[protocol][sio]") {
  decoder d;
  CHECK(is_error(d.feed_binary("\x01")));
  CHECK_FALSE(d.awaiting_attachments());
  // After a complete packet, too.
  REQUIRE(std::holds_alternative<packet>(d.feed_text(R"(2["a"])")));
  CHECK(is_error(d.feed_binary("\x01")));
  REQUIRE(is_pending(d.feed_text(R"(51-["a",{"_placeholder":true,"num":0}])")));
  REQUIRE(std::holds_alternative<packet>(d.feed_binary("\x01")));
  CHECK(is_error(d.feed_binary("\x02")));
  // Still usable.
  CHECK(std::holds_alternative<packet>(d.feed_text(R"(2["a"])")));
}

TEST_CASE("sio: text while waiting for attachments", "[protocol][sio]") {
  decoder d;
  REQUIRE(is_pending(d.feed_text("52-"s + std::string(spec_binary_data))));
  REQUIRE(is_pending(d.feed_binary("\x01\x02")));
  const auto r = d.feed_text(R"(2["a"])");
  INFO(describe(r));
  CHECK(is_error(r));
  // The decoder was reset: the pending packet is gone.
  CHECK_FALSE(d.awaiting_attachments());
  CHECK(is_error(d.feed_binary("\x03")));
  CHECK(std::holds_alternative<packet>(d.feed_text(R"(2["a"])")));
}

TEST_CASE("sio: encode", "[protocol][sio]") {
  using hub::sio::encode;
  CHECK(encode(make(packet_type::connect)) == "0");
  CHECK(encode(make(packet_type::connect, "/", {}, R"({"sid":"abc"})")) == R"(0{"sid":"abc"})");
  // Like Node, a namespace other than "/" is always followed by a comma.
  CHECK(encode(make(packet_type::connect, "/custom")) == "0/custom,");
  CHECK(encode(make(packet_type::connect, "/custom", {}, R"({"sid":"x"})")) == R"(0/custom,{"sid":"x"})");
  CHECK(encode(make(packet_type::disconnect)) == "1");
  CHECK(encode(make(packet_type::disconnect, "/chat")) == "1/chat,");
  CHECK(encode(make(packet_type::event, "/", {}, R"(["a"])")) == R"(2["a"])");
  CHECK(encode(make(packet_type::event, "/chat", 12, R"(["a"])")) == R"(2/chat,12["a"])");
  CHECK(encode(make(packet_type::event, "/", 0, R"(["a"])")) == R"(20["a"])");
  CHECK(encode(make(packet_type::ack, "/", 5, "[]")) == "35[]");
  CHECK(encode(make(packet_type::ack, "/x", std::numeric_limits<std::uint64_t>::max(), "[1]")) ==
        "3/x,18446744073709551615[1]");
  CHECK(encode(make(packet_type::connect_error, "/", {}, R"({"message":"no"})")) == R"(4{"message":"no"})");
  // An empty namespace counts as "/", as in Node.
  CHECK(encode(make(packet_type::event, "", {}, R"(["a"])")) == R"(2["a"])");
}

TEST_CASE("sio: encode with attachments", "[protocol][sio]") {
  const packet p = make(packet_type::event, "/", {}, std::string(spec_binary_data), {"\x01\x02", "\x03"});
  CHECK(hub::sio::encode(p) == "52-"s + std::string(spec_binary_data));

  // encode_append puts Engine.IO's '4' in front: the spec's wire example.
  std::string out = "4";
  hub::sio::encode_append(out, p);
  CHECK(out == R"(452-["bin-back",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}])");

  CHECK(hub::sio::encode(make(packet_type::ack, "/chat", 3, R"([{"_placeholder":true,"num":0}])", {"x"})) ==
        R"(61-/chat,3[{"_placeholder":true,"num":0}])");
  CHECK(hub::sio::encode(make(packet_type::binary_event, "/", {}, R"(["a"])")) == R"(50-["a"])");
  CHECK(hub::sio::encode(make(packet_type::binary_ack, "/", 1, R"(["a",{"_placeholder":true,"num":0}])", {"y"})) ==
        R"(61-1["a",{"_placeholder":true,"num":0}])");
  std::vector<std::string> ten(10, "z");
  CHECK(hub::sio::encode(make(packet_type::event, "/", {}, "[0]", ten)) == "510-[0]");
  // Attachments mean nothing to the other types.
  CHECK(hub::sio::encode(make(packet_type::connect, "/", {}, "{}", {"x"})) == "0{}");
}

TEST_CASE("sio: encode_append appends", "[protocol][sio]") {
  std::string out = "prefix:";
  hub::sio::encode_append(out, make(packet_type::event, "/n", 1, "[2]"));
  CHECK(out == "prefix:2/n,1[2]");
}

TEST_CASE("sio: encode then decode round-trips", "[protocol][sio]") {
  const packet plain[] = {
    make(packet_type::connect),
    make(packet_type::connect, "/admin", {}, R"({"token":"t"})"),
    make(packet_type::disconnect, "/admin"),
    make(packet_type::event, "/", {}, R"(["a",{"b":[1,2]}])"),
    make(packet_type::event, "/chat", 42, R"(["a"])"),
    make(packet_type::ack, "/chat", 42, "[]"),
    make(packet_type::connect_error, "/", {}, R"({"message":"x"})"),
  };
  for (const auto& p : plain) {
    const std::string text = hub::sio::encode(p);
    CAPTURE(text);
    CHECK(decode_ok(text) == p);
  }

  // With attachments, an event comes back as a binary_event.
  const packet with_binary = make(packet_type::event, "/b", 9, std::string(spec_binary_data), {"\x00\x01"s, "\xff"});
  decoder d;
  REQUIRE(is_pending(d.feed_text(hub::sio::encode(with_binary))));
  REQUIRE(is_pending(d.feed_binary(with_binary.attachments[0])));
  const auto r = d.feed_binary(with_binary.attachments[1]);
  REQUIRE(std::holds_alternative<packet>(r));
  packet expected = with_binary;
  expected.type = packet_type::binary_event;
  CHECK(std::get<packet>(r) == expected);
}

TEST_CASE("sio: payload bounds are checked while scanning (depth, members)", "[protocol][sio][limits]") {
  decoder d;
  auto deep = [](std::size_t n) { return std::string(n, '[') + std::string(n, ']'); };
  // The event array is depth 1: 31 more levels make 32, the default bound.
  CHECK_FALSE(is_error(d.feed_text("2[\"e\"," + deep(31) + "]")));
  auto r = d.feed_text("2[\"e\"," + deep(32) + "]");
  REQUIRE(is_error(r));
  CHECK(std::get<decode_error>(r).exceeded == decode_error::bound::depth);
  // The issue's crash: 100k levels, in both forms and in an ack.
  r = d.feed_text("2[\"send-message\"," + deep(100000) + "]");
  REQUIRE(is_error(r));
  CHECK(std::get<decode_error>(r).exceeded == decode_error::bound::depth);
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += R"({"a":)";
  objects += "1" + std::string(100000, '}');
  r = d.feed_text("2[\"join-chat-room\"," + objects + "]");
  REQUIRE(is_error(r));
  CHECK(std::get<decode_error>(r).exceeded == decode_error::bound::depth);
  CHECK(is_error(d.feed_text("31" + deep(100000))));
  CHECK(is_error(d.feed_text("0" + objects)));

  std::string wide = "{";
  for (int i = 0; i < 1001; ++i) wide += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  wide += "}";
  r = d.feed_text("2[\"e\"," + wide + "]");
  REQUIRE(is_error(r));
  CHECK(std::get<decode_error>(r).exceeded == decode_error::bound::members);
  // A syntax error is not a bound.
  r = d.feed_text("2[\"e\",");
  REQUIRE(is_error(r));
  CHECK(std::get<decode_error>(r).exceeded == decode_error::bound::none);
  // Configurable.
  CHECK(is_error(d.feed_text("2[\"e\",[[1]]]", hub::json_limits{2, 10})));
  CHECK_FALSE(is_error(d.feed_text("2[\"e\",[1]]", hub::json_limits{2, 10})));
}
