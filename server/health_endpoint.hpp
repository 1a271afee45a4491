// GET /healthz: 200 "ok" while the server can do its job; 503 with
// {"status":"degraded","storage":"<error>"} while storage writes fail (a full disk, an
// I/O error), so that a load balancer or an operator sees what clients only see as
// refused acks. Reads the storage actor's counters directly: a stuck disk must not
// stall the health check behind the storage actor's mailbox.
#pragma once

#include "storage/storage_actor.hpp"
#include "net/transport/engine_types.hpp"

namespace hub {

// `storage` may be null (the echo app). Returns false for other paths.
bool serve_healthz(const http::request_info& req, const http::responder_ptr& r, const storage::storage_stats* storage);

}  // namespace hub
