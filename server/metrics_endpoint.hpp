// GET /metrics in Prometheus' text format.
#pragma once

#include "storage/storage_actor.hpp"
#include "net/transport/engine.hpp"

#include <caf/all.hpp>

#include <functional>

namespace hub {

struct metrics_sources {
  caf::actor_system* sys = nullptr;
  std::vector<eio::engine*> engines;        // live sessions
  storage::storage_actor storage;           // may be null (echo app)
  std::function<std::size_t()> chat_rooms;  // may be empty
};

// Returns false for other paths.
bool serve_metrics(const http::request_info& req, const http::responder_ptr& r, const metrics_sources& src);

}  // namespace hub
