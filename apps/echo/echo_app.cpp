#include "apps/echo/echo_app.hpp"

namespace hub::apps {
namespace {

// How long the server waits for the client's ack of an `emit-with-ack`.
constexpr std::chrono::seconds echo_ack_timeout{20};

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
  install_namespace(srv.of("/"));
  install_namespace(srv.of("/custom"));
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
