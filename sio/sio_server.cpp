#include "sio/sio_server.hpp"

#include "sio/room_members.hpp"

#include "sio/room_directory.hpp"
#include "sio/sio_connection.hpp"
#include "protocol/socketio_packet.hpp"
#include "util/metrics.hpp"

namespace hub::sio {
namespace {

wire_packet_ptr encode_packet(packet p) {
  auto w = std::make_shared<wire_packet>();
  w->text.reserve(p.data.size() + p.nsp.size() + 8);
  w->text += '4';
  encode_append(w->text, p);
  w->binaries = std::move(p.attachments);
  return w;
}

std::string raw_array(std::string_view name_json, std::string_view raw_args) {
  std::string data;
  data.reserve(name_json.size() + raw_args.size() + 3);
  data += '[';
  data += name_json;
  if (!raw_args.empty()) {
    data += ',';
    data += raw_args;
  }
  data += ']';
  return data;
}

}  // namespace

// -- encoding ------------------------------------------------------------------------------

json event_data(std::string_view name, json args) {
  json data = json::array();
  data.push_back(std::string(name));
  if (args.is_array()) {
    for (auto& a : args) data.push_back(std::move(a));
  } else {
    data.push_back(std::move(args));
  }
  return data;
}

wire_packet_ptr encode_event_data(const std::string& nsp, json data, std::optional<std::uint64_t> ack_id) {
  packet p{packet_type::event, nsp, ack_id, {}, {}};
  json_args::extract_binaries(data, p.attachments);
  // Strings from other nodes or the application may hold invalid UTF-8: replaced, not thrown on.
  p.data = data.dump(-1, ' ', false, json::error_handler_t::replace);
  return encode_packet(std::move(p));
}

wire_packet_ptr encode_event(const std::string& nsp, std::string_view name, json args,
                             std::optional<std::uint64_t> ack_id) {
  return encode_event_data(nsp, event_data(name, std::move(args)), ack_id);
}

wire_packet_ptr encode_event_raw(const std::string& nsp, std::string_view name, std::string_view raw_args,
                                 std::vector<std::string> attachments, std::optional<std::uint64_t> ack_id) {
  packet p{packet_type::event, nsp, ack_id, raw_array(json(std::string(name)).dump(), raw_args),
           std::move(attachments)};
  return encode_packet(std::move(p));
}

// -- acks ----------------------------------------------------------------------------------

void ack_sender::operator()(json results) const {
  if (!valid_) return;
  auto o = out_.lock();
  if (!o) return;
  if (!results.is_array()) results = json::array({std::move(results)});
  packet p{packet_type::ack, nsp_, id_, {}, {}};
  json_args::extract_binaries(results, p.attachments);
  p.data = results.dump();
  o->send(encode_packet(std::move(p)));
}

void ack_sender::raw(std::string_view raw_args, std::vector<std::string> attachments) const {
  if (!valid_) return;
  auto o = out_.lock();
  if (!o) return;
  std::string data;
  data.reserve(raw_args.size() + 2);
  data += '[';
  data += raw_args;
  data += ']';
  o->send(encode_packet(packet{packet_type::ack, nsp_, id_, std::move(data), std::move(attachments)}));
}

// -- events --------------------------------------------------------------------------------

const json& event::args() {
  if (!args_) {
    std::string text;
    text.reserve(raw_args_.size() + 2);
    text += '[';
    text += raw_args_;
    text += ']';
    json parsed = json::parse(text, nullptr, false);
    if (parsed.is_discarded()) parsed = json::array();  // the decoder validated it already
    json_args::fill_placeholders(parsed, attachments_);
    args_ = std::move(parsed);
  }
  return *args_;
}

// -- broadcasts ----------------------------------------------------------------------------

void broadcaster::emit(std::string_view name, json args) const {
  metrics::add(metrics::global().broadcasts);
  auto b = make_emit();
  json data = event_data(name, std::move(args));
  // Published from the arguments before they are encoded (which moves binaries out), so
  // that the other nodes' copy is not decoded back from our own wire text.
  if (cluster_ && !local_) cluster_->publish(*b, &data);
  b->packet = encode_event_data(nsp_, std::move(data));
  caf::anon_send(directory_, broadcast_atom::value, broadcast_ptr(std::move(b)));
}

void broadcaster::emit_raw(std::string_view name, std::string_view raw_args,
                           std::vector<std::string> attachments) const {
  send(encode_event_raw(nsp_, name, raw_args, std::move(attachments)));
}

std::shared_ptr<broadcast> broadcaster::make(broadcast::operation op) const {
  auto b = std::make_shared<broadcast>();
  b->nsp = nsp_;
  b->rooms = rooms_;
  b->except_rooms = except_rooms_;
  b->op = op;
  return b;
}

void broadcaster::carry_out(std::shared_ptr<broadcast> b) const {
  // Published before it is handed to this node's rooms; each node delivers its own.
  if (cluster_ && !local_) cluster_->publish(*b);
  caf::anon_send(directory_, broadcast_atom::value, broadcast_ptr(std::move(b)));
}

std::shared_ptr<broadcast> broadcaster::make_emit() const {
  auto b = make(broadcast::operation::emit);
  b->stream = stream_;
  b->seq = seq_;
  b->accepted = accepted_;
  return b;
}

void broadcaster::send(wire_packet_ptr packet) const {
  metrics::add(metrics::global().broadcasts);
  auto b = make_emit();
  b->packet = std::move(packet);
  carry_out(std::move(b));
}

void broadcaster::disconnect_sockets(bool close) const {
  auto b = make(broadcast::operation::disconnect);
  b->close = close;
  carry_out(std::move(b));
}

void broadcaster::sockets_join(std::vector<std::string> rooms) const {
  auto b = make(broadcast::operation::join);
  b->op_rooms = std::move(rooms);
  carry_out(std::move(b));
}

void broadcaster::sockets_leave(std::vector<std::string> rooms) const {
  auto b = make(broadcast::operation::leave);
  b->op_rooms = std::move(rooms);
  carry_out(std::move(b));
}

void broadcaster::fetch_sockets(fetch_callback done) const {
  auto c = std::make_shared<cluster_call>();
  c->what = cluster_call::kind::fetch_sockets;
  c->nsp = nsp_;
  c->selector = {rooms_, except_rooms_};
  c->local = local_;
  c->on_sockets = std::move(done);
  if (!cluster_) return c->on_sockets({});  // a default-made broadcaster (no server): nothing to find
  cluster_->call(std::move(c));
}

void broadcaster::emit_with_ack(std::string_view name, json args, std::chrono::milliseconds timeout,
                                ack_result_callback done) const {
  auto c = std::make_shared<cluster_call>();
  c->what = cluster_call::kind::broadcast_with_ack;
  c->nsp = nsp_;
  c->selector = {rooms_, except_rooms_};
  c->local = local_;
  c->event = std::string(name);
  c->args = args.is_array() ? std::move(args) : json::array({std::move(args)});
  c->timeout = timeout;
  c->on_answers = std::move(done);
  if (!cluster_) return c->on_answers({});
  cluster_->call(std::move(c));
}

// -- server --------------------------------------------------------------------------------

server::server(caf::actor_system& sys, server_config cfg)
  : sys_(sys),
    cfg_(std::move(cfg)),
    directory_(spawn_room_directory(sys)),
    cluster_(std::make_shared<cluster_node>(*this, cfg_.cluster, directory_)) {}

server::~server() {
  cluster_->stop();
  caf::anon_send_exit(directory_, caf::exit_reason::user_shutdown);
}

void server::start() { cluster_->start(); }

std::vector<std::string> server::namespace_names() const {
  std::vector<std::string> names;
  for (const auto& [name, def] : namespaces_) names.push_back(name);
  return names;
}

void server::server_side_emit(const std::string& nsp, std::string event, json args) const {
  auto c = std::make_shared<cluster_call>();
  c->what = cluster_call::kind::server_side_emit;
  c->nsp = nsp;
  c->event = std::move(event);
  c->args = std::move(args);
  cluster_->call(std::move(c));
}

void server::server_side_emit_with_ack(const std::string& nsp, std::string event, json args,
                                       std::chrono::milliseconds timeout, ack_result_callback done) const {
  auto c = std::make_shared<cluster_call>();
  c->what = cluster_call::kind::server_side_emit;
  c->nsp = nsp;
  c->event = std::move(event);
  c->args = std::move(args);
  c->wants_ack = true;
  c->timeout = timeout;
  c->on_answers = std::move(done);
  cluster_->call(std::move(c));
}

void server::server_count(const std::string& nsp, std::function<void(std::size_t)> done) const {
  auto c = std::make_shared<cluster_call>();
  c->what = cluster_call::kind::server_count;
  c->nsp = nsp;
  c->on_count = std::move(done);
  cluster_->call(std::move(c));
}

void server::serve_rooms(std::string nsp, std::string prefix,
                         std::function<caf::actor(const std::string& room)> serve) {
  // A message, not a lock: the directory actor owns its state. Sent before any
  // connection exists, it is in the directory's mailbox ahead of every join.
  caf::anon_send(
    directory_, serve_rooms_atom::value,
    std::make_shared<const room_provider>(room_provider{std::move(nsp), std::move(prefix), std::move(serve)}));
}

namespace_def& server::of(const std::string& name) {
  auto it = namespaces_.find(name);
  if (it == namespaces_.end()) it = namespaces_.emplace(name, namespace_def(name)).first;
  return it->second;
}

const namespace_def* server::find(std::string_view name) const {
  auto it = namespaces_.find(name);
  return it == namespaces_.end() ? nullptr : &it->second;
}

// -- socket --------------------------------------------------------------------------------

const json& socket::auth() const {
  if (!auth_) {
    json a = auth_text_.empty() ? json::object() : json::parse(auth_text_, nullptr, false);
    if (a.is_discarded() || !a.is_object()) a = json::object();
    auth_ = std::move(a);
  }
  return *auth_;
}

void socket::emit(std::string_view name, json args) {
  conn_->send_event(*this, encode_event(nsp_, name, std::move(args)));
}

void socket::emit_raw(std::string_view name, std::string_view raw_args, std::vector<std::string> attachments) {
  conn_->send_event(*this, encode_event_raw(nsp_, name, raw_args, std::move(attachments)));
}

void socket::track_ack(std::uint64_t id, std::chrono::milliseconds timeout, ack_callback on_reply) {
  pending_acks_.emplace(id, pending_ack{std::move(on_reply)});
  self_->delayed_send(self_, timeout, ack_timeout_atom::value, nsp_, id_, id);
}

void socket::emit_with_ack(std::string_view name, json args, std::chrono::milliseconds timeout, ack_callback on_reply) {
  auto id = next_ack_id_++;
  track_ack(id, timeout, std::move(on_reply));
  conn_->send(encode_event(nsp_, name, std::move(args), id));
}

void socket::emit_raw_with_ack(std::string_view name, std::string_view raw_args, std::vector<std::string> attachments,
                               std::chrono::milliseconds timeout, ack_callback on_reply) {
  auto id = next_ack_id_++;
  track_ack(id, timeout, std::move(on_reply));
  conn_->send(encode_event_raw(nsp_, name, raw_args, std::move(attachments), id));
}

socket_ref socket::ref() const {
  socket_ref r;
  r.conn_ = conn_;
  r.nsp_ = nsp_;
  r.sid_ = id_;
  return r;
}

socket* socket_ref::get() const { return conn_ ? conn_->find_socket(nsp_, sid_) : nullptr; }

direct_emitter socket::emitter() const { return direct_emitter(conn_->out, nsp_); }

void direct_emitter::emit(std::string_view name, json args) const {
  if (auto o = out_.lock()) o->send(encode_event(nsp_, name, std::move(args)));
}

void socket::join(const std::string& room) { conn_->join(*this, room); }
void socket::leave(const std::string& room) { conn_->leave(*this, room); }

const server& socket::io() const { return *conn_->srv; }

broadcaster socket::to(std::string room) const {
  broadcaster b = conn_->srv->in(nsp_);
  b.to(std::move(room)).except_socket(id_);
  return b;
}

broadcaster socket::broadcast() const {
  broadcaster b = conn_->srv->in(nsp_);
  b.except_socket(id_);
  return b;
}

void socket::disconnect(bool close_connection) { conn_->server_disconnect(*this, close_connection); }

void socket::close_at(std::chrono::system_clock::time_point when, const std::string& why) {
  // Kept on the actor's clock, so that the same code runs on virtual time in tests and
  // hub-sim: the wall-clock moment becomes a wait from now.
  const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(when - wall_now()).count();
  close_at_ms_ = std::max<std::int64_t>(conn_->clock_ms() + std::max<std::int64_t>(wait, 0), 1);
  conn_->arm_deadline(*this, why);
}

}  // namespace hub::sio
