// hub::notepack against notepack.io 3.0.1: the expected bytes were produced by
// notepack.encode in Node (node -e "console.log(require('notepack.io').encode(v).toString('hex'))"),
// and the decoded values are what notepack.decode and then JSON.stringify give.
#include "protocol/notepack.hpp"

#include "tests/unit/support/hex.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

using hub::json;
using hub::json_limits;
namespace notepack = hub::notepack;

namespace {

using hub::test::hex;

std::string unhex(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

json bin(std::vector<std::uint8_t> bytes) { return json::binary(std::move(bytes)); }

json decode_ok(std::string_view hex_bytes, const json_limits& limits = {}) {
  std::string error;
  auto v = notepack::decode(unhex(hex_bytes), limits, &error);
  INFO(hex_bytes << ": " << error);
  REQUIRE(v);
  return *v;
}

std::string refusal(std::string_view bytes, const json_limits& limits = {}) {
  std::string error;
  const auto v = notepack::decode(bytes, limits, &error);
  INFO(hex(bytes.substr(0, 32)));
  CHECK_FALSE(v);
  CHECK_FALSE(error.empty());
  return error;
}

std::string nested_arrays(std::size_t depth) { return std::string(depth, '\x91') + '\xc0'; }

}  // namespace

TEST_CASE("notepack: numbers by value, each in its smallest format", "[protocol][notepack]") {
  struct golden {
    json value;
    const char* bytes;
  };
  const std::vector<golden> cases{
    {0, "00"},
    {1, "01"},
    {127, "7f"},
    {128, "cc80"},
    {255, "ccff"},
    {256, "cd0100"},
    {65535, "cdffff"},
    {65536, "ce00010000"},
    {4294967295U, "ceffffffff"},
    {4294967296U, "cf0000000100000000"},
    {9007199254740992U, "cf0020000000000000"},
    {9223372036854775808U, "cf8000000000000000"},
    {-1, "ff"},
    {-32, "e0"},
    {-33, "d0df"},
    {-128, "d080"},
    {-129, "d1ff7f"},
    {-32768, "d18000"},
    {-32769, "d2ffff7fff"},
    {-2147483648LL, "d280000000"},
    {-2147483649LL, "d3ffffffff7fffffff"},
    {std::numeric_limits<std::int64_t>::min(), "d38000000000000000"},
    {1.5, "cb3ff8000000000000"},
    {0.1, "cb3fb999999999999a"},
    {-2.5, "cbc004000000000000"},
    {std::numeric_limits<double>::quiet_NaN(), "cb7ff8000000000000"},
    {std::numeric_limits<double>::infinity(), "cb7ff0000000000000"},
    {-std::numeric_limits<double>::infinity(), "cbfff0000000000000"},
    // Integral floats are integers to JS, and so to notepack: 1.0 is 1, -0 is 0.
    {1.0, "01"},
    {-0.0, "00"},
    {256.0, "cd0100"},
    {-33.0, "d0df"},
    {4294967296.0, "cf0000000100000000"},
    {9223372036854775808.0, "cf8000000000000000"},
    {-9223372036854775808.0, "d38000000000000000"},
  };
  for (const auto& c : cases) {
    INFO(c.value.dump());
    CHECK(hex(notepack::encode(c.value)) == c.bytes);
  }
}

TEST_CASE("notepack: integral numbers past 64 bits stay numbers (notepack would wrap them)", "[protocol][notepack]") {
  // notepack.encode(1e21) gives cf35c9adc5dea00000 (1e21 mod 2^64); we write the float,
  // which notepack decodes to 1e21.
  CHECK(hex(notepack::encode(1e21)) == "cb444b1ae4d6e2ef50");
  CHECK(hex(notepack::encode(-1e21)) == "cbc44b1ae4d6e2ef50");
  CHECK(hex(notepack::encode(18446744073709551616.0)) == "cb43f0000000000000");
}

TEST_CASE("notepack: strings, binaries, arrays and maps by length", "[protocol][notepack]") {
  auto prefix = [](const json& v, std::size_t n) { return hex(notepack::encode(v)).substr(0, n); };
  CHECK(prefix("", 2) == "a0");
  CHECK(prefix(std::string(31, 'a'), 4) == "bf61");
  CHECK(prefix(std::string(32, 'a'), 6) == "d92061");  // str8 (notepack 3 uses it)
  CHECK(prefix(std::string(255, 'a'), 6) == "d9ff61");
  CHECK(prefix(std::string(256, 'a'), 8) == "da010061");
  CHECK(prefix(std::string(65535, 'a'), 8) == "daffff61");
  CHECK(prefix(std::string(65536, 'a'), 12) == "db0001000061");
  CHECK(hex(notepack::encode("\xC3\xA9")) == "a2c3a9");
  CHECK(hex(notepack::encode("\xF0\x9F\x98\x80")) == "a4f09f9880");

  CHECK(hex(notepack::encode(bin({}))) == "c400");
  CHECK(hex(notepack::encode(bin({7, 7, 7}))) == "c403070707");
  CHECK(prefix(bin(std::vector<std::uint8_t>(255, 7)), 6) == "c4ff07");
  CHECK(prefix(bin(std::vector<std::uint8_t>(256, 7)), 8) == "c5010007");
  CHECK(prefix(bin(std::vector<std::uint8_t>(65535, 7)), 8) == "c5ffff07");
  CHECK(prefix(bin(std::vector<std::uint8_t>(65536, 7)), 12) == "c60001000007");

  CHECK(prefix(json(std::vector<int>(15, 0)), 4) == "9f00");
  CHECK(prefix(json(std::vector<int>(16, 0)), 8) == "dc001000");
  CHECK(prefix(json(std::vector<int>(65536, 0)), 12) == "dd0001000000");
  json map15 = json::object();
  json map16 = json::object();
  for (int i = 0; i < 16; ++i) {
    if (i < 15) map15["k" + std::to_string(i)] = 0;
    map16["k" + std::to_string(i)] = 0;
  }
  CHECK(prefix(map15, 4) == "8fa2");
  CHECK(prefix(map16, 8) == "de0010a2");

  CHECK(hex(notepack::encode(json::parse(R"({"a":[1,{"b":null,"c":true,"d":false}],"e":"x"})"))) ==
        "82a161920183a162c0a163c3a164c2a165a178");
}

TEST_CASE("notepack: object keys in JavaScript's order (array indices first)", "[protocol][notepack]") {
  // notepack.encode({b:1,"2":2,"1":3,"01":4,"4294967295":5,"4294967294":6}): Object.keys
  // lists "1","2","4294967294" first; "01" and 2^32-1 are not array indices.
  const json v = json::parse(R"({"b":1,"2":2,"1":3,"01":4,"4294967295":5,"4294967294":6})");
  CHECK(hex(notepack::encode(v)) == "86a13103a13202aa3432393439363732393406a16201a2303104aa3432393439363732393505");
  CHECK(notepack::is_array_index("0"));
  CHECK(notepack::is_array_index("4294967294"));
  CHECK_FALSE(notepack::is_array_index("4294967295"));
  CHECK_FALSE(notepack::is_array_index("01"));
  CHECK_FALSE(notepack::is_array_index("-1"));
  CHECK_FALSE(notepack::is_array_index(""));
  CHECK_FALSE(notepack::is_array_index("1e3"));
}

TEST_CASE("notepack: the adapter's broadcast envelope, byte for byte", "[protocol][notepack]") {
  // notepack.encode(["abc123", {type:2, data:["ev", 1, 1.5, -3, 2**40, "x", Buffer.from([1,2,3]),
  // {a:null}], nsp:"/"}, {rooms:["r"], except:["s"], flags:{}}])
  constexpr std::string_view node =
    "93a661626331323383a47479706502a46461746198a2657601cb3ff8000000000000fdcf0000010000000000a178c40301020381a161c0a3"
    "6e7370a12f83a5726f6f6d7391a172a665786365707491a173a5666c61677380";
  json data = json::array({"ev", 1, 1.5, -3, 1099511627776LL, "x", bin({1, 2, 3}), {{"a", nullptr}}});
  const json envelope = json::array({"abc123", {{"type", 2}, {"data", data}, {"nsp", "/"}},
                                     {{"rooms", {"r"}}, {"except", {"s"}}, {"flags", json::object()}}});
  CHECK(hex(notepack::encode(envelope)) == node);
  CHECK(decode_ok(node) == envelope);
}

TEST_CASE("notepack: append and the container headers", "[protocol][notepack]") {
  std::string out = "x";
  notepack::append(out, 1);
  notepack::append_array_header(out, 16);
  notepack::append_map_header(out, 1);
  CHECK(hex(out) == "7801dc001081");
}

TEST_CASE("notepack: invalid UTF-8 is written as JS would hold it (U+FFFD)", "[protocol][notepack]") {
  CHECK(hex(notepack::encode(std::string("a\xff"))) == "a461efbfbd");
}

TEST_CASE("notepack: decodes what notepack writes, back to the same values", "[protocol][notepack]") {
  const json v = json::parse(R"({"s":"x","n":[0,-1,255,-129,65536,4294967296,-2147483649,1.5],
                                 "b":[true,false,null],"o":{"k":{"deep":[[]]}}})");
  json with_binary = v;
  with_binary["bin"] = bin({0, 255});
  CHECK(notepack::decode(notepack::encode(with_binary), json_limits{}) == with_binary);
  // 64-bit integers come back exact (JS would round them to a double).
  CHECK(decode_ok("cfffffffffffffffff") == std::numeric_limits<std::uint64_t>::max());
  CHECK(decode_ok("d38000000000000000") == std::numeric_limits<std::int64_t>::min());
  CHECK(decode_ok("ca3fc00000") == 1.5);  // float32, which notepack never writes
  CHECK(decode_ok("cb8000000000000000").get<double>() == 0.0);
  CHECK(std::signbit(decode_ok("cb8000000000000000").get<double>()));
}

TEST_CASE("notepack: ext types as notepack.decode and JSON.stringify see them", "[protocol][notepack]") {
  // Dates: timestamp 32, 64 and 96 (ext -1) and the legacy date (fixext8 type 0).
  CHECK(decode_ok("d6ff00000000") == "1970-01-01T00:00:00.000Z");
  CHECK(decode_ok("d6ff00000001") == "1970-01-01T00:00:01.000Z");
  CHECK(decode_ok("d7ff7735940000000001") == "1970-01-01T00:00:01.500Z");  // new Date(1500)
  CHECK(decode_ok("c70cff000000000000000000000001") == "1970-01-01T00:00:01.000Z");
  CHECK(decode_ok("c70cff1dcd6500ffffffffffffffff") == "1969-12-31T23:59:59.500Z");  // new Date(-500)
  CHECK(decode_ok("d70000000000000005dc") == "1970-01-01T00:00:01.500Z");
  CHECK(decode_ok("c70cff00000000000000e8d4a51000") == "+033658-09-27T01:46:40.000Z");  // 1e12 s
  CHECK(decode_ok("c70cff00000000fffffff1886e0900") == "0001-01-01T00:00:00.000Z");
  CHECK(decode_ok("c70cff00000000fffffff1868a3280") == "-000001-12-31T00:00:00.000Z");
  CHECK(decode_ok("c70cff00000000000007dba8218000") == "+275760-09-13T00:00:00.000Z");  // Date's last day
  CHECK(decode_ok("c70cff00000000000007dba8218001").is_null());  // a second later: Invalid Date, toJSON null
  // undefined (fixext1 type 0): null in an array, no member in a map (even over an earlier one).
  CHECK(decode_ok("92d40000c0") == json::array({nullptr, nullptr}));
  CHECK(decode_ok("82a161d40000a16201") == json{{"b", 1}});
  CHECK(decode_ok("82a16101a161d40000") == json::object());
  CHECK(decode_ok("d40000").is_null());
  // ext8/16/32 type 0: notepack's legacy ArrayBuffer.
  CHECK(decode_ok("c70200aabb") == bin({0xaa, 0xbb}));
  CHECK(decode_ok("c8000200aabb") == bin({0xaa, 0xbb}));
  CHECK(decode_ok("c70100aa") == bin({0xaa}));  // not undefined: that is fixext1 only
  // Any other ext: [type, Buffer].
  CHECK(decode_ok("d50501ff") == json::array({5, bin({1, 0xff})}));
  CHECK(decode_ok("d5ff01ff") == json::array({-1, bin({1, 0xff})}));  // ext -1 of 2 bytes: no date
  CHECK(decode_ok("d50001ff") == json::array({0, bin({1, 0xff})}));
  CHECK(decode_ok("c800010501") == json::array({5, bin({1})}));
  CHECK(decode_ok("c80004ff00000001") == json::array({-1, bin({0, 0, 0, 1})}));  // ext16 -1: no date
}

TEST_CASE("notepack: keys and strings as JS reads them", "[protocol][notepack]") {
  CHECK(decode_ok("8101a162") == json{{"1", "b"}});        // number keys: their JS text
  CHECK(decode_ok("81cb3ff8000000000000c0") == json{{"1.5", nullptr}});
  CHECK(decode_ok("81ffc0") == json{{"-1", nullptr}});
  CHECK(decode_ok("82a16101a16102") == json{{"a", 2}});    // repeated key: the last value
  CHECK(decode_ok("81a95f5f70726f746f5f5f81a17801") == json::object());  // "__proto__": the prototype, no member
  CHECK(decode_ok("a4ff61e282") == "\xEF\xBF\xBD" "a\xEF\xBF\xBD");    // Buffer.toString's U+FFFD
}

TEST_CASE("notepack: refuses truncated input, trailing bytes and unknown bytes", "[protocol][notepack]") {
  CHECK(refusal("") == "truncated msgpack");
  CHECK(refusal(unhex("92cd01")) == "truncated msgpack");
  CHECK(refusal(unhex("9201")) == "msgpack declares more elements than its bytes can hold");
  CHECK(refusal(unhex("a3616263").substr(0, 3)) == "truncated msgpack");
  CHECK(refusal(unhex("cd01")) == "truncated msgpack");
  CHECK(refusal(unhex("0102")) == "1 trailing bytes after the msgpack value");
  CHECK(refusal(unhex("c1")) == "invalid msgpack byte 0xc1 at offset 0");
  CHECK(refusal(unhex("91c1")) == "invalid msgpack byte 0xc1 at offset 1");
}

TEST_CASE("notepack: refuses huge declared lengths without allocating", "[protocol][notepack]") {
  // 2^32-1 elements, pairs, bytes: refused from the header (or as truncated), nothing built.
  CHECK(refusal(unhex("ddffffffff")) == "msgpack declares more elements than its bytes can hold");
  CHECK(refusal(unhex("ddffffffff") + std::string(64, '\0')) == "msgpack declares more elements than its bytes can hold");
  CHECK(refusal(unhex("9f01")) == "msgpack declares more elements than its bytes can hold");
  CHECK(refusal(unhex("dfffffffff")) == "msgpack map with too many members");
  CHECK(refusal(unhex("dfffffffff"), json_limits{32, std::numeric_limits<std::size_t>::max()}) ==
        "msgpack declares more elements than its bytes can hold");
  CHECK(refusal(unhex("dbffffffff61")) == "truncated msgpack");
  CHECK(refusal(unhex("c6ffffffff61")) == "truncated msgpack");
  CHECK(refusal(unhex("c9ffffffff0561")) == "truncated msgpack");
  // More values than max_values, each of its bytes a real nil: refused before the first.
  std::string many = unhex("dd000f4241") + std::string(notepack::max_values + 1, '\xc0');
  CHECK(refusal(many, json_limits{32, 1000}) == "msgpack message with more than 1000000 values");
}

TEST_CASE("notepack: refuses nesting past max_depth and maps past max_object_members", "[protocol][notepack]") {
  const json_limits limits;  // 32 deep, 1000 members
  CHECK(notepack::decode(nested_arrays(32), limits));
  CHECK(refusal(nested_arrays(33)) == "msgpack nested too deeply");
  CHECK(refusal(nested_arrays(100000)) == "msgpack nested too deeply");
  std::string maps;
  for (int i = 0; i < 33; ++i) maps += unhex("81a161");
  CHECK(refusal(maps + '\xc0') == "msgpack nested too deeply");
  // An ext that decodes to [type, Buffer] is an array too.
  CHECK(notepack::decode(std::string(31, '\x91') + unhex("d50501ff"), limits));
  CHECK(refusal(std::string(32, '\x91') + unhex("d50501ff")) == "msgpack nested too deeply");

  auto map_of = [](std::size_t n) {
    std::string out;
    notepack::append_map_header(out, n);
    for (std::size_t i = 0; i < n; ++i) {
      notepack::append(out, "k" + std::to_string(i));
      notepack::append(out, 0);
    }
    return out;
  };
  CHECK(notepack::decode(map_of(1000), limits));
  CHECK(refusal(map_of(1001)) == "msgpack map with too many members");
  CHECK(refusal(map_of(3), json_limits{32, 2}) == "msgpack map with too many members");
}

TEST_CASE("notepack: refuses keys that are not strings or numbers, and misframed timestamps", "[protocol][notepack]") {
  const std::string key_error = "msgpack map key is not a string or a number";
  CHECK(refusal(unhex("81c001")) == key_error);        // nil ("null" in JS)
  CHECK(refusal(unhex("81c301")) == key_error);        // true
  CHECK(refusal(unhex("819001")) == key_error);        // [] ("" in JS)
  CHECK(refusal(unhex("818001")) == key_error);        // {} ("[object Object]" in JS)
  CHECK(refusal(unhex("81c4016101")) == key_error);    // a Buffer
  CHECK(refusal(unhex("81d5050101c0")) == key_error);  // an ext
  CHECK(refusal(unhex("81d4000001")) == key_error);    // undefined
  // notepack reads 12 bytes for ext8 type -1 whatever its length says.
  CHECK(refusal(unhex("c704ff00000001")) == "msgpack timestamp ext of 4 bytes (must be 12)");
}

TEST_CASE("notepack: no input makes the decoder throw", "[protocol][notepack]") {
  // A cheap stand-in for the fuzz target (fuzz/cluster_messages.cpp): short inputs over
  // an alphabet of framing bytes, decoded under small bounds.
  std::uint32_t state = 12345;
  auto next = [&] {
    state = state * 1664525U + 1013904223U;
    return state >> 24U;
  };
  static constexpr std::uint8_t alphabet[] = {0x00, 0x01, 0x7f, 0x80, 0x81, 0x90, 0x91, 0xa1, 0xc0, 0xc1, 0xc4, 0xc7,
                                              0xc8, 0xc9, 0xca, 0xcb, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xdc, 0xdd,
                                              0xde, 0xdf, 0xe0, 0xff, 0x0c, 0x04, 0x02, 0x61};
  for (int i = 0; i < 20000; ++i) {
    std::string input(1 + next() % 24, '\0');
    for (char& c : input) c = static_cast<char>(alphabet[next() % sizeof(alphabet)]);
    std::string error;
    const auto v = notepack::decode(input, json_limits{4, 4}, &error);
    CHECK((v.has_value() || !error.empty()));
    if (v) CHECK(notepack::decode(notepack::encode(*v), json_limits{4, 4}));
  }
}

TEST_CASE("notepack: JS number text, UTF-8 replacement", "[protocol][notepack]") {
  // String(x) in Node.
  CHECK(notepack::js_number_text(0) == "0");
  CHECK(notepack::js_number_text(-0.0) == "0");
  CHECK(notepack::js_number_text(5) == "5");
  CHECK(notepack::js_number_text(1.5) == "1.5");
  CHECK(notepack::js_number_text(-2.5) == "-2.5");
  CHECK(notepack::js_number_text(0.1) == "0.1");
  CHECK(notepack::js_number_text(1.0 / 3) == "0.3333333333333333");
  CHECK(notepack::js_number_text(1e21) == "1e+21");
  CHECK(notepack::js_number_text(1e20) == "100000000000000000000");
  CHECK(notepack::js_number_text(1.2345e-7) == "1.2345e-7");
  CHECK(notepack::js_number_text(1e-6) == "0.000001");
  CHECK(notepack::js_number_text(1e-7) == "1e-7");
  CHECK(notepack::js_number_text(123456789012345680000.0) == "123456789012345680000");
  CHECK(notepack::js_number_text(5e-324) == "5e-324");
  CHECK(notepack::js_number_text(1.7976931348623157e308) == "1.7976931348623157e+308");
  CHECK(notepack::js_number_text(std::numeric_limits<double>::quiet_NaN()) == "NaN");
  CHECK(notepack::js_number_text(-std::numeric_limits<double>::infinity()) == "-Infinity");

  // Buffer.from(h, "hex").toString("utf8") in Node: one U+FFFD per maximal invalid subpart.
  struct golden {
    const char* in;
    const char* out;
  };
  const std::vector<golden> cases{
    {"61", "61"},
    {"c2a9", "c2a9"},
    {"f48fbfbf", "f48fbfbf"},
    {"f0808080", "efbfbdefbfbdefbfbdefbfbd"},  // overlong
    {"eda080", "efbfbdefbfbdefbfbd"},          // a surrogate
    {"e282", "efbfbd"},                        // truncated at the end
    {"e28241", "efbfbd41"},
    {"c080", "efbfbdefbfbd"},
    {"f4908080", "efbfbdefbfbdefbfbdefbfbd"},  // past U+10FFFF
    {"f5", "efbfbd"},
    {"f09f9841", "efbfbd41"},
    {"e080", "efbfbdefbfbd"},
    {"c2c2a9", "efbfbdc2a9"},
  };
  for (const auto& c : cases) {
    INFO(c.in);
    CHECK(hex(notepack::utf8_or_replacement(unhex(c.in))) == c.out);
  }
}
