#include "sim/sim_world.hpp"

#include "storage/keys.hpp"
#include "storage/storage_actor.hpp"
#include "storage/store.hpp"
#include "util/random_id.hpp"

#include <stdexcept>

namespace hub::sim {

sim_world::sim_world(deterministic& env, world_config cfg) : env_(env), cfg_(std::move(cfg)) {}

sim_world::~sim_world() { stop(); }

void sim_world::start() {
  if (server_) throw std::logic_error("sim_world already started");
  ++incarnation_;
  const bool cluster = static_cast<bool>(cfg_.shared);
  if (cluster)
    db_ = cfg_.shared;
  else
    db_ = std::make_shared<storage::store>(cfg_.data_dir, storage::store_options{false});
  storage_ = spawn_storage_actor(env_.sys, db_, false);
  uid_ = random_id().substr(0, 6);
  // The data directory's epoch, as hub-server's main reads or creates it.
  std::string epoch;
  if (auto e = db_->get(keys::epoch()))
    epoch = *e;
  else {
    epoch = random_id().substr(0, 8);
    db_->put(keys::epoch(), epoch);
  }
  sio::server_config scfg;
  if (cfg_.recovery_window.count() > 0) {
    sio::recovery_config rc;  // `started` = the (virtual) wall clock now
    rc.window = cfg_.recovery_window;
    rc.storage = storage_;
    rc.epoch = epoch;
    if (cluster) rc.node = uid_;
    scfg.recovery = rc;
  }
  auto hub_cfg = cfg_.hub;
  if (cluster) {
    scfg.cluster.link = cfg_.make_link();
    scfg.cluster.uid = uid_;
    scfg.cluster.prefix = cfg_.key_prefix;
    hub_cfg.shared_log_prefix = cfg_.key_prefix;
  }
  server_ = std::make_unique<sio::server>(env_.sys, scfg);
  hub_ = std::make_unique<app::hub_app>(*server_, hub_cfg, storage_);
  hub_->install();
  if (cluster) {
    server_->start();  // joins the cluster, as hub-server's main does
    sio::recovery_config beat = scfg.recovery.value_or(sio::recovery_config{});
    beat.storage = storage_;
    beat.node = uid_;
    heartbeat_ = sio::spawn_node_heartbeat(env_.sys, beat);
  }
  env_.run();
}

caf::actor sim_world::spawn_connection(outlet_weak out) {
  auto hs = std::make_shared<sio::handshake>();
  hs->remote_address = "10.0.0.1";
  hs->url = "/socket.io/?EIO=4&transport=websocket";
  hs->query = {{"EIO", "4"}, {"transport", "websocket"}};
  return server_->spawn_connection(std::move(out), std::move(hs));
}

void sim_world::crash(const std::vector<caf::actor>& connections) {
  for (const auto& c : connections) caf::anon_send_exit(c, caf::exit_reason::kill);
  caf::anon_send_exit(storage_, caf::exit_reason::kill);
  if (heartbeat_) caf::anon_send_exit(heartbeat_, caf::exit_reason::kill);
  env_.run();
  teardown();
}

void sim_world::stop() {
  if (!server_) return;
  caf::anon_send_exit(storage_, caf::exit_reason::user_shutdown);
  if (heartbeat_) caf::anon_send_exit(heartbeat_, caf::exit_reason::user_shutdown);
  env_.run();
  teardown();
}

void sim_world::teardown() {
  storage_ = storage::storage_actor{};
  heartbeat_ = caf::actor{};
  if (hub_) hub_->shutdown();
  env_.run();
  hub_.reset();
  server_.reset();  // stops the room directory
  env_.run();
  // Timers of dead actors may still be pending; they hold no store reference.
  db_.reset();
}

void sim_world::room_info(const std::string& project, std::shared_ptr<room_info_ptr> out) {
  auto room = hub_->room(project);
  env_.sys.spawn([room, out](caf::event_based_actor* self) {
    self->request(room, caf::infinite, room_info_atom::value).then([out](const room_info_ptr& p) { *out = p; });
  });
}

}  // namespace hub::sim
