// GET /healthz: 200 "ok" while the server can do its job; 503 with
// {"status":"degraded","storage":"<error>"} while storage writes fail (a full disk, an
// I/O error), so that a load balancer or an operator sees what clients only see as
// refused acks. Reads the storage actor's counters directly: a stuck disk must not
// stall the health check behind the storage actor's mailbox.
//
// With --redis the body is JSON with the link's state, {"status":"ok","redis":"up"};
// while Redis is away {"status":"degraded","redis":"down since ..."} with 200 still:
// this node's own clients are served, and a load balancer that drained every node of a
// cluster whose Redis is down would turn a partial outage into a total one.
#pragma once

#include "storage/storage_actor.hpp"
#include "net/transport/engine_types.hpp"
#include "net/redis/pubsub_seam.hpp"

namespace hub {

// `storage` may be null (the echo app), `redis` too (one node). Returns false for other paths.
bool serve_healthz(const http::request_info& req, const http::responder_ptr& r, const storage::storage_stats* storage,
                   const pubsub_link* redis = nullptr);

}  // namespace hub
