#include "server/health_endpoint.hpp"

#include <nlohmann/json.hpp>

namespace hub {

bool serve_healthz(const http::request_info& req, const http::responder_ptr& r, const storage::storage_stats* storage,
                   const pubsub_link* redis) {
  if (req.target != "/healthz") return false;
  const bool storage_ok = !storage || storage->healthy.load(std::memory_order_relaxed);
  if (storage_ok && !redis) {
    r->reply(http::http_reply{200, "text/plain; charset=UTF-8", "ok", {}, false});
    return true;
  }
  nlohmann::json body{{"status", "ok"}};
  if (redis) {
    body["redis"] = redis->up() ? std::string("up") : redis->describe();
    if (!redis->up()) body["status"] = "degraded";
  }
  if (storage_ok) {
    r->reply(http::http_reply{200, "application/json", body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), {}, false});
    return true;
  }
  auto error = storage->error();
  if (error.empty()) error = "write failed";  // between the flag and the text being set
  body["status"] = "degraded";
  body["storage"] = std::move(error);
  // RocksDB's message names paths, which need not be UTF-8.
  r->reply(http::http_reply{
    503, "application/json", body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), {}, false});
  return true;
}

}  // namespace hub
