// The server under test: the same objects hub-server's main builds for `--app hub`
// (RocksDB store, storage actor, sio::server with recovery, hub_app), on the
// deterministic actor system. Only the storage actor differs: it is not detached (a
// detached actor would escape the virtual scheduler) and its store does not fsync.
// crash() kills the process's actors without their shutdown paths; start() boots
// again on the same data directory, as a restarted hub-server would.
#pragma once

#include "apps/hub/hub_messages.hpp"
#include "apps/hub/hub_app.hpp"
#include "sim/deterministic.hpp"
#include "net/redis/pubsub_seam.hpp"
#include "storage/engine.hpp"

#include <functional>

#include <filesystem>
#include <memory>
#include <string>

namespace hub::sim {

struct world_config {
  app::hub_config hub;
  std::chrono::milliseconds recovery_window = sio::recovery_config::default_window;
  std::string data_dir;  // a fresh temporary directory, removed by the caller
  // A node of a cluster (--nodes N > 1): the shared engine and pub/sub bus stand for
  // Redis (sim_redis.hpp), as --redis wires them in hub-server. Empty: one node alone on
  // its own RocksDB in data_dir.
  std::shared_ptr<storage::engine> shared;
  std::function<pubsub_link_ptr()> make_link;  // a new process's link to the bus
  std::string key_prefix = "socket.io";
};

class sim_world {
 public:
  sim_world(deterministic& env, world_config cfg);
  ~sim_world();

  void start();
  // kill -9: connection actors and the storage actor die at once (pending appends are
  // lost, their requesters never answered); then the rest of the process goes.
  // Connection actors must be listed by the caller (the network knows them).
  void crash(const std::vector<caf::actor>& connections);
  bool up() const { return static_cast<bool>(server_); }
  // Orderly stop at the end of a run.
  void stop();

  caf::actor spawn_connection(outlet_weak out);
  app::hub_app& hub() { return *hub_; }
  storage::engine& db() { return *db_; }
  int incarnation() const { return incarnation_; }
  // This process's id in the cluster (a new one at each start, as hub-server draws it).
  const std::string& node_uid() const { return uid_; }

  // Asks a chat room for its state; the answer lands in `out` once the system ran.
  void room_info(const std::string& project, std::shared_ptr<room_info_ptr> out);

 private:
  deterministic& env_;
  world_config cfg_;
  std::shared_ptr<storage::engine> db_;
  storage::storage_actor storage_;
  caf::actor heartbeat_;
  std::string uid_;
  std::unique_ptr<sio::server> server_;
  std::unique_ptr<app::hub_app> hub_;
  int incarnation_ = 0;

  void teardown();
};

}  // namespace hub::sim
