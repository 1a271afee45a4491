#include "protocol/cluster_messages.hpp"

#include "protocol/notepack.hpp"

#include <cmath>
#include <exception>
#include <utility>

namespace hub::cluster {
namespace {

// -- reading: the adapter's field rules over a decoded tree ------------------------------

// A message refused while its fields are read. Thrown by the field readers below and
// caught at each decoder's boundary (nothing escapes): a message has a dozen fields, each
// of which may be wrong, and one early exit keeps the readers short.
struct refusal {
  std::string reason;
};

[[noreturn]] void refuse(std::string reason) { throw refusal{std::move(reason)}; }

// JSON (when the bytes start with '{', as the adapter checks) or msgpack. The JSON text
// is read as Node reads it (Buffer.toString first: invalid UTF-8 becomes U+FFFD).
json parse_message(std::string_view bytes, const json_limits& limits) {
  if (!bytes.empty() && bytes.front() == '{') {
    const std::string text = notepack::utf8_or_replacement(bytes);
    const auto verdict = json_bounds::check(text, limits);
    if (verdict != json_bounds::verdict::ok) refuse(json_bounds::to_string(verdict));
    json value = json::parse(text, nullptr, false);
    if (value.is_discarded()) refuse("malformed JSON");
    return value;
  }
  std::string error;
  auto value = notepack::decode(bytes, limits, &error);
  if (!value) refuse(std::move(error));
  return std::move(*value);
}

// A member, or nullptr when absent. JS reads an absent member and one holding
// undefined alike; the decoders have already left out undefined members.
const json* member(const json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}
json* member(json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// A non-negative integer however it was spelled (JS has one number type: 7.0 is 7).
std::optional<std::uint64_t> as_count(const json& v) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer()) {
    const auto i = v.get<std::int64_t>();
    if (i >= 0) return static_cast<std::uint64_t>(i);
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d >= 0 && std::floor(d) == d && d < 18446744073709551616.0) return static_cast<std::uint64_t>(d);
  }
  return std::nullopt;
}

std::string text_of(const json& object, const char* key, std::string_view what) {
  const json* v = member(object, key);
  if (!v) refuse(std::string(what) + ": " + key + " is missing");
  if (!v->is_string()) refuse(std::string(what) + ": " + key + " is not a string");
  return v->get<std::string>();
}

std::string optional_text_of(const json& object, const char* key, std::string_view what) {
  const json* v = member(object, key);
  if (!v) return {};
  if (!v->is_string()) refuse(std::string(what) + ": " + key + " is not a string");
  return v->get<std::string>();
}

// A room: a string, or a number as JS turns it into the room's name (socket.join(5)).
std::string room_name(const json& v, std::string_view what) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_unsigned()) return std::to_string(v.get<std::uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  if (v.is_number_float()) return notepack::js_number_text(v.get<double>());
  refuse(std::string(what) + " holds a room that is not a string or a number");
}

// A list of rooms (new Set(list) in the adapter: absent or null is the empty set).
std::vector<std::string> rooms_of(const json& object, const char* key, std::string_view what) {
  const json* v = member(object, key);
  std::vector<std::string> rooms;
  if (!v || v->is_null()) return rooms;
  const std::string where = std::string(what) + ": " + key;
  if (!v->is_array()) refuse(where + " is not an array");
  rooms.reserve(v->size());
  for (const auto& room : *v) rooms.push_back(room_name(room, where));
  return rooms;
}

selector selector_of(const json& opts, std::string_view what) {
  if (!opts.is_object()) refuse(std::string(what) + ": opts is not a map");
  return selector{rooms_of(opts, "rooms", what), rooms_of(opts, "except", what)};
}

json flags_of(const json& opts, std::string_view what) {
  const json* v = member(opts, "flags");
  if (!v || v->is_null()) return json::object();
  if (!v->is_object()) refuse(std::string(what) + ": opts.flags is not a map");
  return *v;
}

// Moves packet.data out of `p` (the payload is not copied).
broadcast_packet packet_of(json& p, std::string_view what) {
  if (!p.is_object()) refuse(std::string(what) + ": packet is not a map");
  broadcast_packet packet;
  const json* type = member(p, "type");
  if (!type) refuse(std::string(what) + ": packet.type is missing");
  const auto t = as_count(*type);
  if (!t || *t > 6) refuse(std::string(what) + ": packet.type is not a Socket.IO packet type (0..6)");
  packet.type = static_cast<int>(*t);
  if (const json* nsp = member(p, "nsp")) {  // missing: "/", as the adapter sets it
    if (!nsp->is_string()) refuse(std::string(what) + ": packet.nsp is not a string");
    packet.nsp = nsp->get<std::string>();
  }
  json* data = member(p, "data");
  if (!data) refuse(std::string(what) + ": packet.data is missing");
  if (!data->is_array()) refuse(std::string(what) + ": packet.data is not an array");
  packet.data = std::move(*data);
  if (const json* id = member(p, "id")) {
    const auto n = as_count(*id);
    if (!n) refuse(std::string(what) + ": packet.id is not an integer >= 0");
    packet.id = *n;
  }
  return packet;
}

request_type type_of(const json& object, std::string_view what, bool responses_too) {
  const json* v = member(object, "type");
  if (!v) refuse(std::string(what) + ": type is missing");
  const auto t = as_count(*v);
  if (!t || *t > 9) refuse(std::string(what) + ": unknown request type " + v->dump());
  if (!responses_too && *t >= 8) refuse(std::string(what) + ": type " + std::to_string(*t) + " is a response type");
  return static_cast<request_type>(*t);
}

// -- writing: JSON text as JSON.stringify writes the JS value a json stands for ----------

void write_quoted(std::string& out, std::string_view raw) {
  static constexpr char hex[] = "0123456789abcdef";
  const std::string text = notepack::utf8_or_replacement(raw);
  out.push_back('"');
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out.push_back(hex[(static_cast<unsigned char>(c) >> 4U) & 0xFU]);
          out.push_back(hex[static_cast<unsigned char>(c) & 0xFU]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

void write_json(std::string& out, const json& v) {
  switch (v.type()) {
    case json::value_t::null:
    case json::value_t::discarded: out += "null"; return;
    case json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; return;
    case json::value_t::number_unsigned: out += std::to_string(v.get<std::uint64_t>()); return;
    case json::value_t::number_integer: out += std::to_string(v.get<std::int64_t>()); return;
    case json::value_t::number_float: {
      const double d = v.get<double>();
      out += std::isfinite(d) ? notepack::js_number_text(d) : "null";
      return;
    }
    case json::value_t::string: write_quoted(out, v.get_ref<const std::string&>()); return;
    case json::value_t::binary: {  // Buffer.prototype.toJSON
      out += R"({"type":"Buffer","data":[)";
      bool first = true;
      for (const auto byte : v.get_binary()) {
        if (!first) out.push_back(',');
        first = false;
        out += std::to_string(byte);
      }
      out += "]}";
      return;
    }
    case json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& element : v) {
        if (!first) out.push_back(',');
        first = false;
        write_json(out, element);
      }
      out.push_back(']');
      return;
    }
    case json::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& it : notepack::js_key_order(v)) {
        if (!first) out.push_back(',');
        first = false;
        write_quoted(out, it.key());
        out.push_back(':');
        write_json(out, it.value());
      }
      out.push_back('}');
      return;
    }
  }
}

// One object's members, written in order in one of the two encodings. A msgpack map
// needs its size first, so members are collected (as views of the caller's values: no
// payload is copied) and written at the end.
class object_writer {
 public:
  void add(std::string_view key, const json& value) { members_.push_back({key, kind::value, &value, {}}); }
  void add_text(std::string_view key, std::string_view text) { members_.push_back({key, kind::text, nullptr, text}); }
  // A nested object already written in the same encoding.
  void add_encoded(std::string_view key, std::string_view encoded) {
    members_.push_back({key, kind::encoded, nullptr, encoded});
  }

  std::string json_text() const {
    std::string out = "{";
    bool first = true;
    for (const auto& m : members_) {
      if (!first) out.push_back(',');
      first = false;
      write_quoted(out, m.key);
      out.push_back(':');
      switch (m.what) {
        case kind::value: write_json(out, *m.value); break;
        case kind::text: write_quoted(out, m.text); break;
        case kind::encoded: out += m.text; break;
      }
    }
    out.push_back('}');
    return out;
  }

  std::string msgpack() const {
    std::string out;
    notepack::append_map_header(out, members_.size());
    for (const auto& m : members_) {
      notepack::append(out, json(m.key));
      switch (m.what) {
        case kind::value: notepack::append(out, *m.value); break;
        case kind::text: notepack::append(out, json(m.text)); break;
        case kind::encoded: out += m.text; break;
      }
    }
    return out;
  }

 private:
  enum class kind : std::uint8_t { value, text, encoded };
  struct entry {
    std::string_view key;
    kind what;
    const json* value;      // kind::value
    std::string_view text;  // kind::text and kind::encoded
  };
  std::vector<entry> members_;
};

json rooms_json(const std::vector<std::string>& rooms) {
  json list = json::array();
  for (const auto& room : rooms) list.push_back(room);
  return list;
}

enum class encoding : std::uint8_t { json_text, msgpack };

std::string finish(const object_writer& w, encoding e) { return e == encoding::json_text ? w.json_text() : w.msgpack(); }

// {rooms, except[, flags]}
std::string opts_object(const selector& s, const json* flags, encoding e) {
  const json rooms = rooms_json(s.rooms);
  const json except = rooms_json(s.except);
  object_writer w;
  w.add("rooms", rooms);
  w.add("except", except);
  if (flags) w.add("flags", *flags);
  return finish(w, e);
}

// {type, data, nsp[, id]}: the order socket.io builds it in, nsp added by the adapter.
std::string packet_object(const broadcast_packet& p, encoding e) {
  const json type = p.type;
  const json id = p.id ? json(*p.id) : json();
  object_writer w;
  w.add("type", type);
  w.add("data", p.data);
  w.add_text("nsp", p.nsp);
  if (p.id) w.add("id", id);
  return finish(w, e);
}

template <typename T, typename Read>
std::optional<T> decode_guarded(std::string* error, Read read) {
  try {
    return read();
  } catch (const refusal& r) {
    if (error) *error = r.reason;
  } catch (const std::exception& e) {
    if (error) *error = std::string("cluster message refused: ") + e.what();
  }
  return std::nullopt;
}

}  // namespace

std::string channels::room(std::string_view room) const {
  std::string name = broadcast;
  name.append(room);
  name.push_back('#');
  return name;
}

std::string channels::specific_response(std::string_view uid) const {
  std::string name = response;
  name.append(uid);
  name.push_back('#');
  return name;
}

channels channels_for(std::string_view prefix, std::string_view nsp) {
  channels c;
  const std::string p(prefix);
  const std::string n(nsp);
  c.broadcast = p + "#" + n + "#";
  c.request = p + "-request#" + n + "#";
  c.response = p + "-response#" + n + "#";
  c.broadcast_pattern = prefix_pattern(c.broadcast);
  return c;
}

std::string prefix_pattern(std::string_view prefix) {
  std::string out;
  out.reserve(prefix.size() + 1);
  for (const char ch : prefix) {
    if (ch == '*' || ch == '?' || ch == '[' || ch == ']' || ch == '\\') out.push_back('\\');
    out.push_back(ch);
  }
  out.push_back('*');
  return out;
}

std::optional<std::string> room_of_channel(const channels& c, std::string_view channel) {
  if (channel.substr(0, c.broadcast.size()) != c.broadcast) return std::nullopt;
  const std::string_view rest = channel.substr(c.broadcast.size());
  if (rest.empty()) return std::string();
  if (rest.back() != '#') return std::nullopt;
  return std::string(rest.substr(0, rest.size() - 1));
}

std::string encode_broadcast(const broadcast_message& m) {
  std::string out;
  notepack::append_array_header(out, 3);
  notepack::append(out, json(m.uid));
  out += packet_object(m.packet, encoding::msgpack);
  out += opts_object(m.opts, &m.flags, encoding::msgpack);
  return out;
}

std::optional<broadcast_message> decode_broadcast(std::string_view bytes, const json_limits& limits,
                                                  std::string* error) {
  return decode_guarded<broadcast_message>(error, [&] {
    json root = parse_message(bytes, limits);
    constexpr std::string_view what = "broadcast";
    if (!root.is_array() || root.size() < 3) refuse("broadcast: not an array [uid, packet, opts]");
    if (!root[0].is_string()) refuse("broadcast: uid is not a string");
    broadcast_message m;
    m.uid = root[0].get<std::string>();
    m.packet = packet_of(root[1], what);
    m.opts = selector_of(root[2], what);
    m.flags = flags_of(root[2], what);
    return m;
  });
}

std::optional<request> decode_request(std::string_view bytes, const json_limits& limits, std::string* error) {
  return decode_guarded<request>(error, [&] {
    json root = parse_message(bytes, limits);
    if (!root.is_object()) refuse("request: not a map");
    request r;
    r.type = type_of(root, "request", false);
    r.uid = optional_text_of(root, "uid", "request");
    r.request_id = optional_text_of(root, "requestId", "request");
    const json* opts = member(std::as_const(root), "opts");
    if (opts && opts->is_null()) opts = nullptr;  // `if (request.opts)` in the adapter
    switch (r.type) {
      case request_type::sockets: r.rooms = rooms_of(root, "rooms", "sockets request"); break;
      case request_type::all_rooms: break;
      case request_type::remote_join:
      case request_type::remote_leave: {
        const std::string_view what = r.type == request_type::remote_join ? "remote_join request" : "remote_leave request";
        if (opts) {
          r.opts = selector_of(*opts, what);
          r.rooms = rooms_of(root, "rooms", what);
        } else {
          r.sid = text_of(root, "sid", what);
          const json* room = member(root, "room");
          if (!room) refuse(std::string(what) + ": room is missing");
          r.room = room_name(*room, std::string(what) + ": room");
        }
        break;
      }
      case request_type::remote_disconnect: {
        constexpr std::string_view what = "remote_disconnect request";
        if (opts) {
          r.opts = selector_of(*opts, what);
        } else {
          r.sid = text_of(root, "sid", what);
        }
        if (const json* close = member(root, "close")) {
          if (!close->is_boolean()) refuse("remote_disconnect request: close is not a boolean");
          r.close = close->get<bool>();
        }
        break;
      }
      case request_type::remote_fetch:
        if (!opts) refuse("remote_fetch request: opts is missing");
        r.opts = selector_of(*opts, "remote_fetch request");
        break;
      case request_type::server_side_emit: {
        json* data = member(root, "data");
        if (!data || !data->is_array() || data->empty()) {
          refuse("server_side_emit request: data is not an array [event, ...args]");
        }
        r.data = std::move(*data);
        break;
      }
      case request_type::broadcast: {
        constexpr std::string_view what = "broadcast request";
        if (r.request_id.empty()) refuse("broadcast request: requestId is missing");
        json* packet = member(root, "packet");
        if (!packet) refuse("broadcast request: packet is missing");
        r.packet = packet_of(*packet, what);
        if (!opts) refuse("broadcast request: opts is missing");
        r.opts = selector_of(*opts, what);
        r.flags = flags_of(*opts, what);
        break;
      }
      case request_type::broadcast_client_count:
      case request_type::broadcast_ack: break;  // refused by type_of
    }
    return r;
  });
}

std::string encode_request(const request& r) {
  const json type = static_cast<int>(r.type);
  const json rooms = rooms_json(r.rooms);
  const json close = r.close;
  const auto e = r.type == request_type::broadcast ? encoding::msgpack : encoding::json_text;
  object_writer w;
  if (!r.uid.empty()) w.add_text("uid", r.uid);
  if (!r.request_id.empty()) w.add_text("requestId", r.request_id);
  w.add("type", type);
  // Nested objects are written first; the writer keeps views of them.
  const selector& opts = r.opts ? *r.opts : selector{};
  const bool is_broadcast = r.type == request_type::broadcast;
  const std::string opts_text = opts_object(opts, is_broadcast ? &r.flags : nullptr, e);
  const std::string packet_text = is_broadcast ? packet_object(r.packet ? *r.packet : broadcast_packet{}, e) : "";
  switch (r.type) {
    case request_type::sockets: w.add("rooms", rooms); break;
    case request_type::all_rooms: break;
    case request_type::remote_join:
    case request_type::remote_leave:
      if (r.opts) {
        w.add_encoded("opts", opts_text);
        w.add("rooms", rooms);
      } else {
        w.add_text("sid", r.sid);
        w.add_text("room", r.room);
      }
      break;
    case request_type::remote_disconnect:
      if (r.opts) {
        w.add_encoded("opts", opts_text);
      } else {
        w.add_text("sid", r.sid);
      }
      w.add("close", close);
      break;
    case request_type::remote_fetch: w.add_encoded("opts", opts_text); break;
    case request_type::server_side_emit: w.add("data", r.data); break;
    case request_type::broadcast:
      w.add_encoded("packet", packet_text);
      w.add_encoded("opts", opts_text);
      break;
    case request_type::broadcast_client_count:
    case request_type::broadcast_ack: break;
  }
  return finish(w, e);
}

std::optional<response> decode_response(std::string_view bytes, const json_limits& limits, std::string* error) {
  return decode_guarded<response>(error, [&] {
    json root = parse_message(bytes, limits);
    if (!root.is_object()) refuse("response: not a map");
    response r;
    r.request_id = text_of(root, "requestId", "response");
    if (member(root, "type")) r.type = type_of(root, "response", true);
    // `!response.sockets || !Array.isArray(...)` in the adapter: null is no list.
    for (auto [key, field] : {std::pair{"sockets", &r.sockets}, std::pair{"rooms", &r.rooms}}) {
      json* v = member(root, key);
      if (!v || v->is_null()) continue;
      if (!v->is_array()) refuse(std::string("response: ") + key + " is not an array");
      *field = std::move(*v);
    }
    if (json* data = member(root, "data")) r.data = std::move(*data);
    if (const json* count = member(root, "clientCount")) {
      r.client_count = as_count(*count);
      if (!r.client_count) refuse("response: clientCount is not an integer >= 0");
    }
    if (json* packet = member(root, "packet")) r.packet = std::move(*packet);
    return r;
  });
}

std::string encode_response(const response& r) {
  const json type = r.type ? json(static_cast<int>(*r.type)) : json();
  const json count = r.client_count ? json(*r.client_count) : json();
  object_writer w;
  if (r.type) w.add("type", type);
  w.add_text("requestId", r.request_id);
  if (r.sockets) w.add("sockets", *r.sockets);
  if (r.rooms) w.add("rooms", *r.rooms);
  if (r.data) w.add("data", *r.data);
  if (r.client_count) w.add("clientCount", count);
  if (r.packet) w.add("packet", *r.packet);
  return finish(w, r.type == request_type::broadcast_ack ? encoding::msgpack : encoding::json_text);
}

}  // namespace hub::cluster
