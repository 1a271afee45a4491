// hub_app's construction, its registries of domain actors (chat rooms, user mailboxes,
// revocations) and the post pipeline that Socket.IO and HTTP share. The Socket.IO
// events are in socket_handlers.cpp, the HTTP API in http_routes.cpp.
#include "apps/hub/hub_app.hpp"

#include "apps/hub/log_feed.hpp"
#include "protocol/json_limits.hpp"
#include "util/metrics.hpp"
#include "storage/keys.hpp"
#include "storage/storage_actor.hpp"
#include "util/log.hpp"
#include "util/sources.hpp"

#include <map>

namespace hub::app {

hub_app::hub_app(sio::server& srv, hub_config cfg, storage::storage_actor storage)
  : srv_(srv),
    cfg_(std::move(cfg)),
    storage_(std::move(storage)),
    auth_(cfg_.jwt_secret, cfg_.dev_auth, cfg_.token),
    auth_failures_(cfg_.auth_failures),
    rooms_([this](const std::string& project) {
      chat_room_config c;
      c.typing_timeout = cfg_.typing_timeout;
      c.presence_grace = cfg_.presence_grace;
      c.retention_count = cfg_.retention_count;
      c.retention_age = cfg_.retention_age;
      c.user_mailbox = [this](const std::string& user) { return users_.get(user); };
      c.max_distinct_reactions = cfg_.max_distinct_reactions;
      c.shared_log = !cfg_.shared_log_prefix.empty();
      if (!cfg_.shared_log_prefix.empty()) {
        c.member_added = [this](const std::string& p, const std::string& user) {
          srv_.server_side_emit("/", "hub:member", json::array({p, user}));
        };
        c.node = srv_.cluster().uid();
        c.tell_peers = [this](json event) { srv_.server_side_emit("/", "hub:room", std::move(event)); };
        c.ask_peers = [this](const std::string& p, std::function<void(json)> done) {
          srv_.server_side_emit_with_ack("/", "hub:who", json::array({p}), std::chrono::seconds(2),
                                         [alive = alive_, done = std::move(done)](sio::ack_result r) {
                                           // A node known only from its answer is watched too: if
                                           // it dies, its users must go (node_gone).
                                           {
                                             std::lock_guard<std::mutex> guard{alive->mu};
                                             if (alive->app)
                                               for (const auto& a : r.responses)
                                                 if (a.is_array() && !a.empty() && a[0].is_string())
                                                   alive->app->watch_peer(a[0].get<std::string>());
                                           }
                                           done(std::move(r.responses));
                                         });
        };
        c.share_present = [this](const std::string& p, json here) {
          srv_.server_side_emit("/", "hub:here", json::array({p, srv_.cluster().uid(), std::move(here)}));
        };
      }
      return spawn_chat_room(srv_.system(), project, storage_, srv_.in("/"), std::move(c));
    }),
    // One configuration for every mailbox, not a copy per user.
    user_cfg_(std::make_shared<const user_config>(user_config{cfg_.rate, cfg_.events, storage_, srv_.in("/"),
                                                              user_config{}.inbox_keep,
                                                              !cfg_.shared_log_prefix.empty()})),
    users_([this](const std::string& user) { return spawn_user_actor(srv_.system(), user, user_cfg_); }) {
  alive_->app = this;
}

hub_app::~hub_app() { shutdown(); }

void hub_app::shutdown() {
  {
    std::lock_guard<std::mutex> guard{alive_->mu};
    alive_->app = nullptr;
  }
  {
    std::lock_guard<std::mutex> guard{peers_mu_};
    if (peer_watch_) caf::anon_send_exit(peer_watch_, caf::exit_reason::user_shutdown);
    peer_watch_ = nullptr;
  }
  rooms_.clear();
  users_.clear();
  user_cfg_ = nullptr;  // it holds the storage actor; no mailbox is spawned after clear()
  storage_ = nullptr;
}

bool hub_app::load_revocations() {
  bool ok = false;
  caf::scoped_actor self{srv_.system()};
  self->request(storage_, std::chrono::seconds(30), storage::kv_scan_atom::value, std::string(keys::revoked_prefix))
    .receive(
      [&](const storage::kv_scan_ptr& records) {
        if (auto skipped = revoked_.load(*records)) log::warn(skipped, " malformed revocation records ignored");
        if (revoked_.size() > 0) log::info(revoked_.size(), " users with revoked tokens on record");
        ok = true;
      },
      [&](caf::error& e) { log::error("cannot read revocations: ", srv_.system().render(e)); });
  return ok;
}

void hub_app::on_log_publication(std::string_view log, std::string payload) {
  auto project = keys::parse_room_log(log);
  auto user = project ? std::nullopt : keys::parse_inbox_log(log);
  caf::actor to;
  if (project)
    to = caf::actor_cast<caf::actor>(rooms_.find(*project));
  else if (user)
    to = caf::actor_cast<caf::actor>(users_.find(*user));
  if (!to) return;  // no actor here: it reads the log when it starts
  auto entry = parse_log_publication(std::move(payload));
  // Anyone who can reach Redis can publish: what the feed carries is hostile input until
  // checked (bounded JSON, as a client's; nlohmann's parser recurses on nesting).
  if (!entry || json_bounds::check(entry->value, json_limits{}) != json_bounds::verdict::ok) {
    metrics::add(metrics::global().cluster_bad_messages);
    log::debug("log feed: ignoring a malformed publication on ", std::string(log));
    return;
  }
  caf::anon_send(to, log_entry_atom::value, std::move(entry->epoch), entry->seq, std::move(entry->value));
}

void hub_app::on_feed_link(bool up) {
  if (!up) return;
  // Pub/sub lost what was published while the link was down, both ways: the log is read
  // again, and each room resyncs presence with the other nodes (peers_ask_atom).
  rooms_.for_each([](const std::string&, const chat_room_actor& room) {
    caf::anon_send(room, resync_atom::value);
    caf::anon_send(room, peers_ask_atom::value);
  });
  users_.for_each([](const std::string&, const user_actor& user) { caf::anon_send(user, resync_atom::value); });
  if (!storage_) return;
  srv_.system().spawn([this, storage = storage_](caf::event_based_actor* self) {
    self->request(storage, std::chrono::seconds(30), storage::kv_scan_atom::value, std::string(keys::revoked_prefix))
      .then([this](const storage::kv_scan_ptr& records) { revoked_.load(*records); },
            [self](caf::error& e) { log::warn("cluster: revocations not read again: ", self->system().render(e)); });
  });
}

void hub_app::on_cluster_event(const std::string& event, const json& args, const sio::server_side_reply& reply) {
  auto text = [&](std::size_t i) { return i < args.size() && args[i].is_string(); };
  if (event == "hub:room" && args.size() == 5 && text(0) && text(1) && text(2) && text(3) && text(4)) {
    watch_peer(args[2].get<std::string>());
    if (auto room = rooms_.find(args[0].get<std::string>()))
      caf::anon_send(room, room_peer_atom::value, args[1].get<std::string>(), args[2].get<std::string>(),
                     args[3].get<std::string>(), args[4].get<std::string>());
  }
  if (event == "hub:who" && reply) {
    const std::string node = srv_.cluster().uid();
    auto room = text(0) ? rooms_.find(args[0].get<std::string>()) : chat_room_actor{};
    if (!room) {
      reply(json::array({node, json::array()}));
    } else {
      srv_.system().spawn([room, node, reply](caf::event_based_actor* self) {
        self->request(room, std::chrono::seconds(1), who_atom::value)
          .then([node, reply](const json_ptr& here) { reply(json::array({node, *here})); },
                [node, reply](caf::error&) { reply(json::array({node, json::array()})); });
      });
    }
  }
  // A room of a node whose link came back says who is present there now ([project, node,
  // [[user, name], ...]]): it replaces what that node's lost events would have said.
  if (event == "hub:here" && args.size() == 3 && text(0) && text(1) && args[2].is_array()) {
    watch_peer(args[1].get<std::string>());
    if (auto room = rooms_.find(args[0].get<std::string>()))
      caf::anon_send(room, peers_present_atom::value, make_json(json::array({json::array({args[1], args[2]})})));
  }
  if (event == "hub:revoke" && args.size() == 2 && args[0].is_string() && args[1].is_number_integer())
    revoked_.revoke(args[0].get<std::string>(), args[1].get<std::int64_t>());
  if (event == "hub:member" && args.size() == 2 && args[0].is_string() && args[1].is_string())
    if (auto room = rooms_.find(args[0].get<std::string>()))
      caf::anon_send(room, member_atom::value, args[1].get<std::string>());
}

namespace {
using peer_check_atom = caf::atom_constant<caf::atom("peer_chk")>;
// A node whose beat has not changed for this long died (it beats every
// heartbeat_interval).
constexpr std::chrono::milliseconds peer_timeout{5000};

// What the watcher knows of one peer: its last beat, and when (on this node's own
// monotonic clock) the beat last changed.
struct peer_beat {
  std::string value;
  caf::actor_clock::time_point changed;
};
struct peer_watch_state {
  std::map<std::string, peer_beat> beats;
  static inline const char* name = "hub.peer_watch";
};
}  // namespace

void hub_app::watch_peer(const std::string& node) {
  if (node.empty() || node == srv_.cluster().uid()) return;
  std::lock_guard<std::mutex> guard{peers_mu_};
  if (!peers_.insert(node).second || peer_watch_ || !storage_) return;
  // One watcher for all peers, reading each one's heartbeat key every second. A peer is
  // alive while its beat keeps changing: the beat is the other machine's wall clock,
  // which is never compared with this one's (clocks differ between machines, and jump).
  peer_watch_ = srv_.system().spawn([this, storage = storage_](caf::stateful_actor<peer_watch_state>* self)
                                      -> caf::behavior {
    self->send(self, peer_check_atom::value);
    return {[this, self, storage](peer_check_atom) {
      std::vector<std::string> nodes;
      {
        std::lock_guard<std::mutex> guard{peers_mu_};
        nodes.assign(peers_.begin(), peers_.end());
      }
      for (const auto& node : nodes)
        self->request(storage, std::chrono::seconds(5), storage::kv_get_atom::value, keys::node_heartbeat(node))
          .then(
            [this, self, node](bool found, const std::string& beat) {
              const auto now = self->clock().now();
              auto [it, fresh] = self->state.beats.try_emplace(node, peer_beat{beat, now});
              // A key gone (Redis lost it) is a beat that did not change: the node
              // writes it again within a second if it lives.
              if (fresh || (found && beat != it->second.value)) {
                it->second = peer_beat{found ? beat : it->second.value, now};
                return;
              }
              if (now - it->second.changed < peer_timeout) return;
              self->state.beats.erase(it);
              {
                std::lock_guard<std::mutex> guard{peers_mu_};
                if (peers_.erase(node) == 0) return;
              }
              log::warn("cluster: node ", node, " stopped beating: its users and typists are dropped");
              rooms_.for_each(
                [&node](const std::string&, const chat_room_actor& room) { caf::anon_send(room, node_gone_atom::value, node); });
            },
            [](caf::error&) {});  // storage away: no verdict this round
      self->delayed_send(self, std::chrono::seconds(1), peer_check_atom::value);
    }};
  });
}

void hub_app::post_message(caf::event_based_actor* self, const identity& who, const std::string& project,
                           std::string content, json reply_to, const std::function<void(const post_outcome&)>& done) {
  auto room = rooms_.get(project);
  auto mailbox = users_.get(who.user_id);
  if (!room || !mailbox) {  // shutting down
    done(post_outcome{false, error_code::unavailable, json(), 0});
    return;
  }
  auto post = std::make_shared<chat_post>();
  post->user_id = who.user_id;
  post->user_name = who.name;
  post->content = std::move(content);
  post->reply_to = std::move(reply_to);
  post->done = [done](const post_result& r) { done(post_outcome{r.ok, r.error, r.message, 0}); };
  self->request(mailbox, request_timeout, rate_take_atom::value)
    .then(
      [self, room, post = chat_post_ptr(std::move(post)), done](bool ok, std::int64_t retry_ms) {
        if (!ok) {
          done(post_outcome{false, error_code::rate_limited, json(), retry_ms});
          return;
        }
        self->send(room, post_atom::value, post);
      },
      [done](caf::error&) {
        done(post_outcome{false, error_code::storage, json(), 0});
      });
}

}  // namespace hub::app
