#include "sio/cluster_adapter.hpp"

#include "sio/sio_server.hpp"
#include "protocol/cluster_messages.hpp"
#include "protocol/socketio_packet.hpp"
#include "util/log.hpp"
#include "util/metrics.hpp"
#include "util/random_id.hpp"

#include <algorithm>
#include <ctime>
#include <atomic>
#include <unordered_map>

namespace hub::sio {
namespace {

using cluster::request_type;

// A connection that takes longer than this to say whether its socket matches is left
// out of the answer: every node must answer within the requester's 5 s.
constexpr std::chrono::seconds per_socket_answer{2};

// A packet this node encoded itself (broadcaster::send), as its data with binaries in place.
std::optional<json> data_of(const wire_packet& w) {
  std::string_view text = w.text;
  if (text.empty() || text.front() != '4') return std::nullopt;
  // Our own packet, already within the clients' bounds (or built by the application):
  // decoded without them, so that no --max-json-depth keeps it from the other nodes.
  const json_limits ours{512, std::size_t{1} << 30};  // 512: --max-json-depth's ceiling
  decoder d;
  auto r = d.feed_text(text.substr(1), ours);
  for (const auto& b : w.binaries)
    if (std::holds_alternative<std::nullopt_t>(r)) r = d.feed_binary(b);
  auto* p = std::get_if<packet>(&r);
  if (!p || !is_event(p->type)) return std::nullopt;
  json data = json::parse(p->data, nullptr, false);  // bounded by `ours` above
  if (data.is_discarded() || !json_args::fill_placeholders(data, p->attachments)) return std::nullopt;
  return data;
}

json array_of(const std::vector<std::string>& v) {
  json a = json::array();
  for (const auto& s : v) a.push_back(s);
  return a;
}

// -- the adapter actor -----------------------------------------------------------------------

// A request this node made and waits on.
struct pending_request {
  request_type type{};
  cluster_call_ptr call;
  bool local_done = true;
  bool remote_done = true;
  std::size_t expected = 0;  // answers awaited from other nodes
  std::size_t received = 0;
  std::vector<json> sockets;
  json responses = json::array();
  // Broadcast with acks: Node's expectedServerCount / actualServerCount / expectedClientCount.
  std::int64_t expected_servers = -1;
  std::size_t actual_servers = 0;
  std::size_t expected_clients = 0;
};

class adapter;
using adapter_actor = caf::stateful_actor<adapter>;

// The adapter actor's state and logic. Callbacks capture `this`: the state lives as long
// as the actor, and they only run inside it.
class adapter {
 public:
  void init(adapter_actor* self, const server* srv, cluster_config cfg, caf::actor directory,
            std::shared_ptr<const channel_table> channels) {
    self_ = self;
    srv_ = srv;
    cfg_ = std::move(cfg);
    directory_ = std::move(directory);
    channels_ = std::move(channels);
  }

  // -- requests of this node ----------------------------------------------------------------

  void start(const cluster_call_ptr& c) {
    const bool remote = cfg_.link && !c->local;
    switch (c->what) {
      case cluster_call::kind::fetch_sockets: {
        auto id = new_id();
        auto& p = pending_[id];
        p.type = request_type::remote_fetch;
        p.call = c;
        p.local_done = false;
        p.remote_done = !remote;
        gather(make_query(c->nsp, c->selector, false), [this, id](std::vector<json> found) {
          auto it = pending_.find(id);
          if (it == pending_.end()) return;
          for (auto& j : found) it->second.sockets.push_back(std::move(j));
          it->second.local_done = true;
          check(id);
        });
        if (remote) count_nodes(id, c->nsp);
        arm(id, cfg_.requests_timeout);
        return;
      }
      case cluster_call::kind::server_side_emit: {
        if (!c->wants_ack) {
          if (remote) publish_request(c->nsp, request_of(*c, request_type::server_side_emit, {}));
          return;
        }
        auto id = new_id();
        auto& p = pending_[id];
        p.type = request_type::server_side_emit;
        p.call = c;
        p.remote_done = !remote;
        if (!remote) return check(id);
        count_nodes(id, c->nsp);
        arm(id, c->timeout.count() > 0 ? c->timeout : cfg_.requests_timeout);
        return;
      }
      case cluster_call::kind::broadcast_with_ack: {
        auto id = new_id();
        auto& p = pending_[id];
        p.type = request_type::broadcast;
        p.call = c;
        p.expected_servers = remote ? -1 : 1;
        auto b = ack_broadcast(c->nsp, c->selector, c->event, c->args, c->timeout, [self = self_, id](json first) {
          caf::anon_send(caf::actor_cast<caf::actor>(self), cluster_ack_atom::value, id, std::move(first));
        });
        scatter_acks(b, [this, id](std::size_t clients) {
          auto it = pending_.find(id);
          if (it == pending_.end()) return;
          it->second.actual_servers += 1;
          it->second.expected_clients += clients;
          check(id);
        });
        if (remote) {
          cluster::request r;
          r.type = request_type::broadcast;
          r.uid = cfg_.uid;
          r.request_id = id;
          r.opts = cluster::selector{c->selector.rooms, c->selector.except};
          r.packet = cluster::broadcast_packet{2, c->nsp, event_data(c->event, c->args), std::nullopt};
          r.flags = json{{"timeout", c->timeout.count()}};
          publish_request(c->nsp, r);
          count_nodes(id, c->nsp);
        }
        arm(id, c->timeout);
        return;
      }
      case cluster_call::kind::server_count: {
        if (!cfg_.link) {
          if (c->on_count) c->on_count(1);
          return;
        }
        auto id = new_id();
        auto& p = pending_[id];
        p.type = request_type::all_rooms;  // any type: only the node count is wanted
        p.call = c;
        count_nodes(id, c->nsp);
        arm(id, cfg_.requests_timeout);
        return;
      }
    }
  }

  void on_node_count(const std::string& id, std::int64_t n) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    auto& p = it->second;
    const auto& c = *p.call;
    if (c.what == cluster_call::kind::server_count) {
      auto count = static_cast<std::size_t>(std::max<std::int64_t>(n, 1));
      auto done = c.on_count;
      pending_.erase(it);
      if (done) done(count);
      return;
    }
    // Node counts itself among the request channel's subscribers; n < 0: link down.
    const std::size_t others = n > 1 ? static_cast<std::size_t>(n - 1) : 0;
    switch (p.type) {
      case request_type::remote_fetch:
      case request_type::server_side_emit:
        // Asked only once it is known that someone will answer, as the adapter does.
        p.expected = others;
        p.remote_done = others == 0;
        if (others > 0) publish_request(c.nsp, request_of(c, p.type, id));
        break;
      case request_type::broadcast: p.expected_servers = std::max<std::int64_t>(n, 1); break;
      default: break;
    }
    check(id);
  }

  void on_own_ack(const std::string& id, json first) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    it->second.responses.push_back(std::move(first));
    check(id);
  }

  void on_timeout(const std::string& id) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    auto p = std::move(it->second);
    pending_.erase(it);
    const auto& c = *p.call;
    switch (p.type) {
      case request_type::remote_fetch:
        log::warn("cluster: fetchSockets on ", c.nsp, ": ", p.received, " of ", p.expected, " nodes answered in time");
        if (c.on_sockets)
          c.on_sockets({std::move(p.sockets), "timeout reached while waiting for fetchSockets response"});
        return;
      case request_type::server_side_emit:
        if (c.on_answers)
          c.on_answers({"timeout reached: only " + std::to_string(p.received) + " responses received out of " +
                          std::to_string(p.expected),
                        std::move(p.responses)});
        return;
      case request_type::broadcast:
        if (c.on_answers) c.on_answers({"operation has timed out", std::move(p.responses)});
        return;
      default:
        if (c.on_count) c.on_count(1);  // the link did not answer: count this node
        return;
    }
  }

  // -- what other nodes send ----------------------------------------------------------------------

  void on_incoming(const std::string& channel, const std::string& payload) {
    for (const auto& [nsp, ch] : *channels_) {
      if (channel == ch.request) return on_request_bytes(nsp, payload);
      if (channel.compare(0, ch.response.size(), ch.response) == 0) return on_response_bytes(payload);
    }
  }

 private:
  void on_request_bytes(const std::string& nsp, const std::string& payload) {
    std::string error;
    auto r = cluster::decode_request(payload, cfg_.limits, &error);
    if (!r) return refuse("request", error);
    if (r->uid == cfg_.uid) return;  // our own, back from Redis
    metrics::add(metrics::global().cluster_requests_in);
    switch (r->type) {
      case request_type::sockets: {
        auto id = r->request_id;
        gather(make_query(nsp, {r->rooms, {}}, true), [this, nsp, id](std::vector<json> ids) {
          cluster::response resp;
          resp.request_id = id;
          resp.sockets = json(std::move(ids));
          publish_response(nsp, resp);
        });
        return;
      }
      case request_type::all_rooms: {
        auto id = r->request_id;
        self_->request(directory_, caf::infinite, list_rooms_atom::value, nsp)
          .then([this, nsp, id](std::vector<std::string>& rooms) {
            cluster::response resp;
            resp.request_id = id;
            resp.rooms = array_of(rooms);
            publish_response(nsp, resp);
          });
        return;
      }
      case request_type::remote_join:
      case request_type::remote_leave:
      case request_type::remote_disconnect: return on_remote_operation(nsp, *r);
      case request_type::remote_fetch: {
        auto id = r->request_id;
        auto sel = r->opts.value_or(cluster::selector{});
        gather(make_query(nsp, {sel.rooms, sel.except}, false), [this, nsp, id](std::vector<json> found) {
          cluster::response resp;
          resp.request_id = id;
          resp.sockets = json(std::move(found));
          publish_response(nsp, resp);
        });
        return;
      }
      case request_type::server_side_emit: return on_server_side_emit(nsp, *r);
      case request_type::broadcast: return on_broadcast_with_ack(nsp, *r);
      case request_type::broadcast_client_count:
      case request_type::broadcast_ack: return;  // responses, not requests
    }
  }

  void on_remote_operation(const std::string& nsp, const cluster::request& r) {
    auto b = std::make_shared<broadcast>();
    b->nsp = nsp;
    if (r.type == request_type::remote_disconnect) {
      b->op = broadcast::operation::disconnect;
      b->close = r.close;
    } else {
      b->op = r.type == request_type::remote_join ? broadcast::operation::join : broadcast::operation::leave;
    }
    if (r.opts) {
      // socketsJoin & co: every matching socket of this node; no answer (as Node).
      b->rooms = r.opts->rooms;
      b->except_rooms = r.opts->except;
      b->op_rooms = r.rooms;
      caf::anon_send(directory_, broadcast_atom::value, broadcast_ptr(std::move(b)));
      return;
    }
    // One socket by id: only the node that has it answers.
    if (b->op != broadcast::operation::disconnect) b->op_rooms = {r.room};
    b->rooms = {r.sid};
    auto id = r.request_id;
    auto sid = r.sid;
    self_->request(directory_, caf::infinite, find_socket_atom::value, nsp, sid)
      .then([this, nsp, id, sid, b](caf::actor& conn) {
        if (!conn) return;
        self_->send(conn, deliver_atom::value, broadcast_ptr(b), room_key(nsp, sid));
        cluster::response resp;
        resp.request_id = id;
        publish_response(nsp, resp);
      });
  }

  void on_server_side_emit(const std::string& nsp, const cluster::request& r) {
    const auto* def = srv_->find(nsp);
    if (!def || !def->server_side() || !r.data.is_array() || r.data.empty()) return;
    const json& name = r.data[0];
    std::string event = name.is_string() ? name.get<std::string>() : name.dump();
    json args = json::array();
    for (std::size_t i = 1; i < r.data.size(); ++i) args.push_back(r.data[i]);
    server_side_reply reply;
    if (!r.request_id.empty()) {
      // Node answers once, whatever the handler does with its callback.
      auto once = std::make_shared<std::atomic<bool>>(false);
      reply = [link = cfg_.link, channel = channels_->at(nsp).response, id = r.request_id, once](json answer) {
        if (once->exchange(true)) return;
        cluster::response resp;
        resp.request_id = id;
        resp.type = request_type::server_side_emit;
        resp.data = std::move(answer);
        link->publish(channel, cluster::encode_response(resp));
      };
    }
    try {
      def->server_side()(event, args, reply);
    } catch (const std::exception& e) {
      log::warn("cluster: server-side handler for '", event, "' threw: ", e.what());
    }
  }

  void on_broadcast_with_ack(const std::string& nsp, const cluster::request& r) {
    if (!r.packet || !r.packet->data.is_array() || r.packet->data.empty()) return refuse("request", "no packet data");
    const json& name = r.packet->data[0];
    json args = json::array();
    for (std::size_t i = 1; i < r.packet->data.size(); ++i) args.push_back(r.packet->data[i]);
    std::chrono::milliseconds timeout = cfg_.requests_timeout;
    if (r.flags.is_object() && r.flags.contains("timeout") && r.flags["timeout"].is_number())
      timeout = std::chrono::milliseconds(
        std::clamp<std::int64_t>(r.flags["timeout"].get<std::int64_t>(), 0, std::int64_t{10} * 60 * 1000));
    auto sel = r.opts.value_or(cluster::selector{});
    auto link = cfg_.link;
    auto channel = channels_->at(nsp).response;
    auto id = r.request_id;
    auto b = ack_broadcast(nsp, {sel.rooms, sel.except}, name.is_string() ? name.get<std::string>() : name.dump(),
                           std::move(args), timeout, [link, channel, id](json first) {
                             cluster::response resp;
                             resp.request_id = id;
                             resp.type = request_type::broadcast_ack;
                             resp.packet = std::move(first);
                             link->publish(channel, cluster::encode_response(resp));
                           });
    scatter_acks(b, [link, channel, id](std::size_t clients) {
      cluster::response resp;
      resp.request_id = id;
      resp.type = request_type::broadcast_client_count;
      resp.client_count = clients;
      link->publish(channel, cluster::encode_response(resp));
    });
  }

  void on_response_bytes(const std::string& payload) {
    std::string error;
    auto resp = cluster::decode_response(payload, cfg_.limits, &error);
    if (!resp) return refuse("response", error);
    auto it = pending_.find(resp->request_id);
    if (it == pending_.end()) return;  // someone else's, or too late
    auto& p = it->second;
    switch (p.type) {
      case request_type::remote_fetch:
        if (!resp->sockets || !resp->sockets->is_array()) return;
        for (auto& j : *resp->sockets) p.sockets.push_back(std::move(j));
        ++p.received;
        if (p.received >= p.expected) p.remote_done = true;
        break;
      case request_type::server_side_emit:
        if (resp->type != request_type::server_side_emit) return;
        p.responses.push_back(resp->data.value_or(json()));
        ++p.received;
        if (p.received >= p.expected) p.remote_done = true;
        break;
      case request_type::broadcast:
        if (resp->type == request_type::broadcast_client_count && resp->client_count) {
          p.actual_servers += 1;
          p.expected_clients += static_cast<std::size_t>(*resp->client_count);
        } else if (resp->type == request_type::broadcast_ack) {
          p.responses.push_back(resp->packet.value_or(json()));
        }
        break;
      default: return;
    }
    check(resp->request_id);
  }

  // -- helpers ------------------------------------------------------------------------------------

  // Finishes a request of ours once everything it waits for is in.
  void check(const std::string& id) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    auto& p = it->second;
    const auto& c = *p.call;
    switch (p.type) {
      case request_type::remote_fetch: {
        if (!p.local_done || !p.remote_done) return;
        auto done = c.on_sockets;
        auto sockets = std::move(p.sockets);
        pending_.erase(it);
        if (done) done({std::move(sockets), {}});
        return;
      }
      case request_type::server_side_emit: {
        if (!p.remote_done) return;
        auto done = c.on_answers;
        auto responses = std::move(p.responses);
        pending_.erase(it);
        if (done) done({{}, std::move(responses)});
        return;
      }
      case request_type::broadcast: {
        if (p.expected_servers < 0 || static_cast<std::size_t>(p.expected_servers) != p.actual_servers ||
            p.responses.size() != p.expected_clients)
          return;
        auto done = c.on_answers;
        auto responses = std::move(p.responses);
        pending_.erase(it);
        if (done) done({{}, std::move(responses)});
        return;
      }
      default: return;
    }
  }

  std::string new_id() {
    for (;;) {
      auto id = random_id().substr(0, 6);
      if (!pending_.count(id)) return id;
    }
  }

  void arm(const std::string& id, std::chrono::milliseconds after) {
    self_->delayed_send(self_, after, cluster_timeout_atom::value, id);
  }

  // The request this node sends for a fetch or a server-side emit (`id` empty: no answer wanted).
  cluster::request request_of(const cluster_call& c, request_type type, const std::string& id) const {
    cluster::request r;
    r.type = type;
    r.uid = cfg_.uid;
    r.request_id = id;
    if (type == request_type::remote_fetch)
      r.opts = cluster::selector{c.selector.rooms, c.selector.except};
    else
      r.data = event_data(c.event, c.args);
    return r;
  }

  // PUBSUB NUMSUB of the namespace's request channel: how many nodes will answer.
  void count_nodes(const std::string& id, const std::string& nsp) {
    auto me = caf::actor_cast<caf::actor>(self_);
    cfg_.link->count_subscribers(channels_->at(nsp).request, [me, id](std::optional<std::size_t> n) {
      caf::anon_send(me, cluster_numsub_atom::value, id, n ? static_cast<std::int64_t>(*n) : std::int64_t{-1});
    });
  }

  void publish_request(const std::string& nsp, const cluster::request& r) {
    cfg_.link->publish(channels_->at(nsp).request, cluster::encode_request(r));
  }

  void publish_response(const std::string& nsp, const cluster::response& r) {
    if (!cfg_.link) return;
    metrics::add(metrics::global().cluster_responses_out);
    cfg_.link->publish(channels_->at(nsp).response, cluster::encode_response(r));
  }

  void refuse(const char* what, const std::string& error) {
    metrics::add(metrics::global().cluster_bad_messages);
    log::debug("cluster: ignoring a malformed ", what, ": ", error);
  }

  static describe_query_ptr make_query(const std::string& nsp, const socket_selector& sel, bool ids_only) {
    auto q = std::make_shared<describe_query>();
    q->nsp = nsp;
    q->rooms = sel.rooms;
    q->except = sel.except;
    q->ids_only = ids_only;
    return q;
  }

  static broadcast_ptr ack_broadcast(const std::string& nsp, const socket_selector& sel, std::string event, json args,
                                     std::chrono::milliseconds timeout, std::function<void(json)> on_ack) {
    auto b = std::make_shared<broadcast>();
    b->nsp = nsp;
    b->rooms = sel.rooms;
    b->except_rooms = sel.except;
    auto acks = std::make_shared<broadcast_acks>();
    acks->event = std::move(event);
    acks->args = std::move(args);
    acks->timeout = timeout;
    acks->on_ack = std::move(on_ack);
    b->acks = std::move(acks);
    return b;
  }

  // Asks every connection with a socket in the namespace; `done` gets what matched.
  void gather(const describe_query_ptr& q, const std::function<void(std::vector<json>)>& done) {
    self_->request(directory_, caf::infinite, list_sockets_atom::value, q->nsp)
      .then([this, q, done](std::vector<caf::actor>& conns) {
        if (conns.empty()) return done({});
        struct tally {
          std::size_t remaining;
          std::vector<json> found;
        };
        auto t = std::make_shared<tally>(tally{conns.size(), {}});
        for (const auto& conn : conns)
          self_->request(conn, per_socket_answer, describe_atom::value, q)
            .then(
              [t, done](json& j) {
                if (!j.is_null()) t->found.push_back(std::move(j));
                if (--t->remaining == 0) done(std::move(t->found));
              },
              [t, done](caf::error&) {
                if (--t->remaining == 0) done(std::move(t->found));
              });
      });
  }

  // Hands a broadcast with acks to every matching socket; `done` gets how many got it.
  void scatter_acks(const broadcast_ptr& b, const std::function<void(std::size_t)>& done) {
    self_->request(directory_, caf::infinite, list_sockets_atom::value, b->nsp)
      .then([this, b, done](std::vector<caf::actor>& conns) {
        if (conns.empty()) return done(0);
        struct tally {
          std::size_t remaining;
          std::size_t sent = 0;
        };
        auto t = std::make_shared<tally>(tally{conns.size()});
        for (const auto& conn : conns)
          self_->request(conn, per_socket_answer, ack_emit_atom::value, b)
            .then(
              [t, done](bool sent) {
                if (sent) ++t->sent;
                if (--t->remaining == 0) done(t->sent);
              },
              [t, done](caf::error&) {
                if (--t->remaining == 0) done(t->sent);
              });
      });
  }

  adapter_actor* self_ = nullptr;
  const server* srv_ = nullptr;
  cluster_config cfg_;
  caf::actor directory_;
  std::shared_ptr<const channel_table> channels_;
  std::unordered_map<std::string, pending_request> pending_;  // by request id
};

caf::behavior adapter_behavior(adapter_actor* self, const server* srv, cluster_config cfg, caf::actor directory,
                               std::shared_ptr<const channel_table> channels) {
  self->state.init(self, srv, std::move(cfg), std::move(directory), std::move(channels));
  // No throw may end the adapter: the node would stop answering and every peer's
  // fetchSockets() would time out. A failed message is logged and dropped.
  self->set_exception_handler([](std::exception_ptr& e) -> caf::error {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      log::warn("cluster adapter: ", x.what());
    } catch (...) {
      log::warn("cluster adapter: unknown exception");
    }
    return caf::none;
  });
  return {
    [=](cluster_call_atom, const cluster_call_ptr& c) { self->state.start(c); },
    [=](cluster_in_atom, const std::string& channel, const std::string& payload) {
      self->state.on_incoming(channel, payload);
    },
    [=](cluster_numsub_atom, const std::string& id, std::int64_t n) { self->state.on_node_count(id, n); },
    [=](cluster_timeout_atom, const std::string& id) { self->state.on_timeout(id); },
    [=](cluster_ack_atom, const std::string& id, json& first) { self->state.on_own_ack(id, std::move(first)); },
  };
}

}  // namespace

// -- the link's listener: broadcasts decoded on the link's thread -------------------------------

class cluster_node::listener final : public pubsub_listener {
 public:
  listener(std::string uid, caf::actor directory, caf::actor adapter, std::shared_ptr<const channel_table> nsps,
           json_limits limits, std::vector<cluster_feed> feeds)
    : uid_(std::move(uid)),
      directory_(std::move(directory)),
      adapter_(std::move(adapter)),
      nsps_(std::move(nsps)),
      limits_(limits),
      feeds_(std::move(feeds)) {}

  void on_message(const std::string& channel, std::string payload) override {
    for (const auto& f : feeds_)
      if (channel.compare(0, f.prefix.size(), f.prefix) == 0) {
        if (f.on_message) f.on_message(std::string_view(channel).substr(f.prefix.size()), std::move(payload));
        return;
      }
    for (const auto& [nsp, ch] : *nsps_) {
      if (cluster::room_of_channel(ch, channel)) return on_broadcast(nsp, payload);
      if (channel == ch.request || channel.compare(0, ch.response.size(), ch.response) == 0) {
        caf::anon_send(adapter_, cluster_in_atom::value, channel, std::move(payload));
        return;
      }
    }
  }

  // The link logs and counts its own state and /healthz asks it; only feeds care.
  void on_link(bool up) override {
    for (const auto& f : feeds_)
      if (f.on_link) f.on_link(up);
  }

 private:
  void on_broadcast(const std::string& nsp, const std::string& payload) {
    std::string error;
    auto m = cluster::decode_broadcast(payload, limits_, &error);
    if (!m) {
      metrics::add(metrics::global().cluster_bad_messages);
      log::debug("cluster: ignoring a malformed broadcast: ", error);
      return;
    }
    if (m->uid == uid_) return;  // our own, back from Redis: delivered here already
    if (m->packet.nsp != nsp) return;
    if (m->packet.type != static_cast<int>(packet_type::event) &&
        m->packet.type != static_cast<int>(packet_type::binary_event))
      return;
    if (!m->packet.data.is_array() || m->packet.data.empty()) return;
    metrics::add(metrics::global().cluster_broadcasts_in);
    auto b = std::make_shared<broadcast>();
    b->nsp = nsp;
    b->rooms = std::move(m->opts.rooms);
    b->except_rooms = std::move(m->opts.except);
    b->packet = encode_event_data(nsp, std::move(m->packet.data));
    caf::anon_send(directory_, broadcast_atom::value, broadcast_ptr(std::move(b)));
  }

  std::string uid_;
  caf::actor directory_;
  caf::actor adapter_;
  std::shared_ptr<const channel_table> nsps_;
  json_limits limits_;
  std::vector<cluster_feed> feeds_;
};

// -- the node ------------------------------------------------------------------------------------

cluster_node::cluster_node(const server& srv, cluster_config cfg, caf::actor directory)
  : srv_(srv), cfg_(std::move(cfg)), directory_(std::move(directory)) {
  if (cfg_.uid.empty()) cfg_.uid = random_id().substr(0, 6);
}

cluster_node::~cluster_node() { stop(); }

void cluster_node::start() {
  if (adapter_) return;
  auto table = std::make_shared<channel_table>();
  for (const auto& nsp : srv_.namespace_names()) table->emplace(nsp, cluster::channels_for(cfg_.prefix, nsp));
  channels_ = table;
  adapter_ = srv_.system().spawn(adapter_behavior, &srv_, cfg_, directory_, channels_);
  if (!cfg_.link) return;
  std::vector<std::string> channels;
  std::vector<std::string> patterns;
  for (const auto& [nsp, ch] : *table) {
    patterns.push_back(ch.broadcast_pattern);
    channels.push_back(ch.request);
    channels.push_back(ch.response);
    channels.push_back(ch.specific_response(cfg_.uid));
  }
  for (const auto& f : feeds_) patterns.push_back(cluster::prefix_pattern(f.prefix));
  listener_ = std::make_shared<listener>(cfg_.uid, directory_, adapter_, channels_, cfg_.limits, feeds_);
  cfg_.link->subscribe(std::move(channels), std::move(patterns), listener_);
  cfg_.link->start();
  log::info("cluster: node ", cfg_.uid, ", key prefix '", cfg_.prefix, "', ", table->size(), " namespace(s)");
}

void cluster_node::add_feed(cluster_feed feed) {
  if (adapter_) {
    log::warn("cluster: feed '", feed.prefix, "' added after start: ignored");
    return;
  }
  feeds_.push_back(std::move(feed));
}

void cluster_node::stop() {
  if (adapter_) caf::anon_send_exit(adapter_, caf::exit_reason::user_shutdown);
  adapter_ = nullptr;
}

const cluster::channels& cluster_node::channels_of(const std::string& nsp, cluster::channels& scratch) const {
  if (channels_)
    if (auto it = channels_->find(nsp); it != channels_->end()) return it->second;
  scratch = cluster::channels_for(cfg_.prefix, nsp);
  return scratch;
}

void cluster_node::publish(const broadcast& b, const json* given) const {
  if (!cfg_.link) return;
  cluster::channels scratch;
  const auto& ch = channels_of(b.nsp, scratch);
  if (b.op == broadcast::operation::emit) {
    std::optional<json> decoded;
    if (!given && b.packet) decoded = data_of(*b.packet);
    const json* data = given ? given : decoded ? &*decoded : nullptr;
    if (!data) return;
    cluster::broadcast_message m;
    m.uid = cfg_.uid;
    m.packet = cluster::broadcast_packet{2, b.nsp, *data, std::nullopt};
    m.opts = cluster::selector{b.rooms, b.except_rooms};
    // One room: its own channel, which nodes without that room ignore unread.
    cfg_.link->publish(b.rooms.size() == 1 ? ch.room(b.rooms.front()) : ch.broadcast, cluster::encode_broadcast(m));
    return;
  }
  cluster::request r;
  r.uid = cfg_.uid;
  r.opts = cluster::selector{b.rooms, b.except_rooms};
  switch (b.op) {
    case broadcast::operation::join: r.type = request_type::remote_join; break;
    case broadcast::operation::leave: r.type = request_type::remote_leave; break;
    default:
      r.type = request_type::remote_disconnect;
      r.close = b.close;
      break;
  }
  r.rooms = b.op_rooms;
  cfg_.link->publish(ch.request, cluster::encode_request(r));
}

void cluster_node::call(cluster_call_ptr c) const {
  if (adapter_) caf::anon_send(adapter_, cluster_call_atom::value, std::move(c));
}

// -- describe_handshake ---------------------------------------------------------------------------

json describe_handshake(const handshake& hs, const json& auth) {
  json headers = json::object();
  hs.headers.for_each([&](std::string_view k, std::string_view v) { headers[std::string(k)] = std::string(v); });
  json query = json::object();
  hs.query.for_each([&](std::string_view k, std::string_view v) { query[std::string(k)] = std::string(v); });
  const auto issued = std::chrono::duration_cast<std::chrono::milliseconds>(hs.issued.time_since_epoch()).count();
  // Node's `time` is Date#toString(); ours is the same instant in UTC, which any
  // Date parser reads back.
  std::time_t t = std::chrono::system_clock::to_time_t(hs.issued);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)", &tm);
  return json{{"headers", std::move(headers)},
              {"time", std::string(buf)},
              {"address", hs.remote_address},
              {"xdomain", hs.headers.find("origin").has_value()},
              {"secure", false},
              {"issued", issued},
              {"url", hs.url},
              {"query", std::move(query)},
              {"auth", auth}};
}

}  // namespace hub::sio
