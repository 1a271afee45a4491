#include "apps/echo/echo_app.hpp"

#include <algorithm>

namespace hub::apps {
namespace {

// How long the server waits for the client's ack of an `emit-with-ack`.
constexpr std::chrono::seconds echo_ack_timeout{20};

std::vector<std::string> strings_of(const json& opts, const char* key) {
  std::vector<std::string> out;
  if (opts.is_object() && opts.contains(key) && opts[key].is_array())
    for (const auto& r : opts[key])
      if (r.is_string()) out.push_back(r.get<std::string>());
  return out;
}

const json& first_arg(sio::event& ev) {
  static const json empty = json::object();
  const auto& args = ev.args();
  return args.empty() ? empty : args[0];
}

// `b` narrowed to opts {rooms?, except?}.
sio::broadcaster select(sio::broadcaster b, const json& opts) {
  for (auto& r : strings_of(opts, "rooms")) b.to(std::move(r));
  for (auto& r : strings_of(opts, "except")) b.except(std::move(r));
  return b;
}

sio::broadcaster select(sio::socket& s, const json& opts) { return select(s.io().in(s.nsp()), opts); }

std::chrono::milliseconds timeout_of(const json& opts, std::chrono::milliseconds otherwise) {
  if (opts.is_object() && opts.contains("timeout") && opts["timeout"].is_number_unsigned())
    return std::chrono::milliseconds(std::min<std::uint64_t>(opts["timeout"].get<std::uint64_t>(), 60000));
  return otherwise;
}

json answers(const sio::ack_result& r) {
  return json{{"err", r.error.empty() ? json() : json(r.error)}, {"responses", r.responses}};
}

// The cluster operations (docs/cluster.md) as events, for the interop tests: each
// answers through the client's ack, as tests/interop/reference-echo-server.js does.
void install_cluster_events(sio::namespace_def& nsp) {
  nsp.on("join", [](sio::socket& s, sio::event& ev) {
    const auto& room = first_arg(ev);
    if (room.is_string()) s.join(room.get<std::string>());
    ev.ack(true);
  });
  nsp.on("leave", [](sio::socket& s, sio::event& ev) {
    const auto& room = first_arg(ev);
    if (room.is_string()) s.leave(room.get<std::string>());
    ev.ack(true);
  });
  nsp.on("rooms", [](sio::socket& s, sio::event& ev) {
    std::vector<std::string> rooms{s.id()};
    for (const auto& r : s.rooms())
      if (!r.empty() && r != s.id()) rooms.push_back(r);
    std::sort(rooms.begin(), rooms.end());
    ev.ack(json::array({json(rooms)}));
  });
  nsp.on("set-data", [](sio::socket& s, sio::event& ev) {
    s.data() = first_arg(ev);
    ev.ack(true);
  });
  nsp.on("broadcast", [](sio::socket& s, sio::event& ev) {
    const auto& o = first_arg(ev);
    auto b = o.value("broadcast", false) ? select(s.broadcast(), o) : select(s, o);
    if (o.value("local", false)) b.local();
    const auto& args = o.contains("args") ? o["args"] : json::array();
    b.emit(o.value("event", std::string("broadcast")), args.is_array() ? args : json::array());
    ev.ack(true);
  });
  nsp.on("fetch-sockets", [](sio::socket& s, sio::event& ev) {
    select(s, first_arg(ev)).fetch_sockets([ack = ev.ack](sio::fetch_result r) {
      std::sort(r.sockets.begin(), r.sockets.end(),
                [](const json& a, const json& b) { return a.value("id", "") < b.value("id", ""); });
      json out = json::array();
      for (auto& sock : r.sockets) {
        json rooms = sock.contains("rooms") && sock["rooms"].is_array() ? sock["rooms"] : json::array();
        std::sort(rooms.begin(), rooms.end());
        out.push_back(json{{"id", sock.value("id", "")}, {"rooms", rooms}, {"data", sock.value("data", json())}});
      }
      ack(json::array({out}));
    });
  });
  nsp.on("sockets-join", [](sio::socket& s, sio::event& ev) {
    select(s, first_arg(ev)).sockets_join(strings_of(first_arg(ev), "join"));
    ev.ack(true);
  });
  nsp.on("sockets-leave", [](sio::socket& s, sio::event& ev) {
    select(s, first_arg(ev)).sockets_leave(strings_of(first_arg(ev), "leave"));
    ev.ack(true);
  });
  nsp.on("disconnect-sockets", [](sio::socket& s, sio::event& ev) {
    const auto& o = first_arg(ev);
    select(s, o).disconnect_sockets(o.value("close", false));
    ev.ack(true);
  });
  nsp.on("server-side-emit", [](sio::socket& s, sio::event& ev) {
    const auto& o = first_arg(ev);
    auto event = o.value("event", std::string("relay"));
    json args = o.contains("args") && o["args"].is_array() ? o["args"] : json::array();
    if (!o.value("ack", false)) {
      s.io().server_side_emit(s.nsp(), std::move(event), std::move(args));
      ev.ack(true);
      return;
    }
    s.io().server_side_emit_with_ack(s.nsp(), std::move(event), std::move(args),
                                     timeout_of(o, std::chrono::milliseconds(0)),
                                     [ack = ev.ack](const sio::ack_result& r) { ack(answers(r)); });
  });
  nsp.on("broadcast-with-ack", [](sio::socket& s, sio::event& ev) {
    const auto& o = first_arg(ev);
    json args = o.contains("args") && o["args"].is_array() ? o["args"] : json::array();
    select(s, o).emit_with_ack(o.value("event", std::string("ask")), std::move(args),
                               timeout_of(o, std::chrono::milliseconds(5000)),
                               [ack = ev.ack](const sio::ack_result& r) { ack(answers(r)); });
  });
  nsp.on("server-count", [](sio::socket& s, sio::event& ev) {
    s.io().server_count(s.nsp(), [ack = ev.ack](std::size_t n) { ack(n); });
  });
}

// What other nodes' server-side emits do here: `relay` re-emits to this node's own
// clients; any emit that wants an answer gets {node, event, args}.
void install_server_side(const sio::server& srv, sio::namespace_def& nsp) {
  nsp.on_server_side(
    [&srv, name = nsp.name()](const std::string& event, const json& args, const sio::server_side_reply& reply) {
      if (event == "relay" && !args.empty() && args[0].is_string()) {
        json rest = json::array();
        for (std::size_t i = 1; i < args.size(); ++i) rest.push_back(args[i]);
        srv.in(name).local().emit(args[0].get<std::string>(), std::move(rest));
      }
      if (reply) reply(json{{"node", srv.cluster().uid()}, {"event", event}, {"args", args}});
    });
}

void install_namespace(sio::namespace_def& nsp) {
  nsp.use([](sio::socket& s) -> std::optional<sio::connect_refusal> {
    // A client can ask to be refused, to exercise middleware refusals end to end.
    if (s.auth().contains("reject"))
      return sio::connect_refusal{"not authorized", json{{"reason", s.auth()["reject"]}}};
    return std::nullopt;
  });
  nsp.on_connection([](sio::socket& s) { s.emit("auth", json::array({s.auth()})); });
  nsp.on("message",
         [](sio::socket& s, sio::event& ev) { s.emit_raw("message-back", ev.raw_args(), ev.attachments()); });
  nsp.on("message-with-ack", [](sio::socket&, sio::event& ev) { ev.ack.raw(ev.raw_args(), ev.attachments()); });
  nsp.on("emit-with-ack", [](sio::socket& s, sio::event& ev) {
    s.emit_raw_with_ack("emit-with-ack", ev.raw_args(), ev.attachments(), echo_ack_timeout,
                        [&s](std::optional<sio::event> reply) {
                          if (reply) s.emit_raw("emit-with-ack", reply->raw_args(), reply->attachments());
                        });
  });
}

}  // namespace

void install_echo(sio::server& srv) {
  for (const char* name : {"/", "/custom"}) {
    auto& nsp = srv.of(name);
    install_namespace(nsp);
    install_cluster_events(nsp);
    install_server_side(srv, nsp);
  }
}

caf::actor spawn_engine_echo(caf::actor_system& sys, const outlet_weak& out) {
  return sys.spawn([out](caf::event_based_actor* self) -> caf::behavior {
    return {
      [=](eio_text_atom, const std::string& text) {
        auto p = std::make_shared<wire_packet>();
        p->text.reserve(text.size() + 1);
        p->text += '4';
        p->text += text;
        if (auto o = out.lock()) {
          o->send(std::move(p));
          o->input_done();
        }
      },
      [=](eio_binary_atom, std::string& bytes) {
        auto p = std::make_shared<wire_packet>();
        p->binaries.push_back(std::move(bytes));
        if (auto o = out.lock()) {
          o->send(std::move(p));
          o->input_done();
        }
      },
      [=](eio_closed_atom, close_reason) { self->quit(); },
    };
  });
}

}  // namespace hub::apps
