#include "sim/sim_network.hpp"

#include "sio/messages.hpp"
#include "sim/simulation.hpp"

#include <algorithm>

namespace hub::sim {

// -- the server's side of a link ------------------------------------------------------------

void sim_link::send(outbound packet) {
  if (!open || !packet.packet) return;
  if (sim_.clients[client]->partitioned) {
    held_s2c.push_back(held{packet.text(), sim_.now(), incarnation});
    return;
  }
  forward(held{packet.text(), sim_.now(), incarnation});
}

void sim_link::forward(held h) {
  nanos at = std::max(sim_.now() + sim_.net.delay(client), last_s2c);
  last_s2c = at;
  sim_.at(at, [self = shared_from_this(), h = std::move(h)] {
    if (!self->open) return;  // the transport died meanwhile: lost
    self->sim_.clients[self->client]->on_packet(self->id, h.text, h.sent, h.incarnation);
  });
}

void sim_link::close() {
  // Like eio_session::close: what is queued is still written, then the transport ends
  // and the actor hears "forced close".
  if (!open) return;
  auto self = shared_from_this();
  nanos at = std::max(sim_.now() + sim_.net.delay(client), last_s2c) + 1;
  sim_.net.notify_server_closed(self, "forced close", sim_.now());
  sim_.at(at, [self] {
    self->open = false;
    self->sim_.net.forget(self);
    self->sim_.clients[self->client]->on_closed(self->id, "forced close");
  });
}

// -- network ---------------------------------------------------------------------------------

nanos sim_network::delay(int client) { return sim_.fault.link_delay(client); }

std::shared_ptr<sim_link> sim_network::open(int client) {
  const int node = sim_.node_for(client);
  auto& world = *sim_.nodes[static_cast<std::size_t>(node)];
  // In a cluster the rate limit is kept in the shared engine: one lifetime for all nodes.
  auto l = std::make_shared<sim_link>(sim_, next_id_++, client, node, sim_.cluster() ? 0 : world.incarnation());
  l->actor = world.spawn_connection(l);
  links_[l->id] = l;
  holders_[l->id] = l;
  current_[client] = l->id;
  sim_.log(client, "link-open", "\"link\":" + std::to_string(l->id) + ",\"node\":" + std::to_string(node));
  sim_.after(2 * delay(client), [l] {
    if (l->open) l->sim_.clients[l->client]->on_open(l->id);
  });
  return l;
}

void sim_network::client_send(const std::shared_ptr<sim_link>& l, std::string eio_text) {
  if (!l || !l->open) return;
  if (sim_.clients[l->client]->partitioned) {
    l->held_c2s.push_back(std::move(eio_text));
    return;
  }
  nanos at = std::max(sim_.now() + delay(l->client), l->last_c2s);
  l->last_c2s = at;
  sim_.at(at, [this, l, text = std::move(eio_text)] { deliver_to_server(l, text); });
}

void sim_network::deliver_to_server(const std::shared_ptr<sim_link>& l, const std::string& text) {
  if (!l->open || !l->actor) return;
  if (text.rfind("42[\"typing\"", 0) == 0) sim_.check.typing_received(sim_.clients[l->client]->user, "*", sim_.now());
  // What eio_session does with a message packet: the rest goes to the actor.
  if (text.size() >= 1 && text[0] == '4') caf::anon_send(l->actor, eio_text_atom::value, text.substr(1));
}

void sim_network::client_close(const std::shared_ptr<sim_link>& l) {
  if (!l || !l->open) return;
  nanos at = std::max(sim_.now() + delay(l->client), l->last_c2s) + 1;
  l->open = false;  // nothing more reaches the client
  forget(l);
  sim_.at(at, [this, l] { notify_server_closed(l, "transport close", sim_.now()); });
}

void sim_network::drop(const std::shared_ptr<sim_link>& l, const std::string& reason) {
  if (!l || !l->open) return;
  l->open = false;  // in-flight packets in both directions are lost
  forget(l);
  sim_.log(l->client, "link-drop", "\"link\":" + std::to_string(l->id) + ",\"reason\":" + json_escape(reason));
  nanos d = delay(l->client);
  notify_server_closed(l, reason, sim_.now() + d);
  sim_.at(sim_.now() + d, [this, l, reason] { sim_.clients[l->client]->on_closed(l->id, reason); });
}

void sim_network::notify_server_closed(const std::shared_ptr<sim_link>& l, const std::string& reason, nanos when) {
  auto send = [this, l, reason] {
    if (!l->actor) return;
    caf::anon_send(l->actor, eio_closed_atom::value, close_reason_from(reason).value_or(close_reason::transport_close));
    l->actor = caf::actor{};  // as a destroyed session drops its actor
    holders_.erase(l->id);
  };
  if (when <= sim_.now())
    send();
  else
    sim_.at(when, send);
}

void sim_network::forget(const std::shared_ptr<sim_link>& l) {
  links_.erase(l->id);
  auto it = current_.find(l->client);
  if (it != current_.end() && it->second == l->id) current_.erase(it);
}

std::shared_ptr<sim_link> sim_network::link_of(int client) const {
  auto it = current_.find(client);
  if (it == current_.end()) return nullptr;
  auto l = links_.find(it->second);
  return l == links_.end() ? nullptr : l->second;
}

// -- silence: partitions and pauses ------------------------------------------------------------

void sim_network::silence(int client) {
  if (silent_[client]++ > 0) return;
  auto gen = ++silent_gen_[client];
  // Engine.IO's heartbeat: no pong for pingInterval + pingTimeout ends the session on
  // both sides (the client misses the server's pings just as long).
  sim_.after(sim_.m.ping_timeout, [this, client, gen] {
    if (silent_gen_[client] != gen || silent_[client] == 0) return;
    if (auto l = link_of(client)) {
      l->held_c2s.clear();
      l->held_s2c.clear();
      l->open = false;
      forget(l);
      sim_.log(client, "ping-timeout", "\"link\":" + std::to_string(l->id));
      notify_server_closed(l, "ping timeout", sim_.now());
      sim_.clients[client]->on_closed(l->id, "ping timeout");
    }
  });
}

void sim_network::unsilence(int client) {
  if (silent_[client] == 0 || --silent_[client] > 0) return;
  ++silent_gen_[client];
}

void sim_network::partition(int client) {
  sim_.clients[client]->partitioned = true;
  silence(client);
}

void sim_network::heal(int client) {
  auto& c = *sim_.clients[client];
  if (!c.partitioned) return;
  c.partitioned = false;
  c.healthy_since = sim_.now();
  unsilence(client);
  // TCP retransmits what was held, in order.
  if (auto l = link_of(client)) {
    auto c2s = std::move(l->held_c2s);
    auto s2c = std::move(l->held_s2c);
    l->held_c2s.clear();
    l->held_s2c.clear();
    for (auto& t : c2s) client_send(l, std::move(t));
    for (auto& h : s2c) l->forward(std::move(h));
  }
}

void sim_network::pause_started(int client) { silence(client); }
void sim_network::pause_ended(int client) { unsilence(client); }

std::vector<caf::actor> sim_network::crash(int node) {
  std::vector<caf::actor> actors;
  std::map<std::uint64_t, std::shared_ptr<sim_link>> holders;
  for (auto it = holders_.begin(); it != holders_.end();) {
    if (it->second->node == node) {
      holders.insert(*it);
      it = holders_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [id, l] : holders) {
    if (l->actor) actors.push_back(l->actor);
    l->actor = caf::actor{};
    if (!l->open) continue;
    l->open = false;
    forget(l);
    // The client's TCP stack sees the connection reset.
    sim_.at(sim_.now() + delay(l->client), [this, l] { sim_.clients[l->client]->on_closed(l->id, "transport close"); });
  }
  return actors;
}

void sim_network::close_all() {
  auto holders = std::move(holders_);
  holders_.clear();
  for (auto& [id, l] : holders) {
    l->open = false;
    if (l->actor) caf::anon_send(l->actor, eio_closed_atom::value, close_reason::transport_close);
    l->actor = caf::actor{};
  }
  links_.clear();
  current_.clear();
}

}  // namespace hub::sim
