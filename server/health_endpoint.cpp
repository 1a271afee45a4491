#include "server/health_endpoint.hpp"

#include <nlohmann/json.hpp>

namespace hub {

bool serve_healthz(const http::request_info& req, const http::responder_ptr& r, const storage::storage_stats* storage) {
  if (req.target != "/healthz") return false;
  if (!storage || storage->healthy.load(std::memory_order_relaxed)) {
    r->reply(http::http_reply{200, "text/plain; charset=UTF-8", "ok", {}, false});
    return true;
  }
  auto error = storage->error();
  if (error.empty()) error = "write failed";  // between the flag and the text being set
  nlohmann::json body{{"status", "degraded"}, {"storage", std::move(error)}};
  // RocksDB's message names paths, which need not be UTF-8.
  r->reply(http::http_reply{
    503, "application/json", body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), {}, false});
  return true;
}

}  // namespace hub
