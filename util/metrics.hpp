// Process-wide counters for /metrics. Relaxed atomic increments: cheap on the hot path,
// exact enough for monitoring.
#pragma once

#include "util/latency_histogram.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

namespace hub::metrics {

// Why the server refused or cut off a request or a session (hub_refusals_total{cause}).
enum class refusal : std::uint8_t {
  json_too_deep,                     // a payload nested beyond --max-json-depth
  json_too_wide,                     // an object with more members than --max-json-members
  preconnect_too_large,              // a packet before the first namespace CONNECT over its bound
  handler_exception,                 // an event handler threw: that session was closed
  http_exception,                    // an HTTP handler threw: that request got a 500
  io_exception,                      // an Asio completion threw: that connection was closed
  bad_token,                         // a token that did not verify (CONNECT or Bearer)
  header_timeout,                    // request headers not complete within --header-timeout (408)
  bad_http_framing,                  // conflicting or unknown request framing (400)
  too_many_sessions_per_connection,  // Engine.IO handshakes over one keep-alive connection (429)
  held_poll_flood,                   // bytes sent over a held long-poll beyond one request's headers
  too_many_connections,              // --max-connections (503 / close 1013)
  too_many_connections_per_address,  // --max-connections-per-address (503 / close 1013)
  accept_failed,                     // accept() failed (out of descriptors): retried with back-off
  slow_reader,                       // a client's send queue passed --max-send-queue: dropped (close 1013)
  too_many_rooms,                    // a join past --max-rooms-per-socket
  too_many_auth_failures,            // a handshake from an address past --auth-failure-rate
  token_expired,                     // a session closed when its token expired, or a CONNECT with an expired token
  token_revoked,                     // a session closed by a revocation, or a CONNECT with a revoked token
  too_many_pending_acks,             // an event asking for an ack past --max-pending-acks unanswered ones
  count
};

constexpr std::string_view to_string(refusal r) {
  constexpr std::array<std::string_view, static_cast<std::size_t>(refusal::count)> names{
    "json_too_deep",
    "json_too_wide",
    "preconnect_too_large",
    "handler_exception",
    "http_exception",
    "io_exception",
    "bad_token",
    "header_timeout",
    "bad_http_framing",
    "too_many_sessions_per_connection",
    "held_poll_flood",
    "too_many_connections",
    "too_many_connections_per_address",
    "accept_failed",
    "slow_reader",
    "too_many_rooms",
    "too_many_auth_failures",
    "token_expired",
    "token_revoked",
    "too_many_pending_acks"};
  return names[static_cast<std::size_t>(r)];
}

struct counters {
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(refusal::count)> refusals{};
  std::atomic<std::uint64_t> packets_in{0};             // Socket.IO packets decoded
  std::atomic<std::uint64_t> packets_out{0};            // packets sent to one client
  std::atomic<std::uint64_t> broadcasts{0};             // broadcasts issued
  std::atomic<std::uint64_t> fanout_deliveries{0};      // broadcast copies handed to clients
  std::atomic<std::uint64_t> chat_messages{0};          // chat messages stored
  std::atomic<std::uint64_t> rate_limited{0};           // client events refused by a rate limit
  std::atomic<std::uint64_t> notifications{0};          // notifications stored (incl. coalesced updates)
  std::atomic<std::uint64_t> protocol_errors{0};        // sessions closed for bad input
  std::atomic<std::uint64_t> sessions_expired{0};       // sessions closed at their deadline (token exp)
  std::atomic<std::uint64_t> inbound_pauses{0};         // reads paused: an actor max_inbound_queue behind
  std::atomic<std::uint64_t> ws_writes_through{0};      // WebSocket frames written on the sender's thread
  std::atomic<std::uint64_t> ws_write_through_rest{0};  // ...of which the socket took only part
  std::atomic<std::uint64_t> write_delay_us{0};         // the write coalescer's wait now (a gauge)
  // Cluster adapter (sio/cluster_adapter.hpp): what other nodes sent.
  std::atomic<std::uint64_t> cluster_broadcasts_in{0};   // broadcasts from other nodes delivered here
  std::atomic<std::uint64_t> cluster_requests_in{0};     // requests from other nodes handled
  std::atomic<std::uint64_t> cluster_responses_out{0};   // answers published to other nodes
  std::atomic<std::uint64_t> cluster_bad_messages{0};    // undecodable messages on our channels, ignored
  // The cluster's pub/sub link (net/redis/redis_link.hpp).
  std::atomic<std::uint64_t> cluster_publications{0};       // publish() calls
  std::atomic<std::uint64_t> cluster_publications_lost{0};  // ...Redis never acknowledged (down, over bound, cut)
  std::atomic<std::uint64_t> cluster_messages_received{0};  // messages from subscribed channels and patterns
  std::atomic<std::uint64_t> redis_reconnects{0};           // connection attempts after a failure
  std::atomic<std::uint64_t> redis_links_up{0};             // links now up (a gauge: 0 or 1 in hub-server)
  // A chat message accepted by its room -> durable -> broadcast -> handed to one
  // recipient's transport; one sample per recipient.
  latency_histogram delivery_latency;
};

inline counters& global() {
  static counters c;
  return c;
}

inline void add(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }

inline void refused(refusal why) { add(global().refusals[static_cast<std::size_t>(why)]); }

}  // namespace hub::metrics
