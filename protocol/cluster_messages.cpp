#include "protocol/cluster_messages.hpp"

#include "protocol/notepack.hpp"

#include <cmath>

namespace hub::cluster {
namespace {

bool fail(std::string* error, std::string why) {
  if (error) *error = std::move(why);
  return false;
}

// A value as JavaScript's JSON.stringify writes it: a Buffer is {"type":"Buffer","data":[...]}.
json as_js_json(const json& v) {
  if (v.is_binary()) {
    json bytes = json::array();
    for (auto b : v.get_binary()) bytes.push_back(static_cast<unsigned>(b));
    return json{{"type", "Buffer"}, {"data", std::move(bytes)}};
  }
  if (v.is_array()) {
    json out = json::array();
    for (const auto& e : v) out.push_back(as_js_json(e));
    return out;
  }
  if (v.is_object()) {
    json out = json::object();
    for (auto it = v.begin(); it != v.end(); ++it) out[it.key()] = as_js_json(it.value());
    return out;
  }
  return v;
}

std::string dump_js(const json& v) { return as_js_json(v).dump(-1, ' ', false, json::error_handler_t::replace); }

// A room name as JavaScript would key it: strings as they are, numbers as their text.
bool room_name(const json& v, std::string& out) {
  if (v.is_string()) {
    out = v.get<std::string>();
    return true;
  }
  if (v.is_number_integer()) {
    out = v.dump();
    return true;
  }
  if (v.is_number_float()) {
    out = notepack::js_number_text(v.get<double>());
    return true;
  }
  return false;
}

bool rooms_of(const json& v, std::vector<std::string>& out, const char* what, std::string* error) {
  if (v.is_null()) return true;  // absent: none
  if (!v.is_array()) return fail(error, std::string(what) + " is not an array");
  out.reserve(v.size());
  for (const auto& r : v) {
    std::string name;
    if (!room_name(r, name)) return fail(error, std::string(what) + " holds a room that is not a string");
    out.push_back(std::move(name));
  }
  return true;
}

const json& member(const json& obj, const char* key) {
  static const json absent;
  auto it = obj.find(key);
  return it == obj.end() ? absent : *it;
}

bool selector_of(const json& v, selector& out, std::string* error) {
  if (!v.is_object()) return fail(error, "opts is not an object");
  return rooms_of(member(v, "rooms"), out.rooms, "opts.rooms", error) &&
         rooms_of(member(v, "except"), out.except, "opts.except", error);
}

bool packet_of(const json& v, broadcast_packet& out, std::string* error) {
  if (!v.is_object()) return fail(error, "packet is not an object");
  const auto& type = member(v, "type");
  if (!type.is_number_integer() || type.get<std::int64_t>() < 0 || type.get<std::int64_t>() > 6)
    return fail(error, "packet.type is not a Socket.IO packet type");
  out.type = type.get<int>();
  const auto& nsp = member(v, "nsp");
  if (nsp.is_string())
    out.nsp = nsp.get<std::string>();
  else if (!nsp.is_null())
    return fail(error, "packet.nsp is not a string");
  const auto& data = member(v, "data");
  if (!data.is_array()) return fail(error, "packet.data is not an array");
  out.data = data;
  const auto& id = member(v, "id");
  if (id.is_number_unsigned()) out.id = id.get<std::uint64_t>();
  return true;
}

json array_of(const std::vector<std::string>& v) {
  json a = json::array();
  for (const auto& s : v) a.push_back(s);
  return a;
}

json selector_json(const selector& s) { return json{{"rooms", array_of(s.rooms)}, {"except", array_of(s.except)}}; }

json packet_json(const broadcast_packet& p) {
  json j{{"type", p.type}, {"data", p.data}, {"nsp", p.nsp}};
  if (p.id) j["id"] = *p.id;
  return j;
}

// JSON (first byte '{', as the adapter checks) or msgpack, into an object.
std::optional<json> decode_object(std::string_view bytes, const json_limits& limits, std::string* error) {
  std::optional<json> v;
  if (!bytes.empty() && bytes.front() == '{') {
    v = json_bounds::parse(bytes, limits);
    if (!v) {
      fail(error, "malformed JSON, or JSON beyond the depth and member bounds");
      return std::nullopt;
    }
  } else {
    v = notepack::decode(bytes, limits, error);
    if (!v) return std::nullopt;
  }
  if (!v->is_object()) {
    fail(error, "not an object");
    return std::nullopt;
  }
  return v;
}

bool type_of(const json& v, request_type& out, std::string* error) {
  if (!v.is_number_integer()) return fail(error, "type is not a number");
  auto n = v.get<std::int64_t>();
  if (n < 0 || n > static_cast<std::int64_t>(request_type::broadcast_ack))
    return fail(error, "unknown request type " + std::to_string(n));
  out = static_cast<request_type>(n);
  return true;
}

bool string_of(const json& v, std::string& out, const char* what, std::string* error) {
  if (v.is_null()) return true;
  if (!v.is_string()) return fail(error, std::string(what) + " is not a string");
  out = v.get<std::string>();
  return true;
}

}  // namespace

// -- channels ---------------------------------------------------------------------------------

channels channels_for(std::string_view prefix, std::string_view nsp) {
  channels c;
  c.broadcast.append(prefix).append("#").append(nsp).append("#");
  c.request.append(prefix).append("-request#").append(nsp).append("#");
  c.response.append(prefix).append("-response#").append(nsp).append("#");
  return c;
}

std::string channels::room(std::string_view r) const {
  std::string out = broadcast;
  out.append(r).append("#");
  return out;
}

std::string channels::specific_response(std::string_view uid) const {
  std::string out = response;
  out.append(uid).append("#");
  return out;
}

std::optional<std::string> room_of_channel(const channels& c, std::string_view channel) {
  if (channel.size() < c.broadcast.size() || channel.compare(0, c.broadcast.size(), c.broadcast) != 0)
    return std::nullopt;
  auto rest = channel.substr(c.broadcast.size());
  if (rest.empty()) return std::string{};
  // As the adapter slices it: the room is what lies between the prefix and a final '#'.
  if (rest.back() != '#') return std::nullopt;
  return std::string(rest.substr(0, rest.size() - 1));
}

// -- broadcasts --------------------------------------------------------------------------------

std::string encode_broadcast(const broadcast_message& m) {
  json opts = selector_json(m.opts);
  opts["flags"] = m.flags.is_object() ? m.flags : json::object();
  return notepack::encode(json::array({m.uid, packet_json(m.packet), std::move(opts)}));
}

std::optional<broadcast_message> decode_broadcast(std::string_view bytes, const json_limits& limits,
                                                  std::string* error) {
  auto v = notepack::decode(bytes, limits, error);
  if (!v) return std::nullopt;
  if (!v->is_array() || v->size() < 3) {
    fail(error, "not an array [uid, packet, opts]");
    return std::nullopt;
  }
  broadcast_message m;
  const auto& uid = (*v)[0];
  if (!uid.is_string()) {
    fail(error, "uid is not a string");
    return std::nullopt;
  }
  m.uid = uid.get<std::string>();
  if (!packet_of((*v)[1], m.packet, error)) return std::nullopt;
  const auto& opts = (*v)[2];
  if (!selector_of(opts, m.opts, error)) return std::nullopt;
  const auto& flags = member(opts, "flags");
  if (flags.is_object()) m.flags = flags;
  return m;
}

// -- requests -----------------------------------------------------------------------------------

std::optional<request> decode_request(std::string_view bytes, const json_limits& limits, std::string* error) {
  auto v = decode_object(bytes, limits, error);
  if (!v) return std::nullopt;
  request r;
  if (!type_of(member(*v, "type"), r.type, error) || !string_of(member(*v, "uid"), r.uid, "uid", error) ||
      !string_of(member(*v, "requestId"), r.request_id, "requestId", error) ||
      !string_of(member(*v, "room"), r.room, "room", error) || !string_of(member(*v, "sid"), r.sid, "sid", error) ||
      !rooms_of(member(*v, "rooms"), r.rooms, "rooms", error))
    return std::nullopt;
  const auto& opts = member(*v, "opts");
  if (!opts.is_null()) {
    selector s;
    if (!selector_of(opts, s, error)) return std::nullopt;
    r.opts = std::move(s);
    const auto& flags = member(opts, "flags");
    if (flags.is_object()) r.flags = flags;
  }
  const auto& close = member(*v, "close");
  r.close = close.is_boolean() && close.get<bool>();
  r.data = member(*v, "data");
  if (r.type == request_type::server_side_emit && !r.data.is_array()) {
    fail(error, "SERVER_SIDE_EMIT without a data array");
    return std::nullopt;
  }
  const auto& packet = member(*v, "packet");
  if (r.type == request_type::broadcast) {
    broadcast_packet p;
    if (!packet_of(packet, p, error)) return std::nullopt;
    r.packet = std::move(p);
  }
  if ((r.type == request_type::remote_join || r.type == request_type::remote_leave ||
       r.type == request_type::remote_disconnect) &&
      !r.opts && r.sid.empty()) {
    fail(error, "a remote operation with neither opts nor sid");
    return std::nullopt;
  }
  return r;
}

std::string encode_request(const request& r) {
  json j = json::object();
  j["uid"] = r.uid;
  if (!r.request_id.empty()) j["requestId"] = r.request_id;
  j["type"] = static_cast<int>(r.type);
  switch (r.type) {
    case request_type::sockets: j["rooms"] = array_of(r.rooms); break;
    case request_type::all_rooms: break;
    case request_type::remote_join:
    case request_type::remote_leave:
      if (r.opts) {
        j["opts"] = selector_json(*r.opts);
        j["rooms"] = array_of(r.rooms);
      } else {
        j["sid"] = r.sid;
        j["room"] = r.room;
      }
      break;
    case request_type::remote_disconnect:
      if (r.opts)
        j["opts"] = selector_json(*r.opts);
      else
        j["sid"] = r.sid;
      j["close"] = r.close;
      break;
    case request_type::remote_fetch: j["opts"] = selector_json(r.opts.value_or(selector{})); break;
    case request_type::server_side_emit: j["data"] = r.data.is_array() ? r.data : json::array(); break;
    case request_type::broadcast: {
      j["packet"] = packet_json(r.packet.value_or(broadcast_packet{}));
      json opts = selector_json(r.opts.value_or(selector{}));
      opts["flags"] = r.flags.is_object() ? r.flags : json::object();
      j["opts"] = std::move(opts);
      return notepack::encode(j);  // binary arguments stay binary
    }
    case request_type::broadcast_client_count:
    case request_type::broadcast_ack: break;
  }
  return dump_js(j);
}

// -- responses -----------------------------------------------------------------------------------

std::optional<response> decode_response(std::string_view bytes, const json_limits& limits, std::string* error) {
  auto v = decode_object(bytes, limits, error);
  if (!v) return std::nullopt;
  response r;
  const auto& id = member(*v, "requestId");
  if (!id.is_string()) {
    fail(error, "requestId is not a string");
    return std::nullopt;
  }
  r.request_id = id.get<std::string>();
  const auto& type = member(*v, "type");
  if (!type.is_null()) {
    request_type t{};
    if (!type_of(type, t, error)) return std::nullopt;
    r.type = t;
  }
  if (auto it = v->find("sockets"); it != v->end()) {
    if (!it->is_array()) {
      fail(error, "sockets is not an array");
      return std::nullopt;
    }
    r.sockets = *it;
  }
  if (auto it = v->find("rooms"); it != v->end()) {
    if (!it->is_array()) {
      fail(error, "rooms is not an array");
      return std::nullopt;
    }
    r.rooms = *it;
  }
  if (auto it = v->find("data"); it != v->end()) r.data = *it;
  if (auto it = v->find("packet"); it != v->end()) r.packet = *it;
  const auto& count = member(*v, "clientCount");
  if (r.type == request_type::broadcast_client_count) {
    if (!count.is_number_unsigned()) {
      fail(error, "clientCount is not a count");
      return std::nullopt;
    }
    r.client_count = count.get<std::uint64_t>();
  }
  return r;
}

std::string encode_response(const response& r) {
  json j = json::object();
  if (r.type == request_type::broadcast_client_count || r.type == request_type::broadcast_ack) {
    // The adapter's msgpack answers: {type, requestId, clientCount | packet}.
    j["type"] = static_cast<int>(*r.type);
    j["requestId"] = r.request_id;
    if (r.type == request_type::broadcast_client_count)
      j["clientCount"] = r.client_count.value_or(0);
    else
      j["packet"] = r.packet.value_or(json());
    return notepack::encode(j);
  }
  if (r.type) j["type"] = static_cast<int>(*r.type);
  j["requestId"] = r.request_id;
  if (r.sockets) j["sockets"] = *r.sockets;
  if (r.rooms) j["rooms"] = *r.rooms;
  if (r.data) j["data"] = *r.data;
  return dump_js(j);
}

}  // namespace hub::cluster
