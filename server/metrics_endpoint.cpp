#include "server/metrics_endpoint.hpp"

#include "storage/storage_actor.hpp"
#include "util/metrics.hpp"

#include <sstream>

namespace hub {
namespace {

void line(std::ostringstream& os, const char* name, const char* type, const char* help, double value) {
  os << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n' << name << ' ' << value << '\n';
}

std::string render(const metrics_sources& src, const storage::storage_stats* st) {
  auto& c = metrics::global();
  std::ostringstream os;
  std::size_t sessions = 0;
  for (auto* e : src.engines) sessions += e->sessions().size();
  line(os, "hub_connections", "gauge", "Open Engine.IO sessions", static_cast<double>(sessions));
  if (src.chat_rooms) line(os, "hub_chat_rooms", "gauge", "Chat room actors", static_cast<double>(src.chat_rooms()));
  line(os, "hub_packets_in_total", "counter", "Socket.IO packets received", c.packets_in.load());
  line(os, "hub_packets_out_total", "counter", "Socket.IO packets sent to single clients", c.packets_out.load());
  line(os, "hub_broadcasts_total", "counter", "Broadcasts issued", c.broadcasts.load());
  line(os, "hub_fanout_deliveries_total", "counter", "Broadcast copies delivered to clients",
       c.fanout_deliveries.load());
  line(os, "hub_chat_messages_total", "counter", "Chat messages stored", c.chat_messages.load());
  line(os, "hub_rate_limited_total", "counter", "Client events refused by a per-user rate limit",
       c.rate_limited.load());
  line(os, "hub_notifications_total", "counter", "Notifications stored, coalesced updates included",
       c.notifications.load());
  line(os, "hub_protocol_errors_total", "counter", "Sessions closed for malformed input", c.protocol_errors.load());
  line(os, "hub_inbound_pauses_total", "counter",
       "Times a session stopped reading its client because its actor was --max-inbound-queue messages behind",
       c.inbound_pauses.load());
  line(os, "hub_sessions_expired_total", "counter", "Sessions closed when their credentials expired (recoverable)",
       c.sessions_expired.load());
  line(os, "hub_ws_writes_through_total", "counter",
       "WebSocket frames written at once on the sender's thread (server not busy, socket idle)",
       c.ws_writes_through.load());
  line(os, "hub_ws_write_through_rest_total", "counter",
       "Written-through frames the socket took only part of (the network thread wrote the rest)",
       c.ws_write_through_rest.load());
  line(os, "hub_write_delay_microseconds", "gauge",
       "How long the write coalescer now holds a frame back to share a write (0 unless the process is busy)",
       c.write_delay_us.load());
  line(os, "hub_cluster_broadcasts_received_total", "counter", "Broadcasts from other nodes delivered to this node",
       c.cluster_broadcasts_in.load());
  line(os, "hub_cluster_requests_received_total", "counter",
       "Requests from other nodes handled (fetchSockets, socketsJoin, serverSideEmit, ...)", c.cluster_requests_in.load());
  line(os, "hub_cluster_responses_sent_total", "counter", "Answers published to other nodes' requests",
       c.cluster_responses_out.load());
  line(os, "hub_cluster_malformed_messages_total", "counter",
       "Messages on this node's cluster channels that did not decode, ignored", c.cluster_bad_messages.load());
  line(os, "hub_cluster_publications_total", "counter", "Publications to the other nodes through Redis, lost ones included",
       c.cluster_publications.load());
  line(os, "hub_cluster_publications_lost_total", "counter",
       "Publications Redis never acknowledged (link down, queue over its bound, connection lost): not retried",
       c.cluster_publications_lost.load());
  line(os, "hub_cluster_messages_received_total", "counter", "Messages received from the other nodes through Redis",
       c.cluster_messages_received.load());
  line(os, "hub_redis_reconnects_total", "counter", "Connection attempts to Redis after a failure",
       c.redis_reconnects.load());
  line(os, "hub_redis_link_up", "gauge", "1 while the Redis link is connected and subscribed, 0 while it is down",
       c.redis_links_up.load());
  os << "# HELP hub_refusals_total Requests and sessions refused or cut off, by cause\n"
        "# TYPE hub_refusals_total counter\n";
  for (std::size_t i = 0; i < c.refusals.size(); ++i)
    os << "hub_refusals_total{cause=\"" << metrics::to_string(static_cast<metrics::refusal>(i)) << "\"} "
       << c.refusals[i].load() << '\n';
  if (st) {
    line(os, "hub_storage_batches_total", "counter", "RocksDB append batches committed", st->batches.load());
    line(os, "hub_storage_appends_total", "counter", "Log appends committed", st->items.load());
    line(os, "hub_storage_failed_batches_total", "counter", "Append batches that failed", st->failed_batches.load());
    line(os, "hub_storage_errors_total", "counter", "Storage writes that failed (batches and prunes)",
         st->write_errors.load());
    line(os, "hub_storage_healthy", "gauge", "1 while storage takes writes, 0 from a failed write until it recovers",
         st->healthy.load() ? 1 : 0);
    line(os, "hub_storage_recoveries_total", "counter", "Storage failure episodes that ended (writes work again)",
         st->recoveries.load());
    os << metrics::prometheus_text("hub_storage_commit_seconds", "One group commit: synced RocksDB WriteBatch",
                                   st->commit_latency)
       << metrics::prometheus_text("hub_storage_write_seconds",
                                   "One append or key/value write, from reaching the storage actor to durable",
                                   st->write_latency);
  }
  os << metrics::prometheus_text("hub_delivery_seconds",
                                 "A chat message from its room accepting it to one recipient's transport",
                                 c.delivery_latency);
  return os.str();
}

}  // namespace

bool serve_metrics(const http::request_info& req, const http::responder_ptr& r, const metrics_sources& src) {
  if (req.target != "/metrics") return false;
  auto reply = [r, &src](const storage::storage_stats* st) {
    r->reply(http::http_reply{200, "text/plain; version=0.0.4; charset=utf-8", render(src, st), {}, false});
  };
  if (!src.storage) {
    reply(nullptr);
    return true;
  }
  src.sys->spawn([r, src](caf::event_based_actor* self) {
    self->request(src.storage, std::chrono::seconds(5), storage::stats_atom::value)
      .then(
        [r, src](const storage::storage_stats_ptr& st) {
          r->reply(http::http_reply{200, "text/plain; version=0.0.4; charset=utf-8", render(src, st.get()), {}, false});
        },
        [r, src](caf::error&) {
          r->reply(http::http_reply{200, "text/plain; version=0.0.4; charset=utf-8", render(src, nullptr), {}, false});
        });
  });
  return true;
}

}  // namespace hub
