// The cluster's pub/sub link over Redis (pubsub_seam.hpp), as @socket.io/redis-adapter
// uses it: one connection publishes (PUBLISH, PUBSUB NUMSUB; pipelined), one subscribes
// (SUBSCRIBE per channel, PSUBSCRIBE per pattern, pushed messages to the listener).
//
// Why hiredis gives us only the codec: hiredis (0.14, Debian's) provides the RESP codec
// (redisReader, i.e. redisReaderCreate/Feed/GetReply with its reply objects, read.h; and
// redisFormatCommandArgv for commands; see resp.hpp), while the sockets, timers,
// reconnection and pipelining are our own on Boost.Asio (redis_connection.hpp): the network
// must stay in one seam of ours (the same actors run on the server, the simulator and the
// tests), and hiredis's async event hooks would put a second event loop's callbacks around
// our connection state. Debian's hiredis has no Asio adapter and no Redis Cluster anyway.
//
// The link is up when both connections are connected (AUTH, SELECT) and every subscription
// is confirmed; the listener hears on_link(true) then. On any failure of either connection
// both are closed, the listener hears on_link(false), and the pair is connected again after
// an exponential backoff with jitter (min_backoff doubling up to max_backoff), subscribing
// again. Publications are at-most-once: one made while the link is down, over
// max_queued_bytes, or unacknowledged when its connection is lost is counted in
// hub_cluster_publications_lost_total and dropped.
//
// Everything runs on one strand of `io`; the public calls are thread-safe. Destroying the
// link stops it: once the destructor has returned, neither the listener nor a
// count_subscribers callback is called again (one in progress on another thread is waited
// for), and its sockets and timers are closed on the strand (or with `io` itself, if it
// no longer runs). The link must go before `io` does.
#pragma once

#include "net/redis/pubsub_seam.hpp"
#include "util/redis_url.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <memory>

namespace hub {

struct redis_link_options {
  redis_endpoint endpoint;
  std::chrono::milliseconds min_backoff{100}, max_backoff{5000}, connect_timeout{2000};
  std::size_t max_queued_bytes = 64 << 20;  // publications waiting for the socket
  // A connection with a command unanswered for reply_timeout is failed; an idle one
  // PINGs every ping_interval, so that a Redis gone silent is noticed.
  std::chrono::milliseconds reply_timeout{5000}, ping_interval{2000};
};

std::shared_ptr<pubsub_link> make_redis_link(boost::asio::io_context& io, redis_link_options opts);

}  // namespace hub
