// A cluster node's heartbeat for connection state recovery (recovery_config::node): the
// key says when the node was last alive, so another node can tell a session record left
// by a node that died (recoverable for the window from its last beat) from one whose
// client merely moved. A timer of its own actor: a slow storage write delays one beat,
// never the connections.
#include "sio/sio_server.hpp"
#include "storage/keys.hpp"
#include "storage/storage_actor.hpp"
#include "util/log.hpp"
#include "util/sources.hpp"

#include "sio/recovery_codec.hpp"

namespace hub::sio {

namespace {
using beat_atom = caf::atom_constant<caf::atom("hb_beat")>;

struct heartbeat_state {
  bool warned = false;  // one warning per failure episode
  static inline const char* name = "hub.heartbeat";
};
}  // namespace

caf::actor spawn_node_heartbeat(caf::actor_system& sys, const recovery_config& rc) {
  return sys.spawn([rc](caf::stateful_actor<heartbeat_state>* self) -> caf::behavior {
    self->send(self, beat_atom::value);
    return {
      [self, rc](beat_atom) {
        const auto ttl = rc.window + heartbeat_slack;
        self
          ->request(rc.storage, storage::request_timeout, storage::kv_put_atom::value, keys::node_heartbeat(rc.node),
                    std::to_string(recovery::to_ms(wall_now())), static_cast<std::uint64_t>(ttl.count()))
          .then([self](bool) { self->state.warned = false; },
                [self, rc](caf::error& e) {
                  if (!std::exchange(self->state.warned, true))
                    log::warn("cluster: node ", rc.node, "'s heartbeat not stored: ", self->system().render(e));
                });
        self->delayed_send(self, heartbeat_interval, beat_atom::value);
      },
    };
  });
}

}  // namespace hub::sio
