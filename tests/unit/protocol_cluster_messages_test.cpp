// hub::cluster against @socket.io/redis-adapter 8.3.0 and @socket.io/redis-emitter 5.1.0.
// The golden messages are what they published in Node (socket.io 4.8.4, notepack.io
// 3.0.1) to a recording Redis client: the adapter's own broadcasts, requests and
// responses (its onrequest fed with requests from another node), and the emitter's
// broadcasts and requests. Node's uid was set to "abc123".
#include "protocol/cluster_messages.hpp"

#include "protocol/notepack.hpp"

#include "tests/unit/support/hex.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using hub::json;
using hub::json_limits;
using namespace hub::cluster;
namespace notepack = hub::notepack;

namespace {

std::string unhex(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

using hub::test::hex;

json bin(std::vector<std::uint8_t> bytes) { return json::binary(std::move(bytes)); }
std::string pack(const json& v) { return notepack::encode(v); }

// adapter broadcast room, on socket.io#/#r#
constexpr std::string_view adapter_broadcast_room_hex =
  "93a661626331323383a47479706502a46461746198a2657601cb3ff8000000000000fdcf0000010000000000a178c40301020381a161"
  "c0a36e7370a12f83a5726f6f6d7391a172a665786365707491a173a5666c61677380";
// adapter broadcast all, on socket.io#/#
constexpr std::string_view adapter_broadcast_all_hex =
  "93a661626331323383a47479706502a46461746191a568656c6c6fa36e7370a12f83a5726f6f6d7390a665786365707490a5666c6167"
  "7380";
// adapter broadcast two rooms flags, on socket.io#/#
constexpr std::string_view adapter_broadcast_two_rooms_flags_hex =
  "93a661626331323383a47479706502a46461746191a374776fa36e7370a12f83a5726f6f6d7392a161a162a665786365707490a5666c"
  "61677382a8766f6c6174696c65c3a8636f6d7072657373c2";
// adapter broadcast with ack request, on socket.io-request#/#
constexpr std::string_view adapter_broadcast_with_ack_request_hex =
  "85a3756964a6616263313233a9726571756573744964a6744b652d682da47479706507a67061636b657483a47479706502a464617461"
  "92a361736ba171a36e7370a12fa46f70747383a5726f6f6d7390a665786365707490a5666c61677381a774696d656f7574cd03e8";
// adapter fetch request, on socket.io-request#/#
constexpr std::string_view adapter_fetch_request =
  R"({"uid":"abc123","requestId":"zOZAjL","type":5,"opts":{"rooms":[],"except":[]}})";
// adapter join request, on socket.io-request#/#
constexpr std::string_view adapter_join_request =
  R"({"uid":"abc123","type":2,"opts":{"rooms":["r"],"except":[]},"rooms":["x","y"]})";
// adapter leave request, on socket.io-request#/#
constexpr std::string_view adapter_leave_request =
  R"({"uid":"abc123","type":3,"opts":{"rooms":["r"],"except":[]},"rooms":["x"]})";
// adapter disconnect request, on socket.io-request#/#
constexpr std::string_view adapter_disconnect_request =
  R"({"uid":"abc123","type":4,"opts":{"rooms":["r"],"except":[]},"close":true})";
// adapter server side emit, on socket.io-request#/#
constexpr std::string_view adapter_server_side_emit = R"({"uid":"abc123","type":6,"data":["hello",1,{"k":"v"}]})";
// adapter server side emit ack, on socket.io-request#/#
constexpr std::string_view adapter_server_side_emit_ack =
  R"({"uid":"abc123","requestId":"U8gE9m","type":6,"data":["ping"]})";
// adapter all rooms request, on socket.io-request#/#
constexpr std::string_view adapter_all_rooms_request = R"({"uid":"abc123","requestId":"2FdIaR","type":1})";
// response sockets, on socket.io-response#/#
constexpr std::string_view response_sockets = R"({"requestId":"rq1","sockets":["s1"]})";
// response all rooms, on socket.io-response#/#
constexpr std::string_view response_all_rooms = R"({"requestId":"rq2","rooms":["s1","room1"]})";
// response remote join, on socket.io-response#/#
constexpr std::string_view response_remote_join = R"({"requestId":"rq3"})";
// response remote disconnect, on socket.io-response#/#
constexpr std::string_view response_remote_disconnect = R"({"requestId":"rq4"})";
// response remote fetch, on socket.io-response#/#
constexpr std::string_view response_remote_fetch =
  R"({"requestId":"rq5","sockets":[{"id":"s1","handshake":{"headers":{"host":"h"},"time":"t","address":"::1",)"
  R"("xdomain":false,"secure":false,"issued":1,"url":"/socket.io/?EIO=4","query":{"EIO":"4"},"auth":{}},)"
  R"("rooms":["s1","room1"],"data":{"user":"u"}}]})";
// response server side emit, on socket.io-response#/#
constexpr std::string_view response_server_side_emit = R"({"type":6,"requestId":"rq6","data":{"ok":7}})";
// response server side emit undefined, on socket.io-response#/#
constexpr std::string_view response_server_side_emit_undefined = R"({"type":6,"requestId":"rq7"})";
// response broadcast client count, on socket.io-response#/#
constexpr std::string_view response_broadcast_client_count = R"({"type":8,"requestId":"rq8","clientCount":1})";
// response broadcast ack, on socket.io-response#/#
constexpr std::string_view response_broadcast_ack_hex =
  "83a47479706509a9726571756573744964a3727138a67061636b657482a6616e737765722aa362696ec40109";
// emitter broadcast room, on socket.io#/#r#
constexpr std::string_view emitter_broadcast_room_hex =
  "93a7656d697474657283a47479706502a46461746193a2657601c4020102a36e7370a12f83a5726f6f6d7391a172a5666c61677380a6"
  "65786365707491a173";
// emitter broadcast all, on socket.io#/#
constexpr std::string_view emitter_broadcast_all_hex =
  "93a7656d697474657283a47479706502a46461746191a568656c6c6fa36e7370a12f83a5726f6f6d7390a5666c61677380a665786365"
  "707490";
// emitter broadcast flags numeric room, on socket.io#/#
constexpr std::string_view emitter_broadcast_flags_numeric_room_hex =
  "93a7656d697474657283a47479706502a46461746191a178a36e7370a12f83a5726f6f6d7392a16105a5666c61677382a8766f6c6174"
  "696c65c3a8636f6d7072657373c2a665786365707490";
// emitter broadcast custom nsp, on socket.io#/custom#
constexpr std::string_view emitter_broadcast_custom_nsp_hex =
  "93a7656d697474657283a47479706502a46461746191a163a36e7370a72f637573746f6d83a5726f6f6d7390a5666c61677380a66578"
  "6365707490";
// emitter join, on socket.io-request#/#
constexpr std::string_view emitter_join = R"({"type":2,"opts":{"rooms":["r"],"except":[]},"rooms":["j"]})";
// emitter leave, on socket.io-request#/#
constexpr std::string_view emitter_leave = R"({"type":3,"opts":{"rooms":["r"],"except":[]},"rooms":["j","k"]})";
// emitter disconnect, on socket.io-request#/#
constexpr std::string_view emitter_disconnect = R"({"type":4,"opts":{"rooms":[],"except":["r"]},"close":true})";
// emitter server side emit, on socket.io-request#/#
constexpr std::string_view emitter_server_side_emit = R"({"uid":"emitter","type":6,"data":["hi",1,"two"]})";

broadcast_message broadcast_ok(std::string_view bytes) {
  std::string error;
  auto m = decode_broadcast(bytes, json_limits{}, &error);
  INFO(error);
  REQUIRE(m);
  return *m;
}

request request_ok(std::string_view bytes) {
  std::string error;
  auto r = decode_request(bytes, json_limits{}, &error);
  INFO(error);
  REQUIRE(r);
  return *r;
}

response response_ok(std::string_view bytes) {
  std::string error;
  auto r = decode_response(bytes, json_limits{}, &error);
  INFO(error);
  REQUIRE(r);
  return *r;
}

std::string broadcast_refusal(std::string_view bytes, const json_limits& limits = {}) {
  std::string error;
  CHECK_FALSE(decode_broadcast(bytes, limits, &error));
  return error;
}
std::string request_refusal(std::string_view bytes, const json_limits& limits = {}) {
  std::string error;
  CHECK_FALSE(decode_request(bytes, limits, &error));
  return error;
}
std::string response_refusal(std::string_view bytes, const json_limits& limits = {}) {
  std::string error;
  CHECK_FALSE(decode_response(bytes, limits, &error));
  return error;
}

// A broadcast [uid, packet, opts] with one part replaced.
std::string envelope(const json& uid, const json& packet, const json& opts) { return pack(json::array({uid, packet, opts})); }
const json good_packet = {{"type", 2}, {"data", {"ev"}}, {"nsp", "/"}};
const json good_opts = {{"rooms", json::array()}, {"except", json::array()}, {"flags", json::object()}};

}  // namespace

TEST_CASE("cluster: request types are the adapter's RequestType", "[protocol][cluster]") {
  STATIC_REQUIRE(static_cast<int>(request_type::sockets) == 0);
  STATIC_REQUIRE(static_cast<int>(request_type::all_rooms) == 1);
  STATIC_REQUIRE(static_cast<int>(request_type::remote_join) == 2);
  STATIC_REQUIRE(static_cast<int>(request_type::remote_leave) == 3);
  STATIC_REQUIRE(static_cast<int>(request_type::remote_disconnect) == 4);
  STATIC_REQUIRE(static_cast<int>(request_type::remote_fetch) == 5);
  STATIC_REQUIRE(static_cast<int>(request_type::server_side_emit) == 6);
  STATIC_REQUIRE(static_cast<int>(request_type::broadcast) == 7);
  STATIC_REQUIRE(static_cast<int>(request_type::broadcast_client_count) == 8);
  STATIC_REQUIRE(static_cast<int>(request_type::broadcast_ack) == 9);
}

TEST_CASE("cluster: channel names of a namespace", "[protocol][cluster]") {
  const channels c = channels_for("socket.io", "/");
  CHECK(c.broadcast == "socket.io#/#");
  CHECK(c.request == "socket.io-request#/#");
  CHECK(c.response == "socket.io-response#/#");
  CHECK(c.broadcast_pattern == "socket.io#/#*");
  CHECK(c.room("r") == "socket.io#/#r#");
  CHECK(c.room("a#b") == "socket.io#/#a#b#");
  CHECK(c.specific_response("abc123") == "socket.io-response#/#abc123#");

  const channels custom = channels_for("app", "/custom");
  CHECK(custom.broadcast == "app#/custom#");
  CHECK(custom.request == "app-request#/custom#");
  CHECK(custom.response == "app-response#/custom#");
  // Redis's glob characters in a prefix or namespace are escaped in the pattern only.
  const channels odd = channels_for("k*", "/[a]?\\");
  CHECK(odd.broadcast == "k*#/[a]?\\#");
  CHECK(odd.broadcast_pattern == "k\\*#/\\[a\\]\\?\\\\#*");
}

TEST_CASE("cluster: the room a broadcast channel names", "[protocol][cluster]") {
  const channels root = channels_for("socket.io", "/");
  const channels custom = channels_for("socket.io", "/custom");
  CHECK(room_of_channel(root, "socket.io#/#") == "");
  CHECK(room_of_channel(root, "socket.io#/#r#") == "r");
  CHECK(room_of_channel(root, "socket.io#/#a#b#") == "a#b");  // rooms may hold '#'
  CHECK(room_of_channel(root, "socket.io#/##") == "");         // the adapter reads "" too
  CHECK(room_of_channel(root, "socket.io#/#5#") == "5");
  CHECK(room_of_channel(custom, "socket.io#/custom#r#") == "r");
  // Namespaces whose names are prefixes of one another do not share channels.
  CHECK_FALSE(room_of_channel(root, "socket.io#/custom#"));
  CHECK_FALSE(room_of_channel(root, "socket.io#/custom#r#"));
  CHECK_FALSE(room_of_channel(custom, "socket.io#/#"));
  CHECK_FALSE(room_of_channel(custom, "socket.io#/custo#"));
  CHECK_FALSE(room_of_channel(custom, "socket.io#/customer#"));
  // Not a channel of the namespace: other prefix, request channels, no closing '#'.
  CHECK_FALSE(room_of_channel(root, "other#/#"));
  CHECK_FALSE(room_of_channel(root, "socket.io-request#/#"));
  CHECK_FALSE(room_of_channel(root, "socket.io#/"));
  CHECK_FALSE(room_of_channel(root, "socket.io#/#r"));
  CHECK_FALSE(room_of_channel(root, ""));
  // Channel names alone cannot tell nsp "/" room "x" from nsp "/#x": packet.nsp does.
  CHECK(channels_for("socket.io", "/#x").broadcast == root.room("x"));
}

TEST_CASE("cluster: the adapter's broadcasts decode and encode back byte for byte", "[protocol][cluster]") {
  const broadcast_message room = broadcast_ok(unhex(adapter_broadcast_room_hex));
  CHECK(room.uid == "abc123");
  CHECK(room.packet.type == 2);
  CHECK(room.packet.nsp == "/");
  CHECK(room.packet.data == json::array({"ev", 1, 1.5, -3, 1099511627776LL, "x", bin({1, 2, 3}), {{"a", nullptr}}}));
  CHECK_FALSE(room.packet.id);
  CHECK(room.opts == selector{{"r"}, {"s"}});
  CHECK(room.flags == json::object());
  CHECK(hex(encode_broadcast(room)) == adapter_broadcast_room_hex);

  const broadcast_message all = broadcast_ok(unhex(adapter_broadcast_all_hex));
  CHECK(all.packet.data == json::array({"hello"}));
  CHECK(all.opts == selector{});
  CHECK(hex(encode_broadcast(all)) == adapter_broadcast_all_hex);

  const broadcast_message flags = broadcast_ok(unhex(adapter_broadcast_two_rooms_flags_hex));
  CHECK(flags.opts.rooms == std::vector<std::string>{"a", "b"});
  CHECK(flags.flags == json{{"volatile", true}, {"compress", false}});
  CHECK(hex(encode_broadcast(flags)) == adapter_broadcast_two_rooms_flags_hex);
}

TEST_CASE("cluster: encode_broadcast writes what the adapter writes", "[protocol][cluster]") {
  broadcast_message m;
  m.uid = "abc123";
  m.packet.data = json::array({"ev", 1, 1.5, -3, 1099511627776LL, "x", bin({1, 2, 3}), {{"a", nullptr}}});
  m.opts = selector{{"r"}, {"s"}};
  CHECK(hex(encode_broadcast(m)) == adapter_broadcast_room_hex);
  // With an ack id, after nsp; integral floats as integers (2.0 is 2 to JS).
  m.packet.id = 7;
  m.packet.data = json::array({"ev", 2.0});
  CHECK(decode_broadcast(encode_broadcast(m), json_limits{})->packet == broadcast_packet{2, "/", json::array({"ev", 2}), 7});
  CHECK(hex(encode_broadcast(m)).find("a36e7370a12fa2696407") != std::string::npos);
}

TEST_CASE("cluster: the emitter's broadcasts decode", "[protocol][cluster]") {
  // The emitter writes opts as {rooms, flags, except}; we write the adapter's order.
  const broadcast_message room = broadcast_ok(unhex(emitter_broadcast_room_hex));
  CHECK(room.uid == "emitter");
  CHECK(room.packet == broadcast_packet{2, "/", json::array({"ev", 1, bin({1, 2})}), {}});
  CHECK(room.opts == selector{{"r"}, {"s"}});
  CHECK(broadcast_ok(encode_broadcast(room)) == room);

  CHECK(broadcast_ok(unhex(emitter_broadcast_all_hex)).opts == selector{});
  const broadcast_message numeric = broadcast_ok(unhex(emitter_broadcast_flags_numeric_room_hex));
  CHECK(numeric.opts.rooms == std::vector<std::string>{"a", "5"});  // to(["a", 5]): a number room
  CHECK(numeric.flags == json{{"volatile", true}, {"compress", false}});
  CHECK(broadcast_ok(unhex(emitter_broadcast_custom_nsp_hex)).packet.nsp == "/custom");
}

TEST_CASE("cluster: broadcast fields the adapter fills in or ignores", "[protocol][cluster]") {
  // packet.nsp missing: "/" (the adapter sets it); rooms, except, flags missing: empty.
  const auto m = broadcast_ok(envelope("n", {{"type", 2}, {"data", {"ev"}}}, json::object()));
  CHECK(m.packet.nsp == "/");
  CHECK(m.opts == selector{});
  CHECK(m.flags == json::object());
  // Number rooms as JS names them; null lists as none; later elements ignored.
  const auto n = broadcast_ok(
    pack(json::array({"n", good_packet, {{"rooms", {1, -2, 1.5, 1e21}}, {"except", nullptr}}, "extra"})));
  CHECK(n.opts.rooms == std::vector<std::string>{"1", "-2", "1.5", "1e+21"});
  CHECK(n.opts.except.empty());
  // packet.id and other packet members.
  CHECK(broadcast_ok(envelope("n", {{"type", 2}, {"data", {"ev"}}, {"id", 3.0}}, good_opts)).packet.id == 3);
}

TEST_CASE("cluster: broadcasts of the wrong shape are refused", "[protocol][cluster]") {
  CHECK(broadcast_refusal("") == "truncated msgpack");
  CHECK(broadcast_refusal(unhex("93a16e80")) == "truncated msgpack");
  CHECK(broadcast_refusal(unhex("93")) == "msgpack declares more elements than its bytes can hold");
  CHECK(broadcast_refusal(unhex(adapter_broadcast_all_hex) + "x") == "1 trailing bytes after the msgpack value");
  CHECK(broadcast_refusal(pack(json::object())) == "broadcast: not an array [uid, packet, opts]");
  CHECK(broadcast_refusal(pack(json::array({"n", good_packet}))) == "broadcast: not an array [uid, packet, opts]");
  CHECK(broadcast_refusal(R"({"uid":"n"})") == "broadcast: not an array [uid, packet, opts]");
  CHECK(broadcast_refusal(envelope(1, good_packet, good_opts)) == "broadcast: uid is not a string");
  CHECK(broadcast_refusal(envelope("n", nullptr, good_opts)) == "broadcast: packet is not a map");
  CHECK(broadcast_refusal(envelope("n", {"ev"}, good_opts)) == "broadcast: packet is not a map");
  CHECK(broadcast_refusal(envelope("n", {{"data", {"ev"}}}, good_opts)) == "broadcast: packet.type is missing");
  for (const json& type : {json(7), json(-1), json("2"), json(2.5), json(nullptr)}) {
    INFO(type.dump());
    CHECK(broadcast_refusal(envelope("n", {{"type", type}, {"data", {"ev"}}}, good_opts)) ==
          "broadcast: packet.type is not a Socket.IO packet type (0..6)");
  }
  CHECK(broadcast_refusal(envelope("n", {{"type", 2}, {"data", {"ev"}}, {"nsp", 1}}, good_opts)) ==
        "broadcast: packet.nsp is not a string");
  CHECK(broadcast_refusal(envelope("n", {{"type", 2}}, good_opts)) == "broadcast: packet.data is missing");
  CHECK(broadcast_refusal(envelope("n", {{"type", 2}, {"data", "ev"}}, good_opts)) ==
        "broadcast: packet.data is not an array");
  for (const json& id : {json(-1), json("1"), json(1.5)}) {
    CHECK(broadcast_refusal(envelope("n", {{"type", 2}, {"data", {"ev"}}, {"id", id}}, good_opts)) ==
          "broadcast: packet.id is not an integer >= 0");
  }
  CHECK(broadcast_refusal(envelope("n", good_packet, nullptr)) == "broadcast: opts is not a map");
  CHECK(broadcast_refusal(envelope("n", good_packet, {"r"})) == "broadcast: opts is not a map");
  CHECK(broadcast_refusal(envelope("n", good_packet, {{"rooms", "r"}})) == "broadcast: rooms is not an array");
  CHECK(broadcast_refusal(envelope("n", good_packet, {{"except", {{"a", 1}}}})) == "broadcast: except is not an array");
  for (const json& room : {json(nullptr), json(true), json::array(), json::object(), bin({1})}) {
    INFO(room.dump());
    CHECK(broadcast_refusal(envelope("n", good_packet, {{"rooms", {"ok", room}}})) ==
          "broadcast: rooms holds a room that is not a string or a number");
  }
  CHECK(broadcast_refusal(envelope("n", good_packet, {{"flags", {1}}})) == "broadcast: opts.flags is not a map");
  CHECK(broadcast_refusal(envelope("n", good_packet, {{"flags", true}})) == "broadcast: opts.flags is not a map");
}

TEST_CASE("cluster: broadcasts are bounded", "[protocol][cluster]") {
  json deep = "x";
  for (int i = 0; i < 31; ++i) deep = json::array({deep});  // with [ev, deep] in data, in packet, in the envelope
  CHECK(broadcast_refusal(envelope("n", {{"type", 2}, {"data", {"ev", deep}}}, good_opts)) == "msgpack nested too deeply");
  CHECK(decode_broadcast(envelope("n", {{"type", 2}, {"data", {"ev", deep}}}, good_opts), json_limits{35, 1000}));
  json wide = json::object();
  for (int i = 0; i < 5; ++i) wide["k" + std::to_string(i)] = i;
  CHECK(broadcast_refusal(envelope("n", {{"type", 2}, {"data", {"ev", wide}}}, good_opts), json_limits{32, 4}) ==
        "msgpack map with too many members");
  CHECK(broadcast_refusal(unhex("93a16edd7fffffff")) == "msgpack declares more elements than its bytes can hold");
}

TEST_CASE("cluster: the adapter's and the emitter's requests decode and encode back", "[protocol][cluster]") {
  const request ack = request_ok(unhex(adapter_broadcast_with_ack_request_hex));
  CHECK(ack.type == request_type::broadcast);
  CHECK(ack.uid == "abc123");
  CHECK(ack.request_id == "tKe-h-");
  CHECK(ack.packet == broadcast_packet{2, "/", json::array({"ask", "q"}), {}});  // no id: each node sets its own
  CHECK(ack.opts == selector{});
  CHECK(ack.flags == json{{"timeout", 1000}});
  CHECK(hex(encode_request(ack)) == adapter_broadcast_with_ack_request_hex);

  const request fetch = request_ok(adapter_fetch_request);
  CHECK(fetch.type == request_type::remote_fetch);
  CHECK(fetch.request_id == "zOZAjL");
  CHECK(fetch.opts == selector{});
  CHECK(encode_request(fetch) == adapter_fetch_request);

  const request join = request_ok(adapter_join_request);
  CHECK(join.type == request_type::remote_join);
  CHECK(join.request_id.empty());
  CHECK(join.opts == selector{{"r"}, {}});
  CHECK(join.rooms == std::vector<std::string>{"x", "y"});
  CHECK(encode_request(join) == adapter_join_request);

  const request leave = request_ok(adapter_leave_request);
  CHECK(leave.type == request_type::remote_leave);
  CHECK(leave.rooms == std::vector<std::string>{"x"});
  CHECK(encode_request(leave) == adapter_leave_request);

  const request disconnect = request_ok(adapter_disconnect_request);
  CHECK(disconnect.type == request_type::remote_disconnect);
  CHECK(disconnect.opts == selector{{"r"}, {}});
  CHECK(disconnect.close);
  CHECK(encode_request(disconnect) == adapter_disconnect_request);

  const request emit = request_ok(adapter_server_side_emit);
  CHECK(emit.type == request_type::server_side_emit);
  CHECK(emit.request_id.empty());
  CHECK(emit.data == json::parse(R"(["hello",1,{"k":"v"}])"));
  CHECK(encode_request(emit) == adapter_server_side_emit);
  const request emit_ack = request_ok(adapter_server_side_emit_ack);
  CHECK(emit_ack.request_id == "U8gE9m");
  CHECK(encode_request(emit_ack) == adapter_server_side_emit_ack);

  const request rooms = request_ok(adapter_all_rooms_request);
  CHECK(rooms.type == request_type::all_rooms);
  CHECK(rooms.request_id == "2FdIaR");
  CHECK(encode_request(rooms) == adapter_all_rooms_request);

  // The emitter: no uid on join/leave/disconnect.
  for (const auto text : {emitter_join, emitter_leave, emitter_disconnect, emitter_server_side_emit}) {
    INFO(text);
    const request r = request_ok(text);
    CHECK(encode_request(r) == text);
  }
  CHECK(request_ok(emitter_join).uid.empty());
  CHECK(request_ok(emitter_leave).rooms == std::vector<std::string>{"j", "k"});
  CHECK(request_ok(emitter_disconnect).opts == selector{{}, {"r"}});
  CHECK(request_ok(emitter_server_side_emit).uid == "emitter");
}

TEST_CASE("cluster: requests for one socket and for sockets in rooms", "[protocol][cluster]") {
  // What older adapters send and 8.3.0 still answers (remoteJoin, remoteLeave,
  // remoteDisconnect, allSockets), in their JSON.stringify order.
  constexpr std::string_view join = R"({"uid":"n1","requestId":"q1","type":2,"sid":"s1","room":"r"})";
  constexpr std::string_view leave = R"({"uid":"n1","requestId":"q2","type":3,"sid":"s1","room":"r"})";
  constexpr std::string_view disconnect = R"({"uid":"n1","requestId":"q3","type":4,"sid":"s1","close":false})";
  constexpr std::string_view sockets = R"({"uid":"n1","requestId":"q4","type":0,"rooms":["a","b"]})";
  const request j = request_ok(join);
  CHECK_FALSE(j.opts);
  CHECK(j.sid == "s1");
  CHECK(j.room == "r");
  CHECK(encode_request(j) == join);
  CHECK(encode_request(request_ok(leave)) == leave);
  const request d = request_ok(disconnect);
  CHECK_FALSE(d.opts);
  CHECK(d.sid == "s1");
  CHECK_FALSE(d.close);
  CHECK(encode_request(d) == disconnect);
  const request s = request_ok(sockets);
  CHECK(s.type == request_type::sockets);
  CHECK(s.rooms == std::vector<std::string>{"a", "b"});
  CHECK(encode_request(s) == sockets);
  // A number room; opts null is no opts (`if (request.opts)`); a close left out is false.
  CHECK(request_ok(R"({"type":2,"sid":"s1","room":5,"opts":null})").room == "5");
  CHECK_FALSE(request_ok(R"({"type":4,"opts":{}})").close);
  // Requests also come as msgpack.
  CHECK(request_ok(pack({{"type", 1}, {"requestId", "q"}})).request_id == "q");
}

TEST_CASE("cluster: request JSON is written as JSON.stringify writes it", "[protocol][cluster]") {
  // JSON.stringify({uid:"n1", type:6, data:["ev", Buffer.from([1,2]), 1.5, 1e21, 1e-7, 1.0, -0,
  // "q\"\\\b\f\n\r\t\u0001\u001f\u007f é😀/", {b:1, "2":2, "1":3}]}) in Node:
  const std::string node = R"({"uid":"n1","type":6,"data":["ev",{"type":"Buffer","data":[1,2]},1.5,1e+21,1e-7,1,0,)"
                           R"("q\"\\\b\f\n\r\t\u0001\u001f)"
                           "\x7f \xC3\xA9\xF0\x9F\x98\x80/"
                           R"(",{"1":3,"2":2,"b":1}]})";
  request r;
  r.type = request_type::server_side_emit;
  r.uid = "n1";
  r.data = json::array({"ev", bin({1, 2}), 1.5, 1e21, 1e-7, 1.0, -0.0,
                        "q\"\\\b\f\n\r\t\x01\x1f\x7f \xC3\xA9\xF0\x9F\x98\x80/",
                        json::parse(R"({"b":1,"2":2,"1":3})")});
  CHECK(encode_request(r) == node);
}

TEST_CASE("cluster: requests of the wrong shape are refused", "[protocol][cluster]") {
  CHECK(request_refusal("") == "truncated msgpack");
  CHECK(request_refusal("{") == "malformed JSON");
  CHECK(request_refusal(R"({"type":1}x)") == "malformed JSON");
  CHECK(request_refusal(pack(json::array({1}))) == "request: not a map");
  CHECK(request_refusal(pack(7)) == "request: not a map");
  CHECK(request_refusal(R"({"uid":"n"})") == "request: type is missing");
  CHECK(request_refusal(R"({"type":"1"})") == R"(request: unknown request type "1")");
  CHECK(request_refusal(R"({"type":10})") == "request: unknown request type 10");
  CHECK(request_refusal(R"({"type":-1})") == "request: unknown request type -1");
  CHECK(request_refusal(R"({"type":1.5})") == "request: unknown request type 1.5");
  CHECK(request_refusal(R"({"type":8,"requestId":"q"})") == "request: type 8 is a response type");
  CHECK(request_refusal(R"({"type":9,"requestId":"q"})") == "request: type 9 is a response type");
  CHECK(request_refusal(R"({"type":1,"uid":5})") == "request: uid is not a string");
  CHECK(request_refusal(R"({"type":1,"requestId":5})") == "request: requestId is not a string");
  CHECK(request_refusal(R"({"type":0,"rooms":"r"})") == "sockets request: rooms is not an array");
  CHECK(request_refusal(R"({"type":0,"rooms":[true]})") ==
        "sockets request: rooms holds a room that is not a string or a number");
  CHECK(request_refusal(R"({"type":2,"room":"r"})") == "remote_join request: sid is missing");
  CHECK(request_refusal(R"({"type":3,"sid":1,"room":"r"})") == "remote_leave request: sid is not a string");
  CHECK(request_refusal(R"({"type":2,"sid":"s"})") == "remote_join request: room is missing");
  CHECK(request_refusal(R"({"type":2,"sid":"s","room":{}})") ==
        "remote_join request: room holds a room that is not a string or a number");
  CHECK(request_refusal(R"({"type":2,"opts":[],"rooms":[]})") == "remote_join request: opts is not a map");
  CHECK(request_refusal(R"({"type":2,"opts":{"rooms":"r"},"rooms":[]})") == "remote_join request: rooms is not an array");
  CHECK(request_refusal(R"({"type":3,"opts":{},"rooms":{}})") == "remote_leave request: rooms is not an array");
  CHECK(request_refusal(R"({"type":4})") == "remote_disconnect request: sid is missing");
  CHECK(request_refusal(R"({"type":4,"opts":{},"close":"yes"})") ==
        "remote_disconnect request: close is not a boolean");
  CHECK(request_refusal(R"({"type":5,"requestId":"q"})") == "remote_fetch request: opts is missing");
  CHECK(request_refusal(R"({"type":5,"requestId":"q","opts":1})") == "remote_fetch request: opts is not a map");
  for (const char* data : {R"({"type":6})", R"({"type":6,"data":[]})", R"({"type":6,"data":"ev"})"}) {
    CHECK(request_refusal(data) == "server_side_emit request: data is not an array [event, ...args]");
  }
  const json packet = good_packet;
  const json opts = good_opts;
  CHECK(request_refusal(pack({{"type", 7}, {"packet", packet}, {"opts", opts}})) ==
        "broadcast request: requestId is missing");
  CHECK(request_refusal(pack({{"type", 7}, {"requestId", "q"}, {"opts", opts}})) == "broadcast request: packet is missing");
  CHECK(request_refusal(pack({{"type", 7}, {"requestId", "q"}, {"packet", packet}})) == "broadcast request: opts is missing");
  CHECK(request_refusal(pack({{"type", 7}, {"requestId", "q"}, {"packet", {{"type", 2}}}, {"opts", opts}})) ==
        "broadcast request: packet.data is missing");
  CHECK(request_refusal(pack({{"type", 7}, {"requestId", "q"}, {"packet", packet}, {"opts", {{"flags", 1}}}})) ==
        "broadcast request: opts.flags is not a map");
}

TEST_CASE("cluster: request JSON is bounded and read as Node reads it", "[protocol][cluster]") {
  std::string deep = R"({"type":6,"data":["ev",)" + std::string(31, '[') + std::string(31, ']') + "]}";
  CHECK(request_refusal(deep) == "JSON nested too deeply");
  CHECK(decode_request(deep, json_limits{40, 1000}));
  std::string wide = R"({"type":6,"data":["ev",{)";
  for (int i = 0; i < 5; ++i) wide += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  wide += "}]}";
  CHECK(request_refusal(wide, json_limits{32, 4}) == "JSON object with too many members");
  // Invalid UTF-8 becomes U+FFFD (msg.toString() before JSON.parse), not a refusal.
  CHECK(request_ok("{\"type\":6,\"data\":[\"\xff\"]}").data == json::array({"\xEF\xBF\xBD"}));
}

TEST_CASE("cluster: the adapter's responses decode and encode back byte for byte", "[protocol][cluster]") {
  const response sockets = response_ok(response_sockets);
  CHECK(sockets.request_id == "rq1");
  CHECK_FALSE(sockets.type);
  CHECK(sockets.sockets == json::array({"s1"}));
  CHECK(encode_response(sockets) == response_sockets);

  const response rooms = response_ok(response_all_rooms);
  CHECK(rooms.rooms == json::array({"s1", "room1"}));
  CHECK(encode_response(rooms) == response_all_rooms);

  const response joined = response_ok(response_remote_join);
  CHECK(joined == response{"rq3", {}, {}, {}, {}, {}, {}});
  CHECK(encode_response(joined) == response_remote_join);
  CHECK(encode_response(response_ok(response_remote_disconnect)) == response_remote_disconnect);

  const response fetched = response_ok(response_remote_fetch);
  REQUIRE(fetched.sockets);
  CHECK((*fetched.sockets)[0]["id"] == "s1");
  CHECK((*fetched.sockets)[0]["handshake"]["query"]["EIO"] == "4");
  CHECK((*fetched.sockets)[0]["data"] == json{{"user", "u"}});
  CHECK(encode_response(fetched) == response_remote_fetch);

  const response emitted = response_ok(response_server_side_emit);
  CHECK(emitted.type == request_type::server_side_emit);
  CHECK(emitted.data == json{{"ok", 7}});
  CHECK(encode_response(emitted) == response_server_side_emit);
  const response undefined_reply = response_ok(response_server_side_emit_undefined);
  CHECK_FALSE(undefined_reply.data);
  CHECK(encode_response(undefined_reply) == response_server_side_emit_undefined);
  CHECK(response_ok(R"({"type":6,"requestId":"q","data":null})").data == json(nullptr));

  // BROADCAST_CLIENT_COUNT is JSON, BROADCAST_ACK msgpack (its packet may hold binaries).
  const response count = response_ok(response_broadcast_client_count);
  CHECK(count.type == request_type::broadcast_client_count);
  CHECK(count.client_count == 1);
  CHECK(encode_response(count) == response_broadcast_client_count);
  const response acked = response_ok(unhex(response_broadcast_ack_hex));
  CHECK(acked.type == request_type::broadcast_ack);
  CHECK(acked.request_id == "rq8");
  CHECK(acked.packet == json{{"answer", 42}, {"bin", bin({9})}});
  CHECK(hex(encode_response(acked)) == response_broadcast_ack_hex);
  // ack(undefined): no packet member (notepack leaves it out).
  response empty_ack{"rq9", request_type::broadcast_ack, {}, {}, {}, {}, {}};
  CHECK(hex(encode_response(empty_ack)) == "82a47479706509a9726571756573744964a3727139");
  CHECK(response_ok(encode_response(empty_ack)) == empty_ack);
}

TEST_CASE("cluster: responses of the wrong shape are refused", "[protocol][cluster]") {
  CHECK(response_refusal("") == "truncated msgpack");
  CHECK(response_refusal("{\"requestId\":") == "malformed JSON");
  CHECK(response_refusal(pack(json::array({"rq1"}))) == "response: not a map");
  CHECK(response_refusal(R"({"sockets":[]})") == "response: requestId is missing");
  CHECK(response_refusal(R"({"requestId":1})") == "response: requestId is not a string");
  CHECK(response_refusal(R"({"requestId":"q","type":10})") == "response: unknown request type 10");
  CHECK(response_refusal(R"({"requestId":"q","type":"8"})") == R"(response: unknown request type "8")");
  CHECK(response_refusal(R"({"requestId":"q","sockets":"s1"})") == "response: sockets is not an array");
  CHECK(response_refusal(R"({"requestId":"q","rooms":{}})") == "response: rooms is not an array");
  for (const char* count : {"-1", "1.5", "\"3\"", "null"}) {
    INFO(count);
    CHECK(response_refusal(std::string(R"({"requestId":"q","type":8,"clientCount":)") + count + "}") ==
          "response: clientCount is not an integer >= 0");
  }
  CHECK(response_refusal(pack({{"requestId", "q"}, {"type", 9}, {"packet", json::array({json::array({json::array()})})}}),
                         json_limits{3, 1000}) == "msgpack nested too deeply");
  // null lists are no lists (`!response.sockets` in the adapter).
  CHECK_FALSE(response_ok(R"({"requestId":"q","sockets":null})").sockets);
}
