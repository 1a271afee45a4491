// Project Hub's log feed in a cluster. The shared storage engine publishes every append
// in the same atomic step that stores it (storage/redis_store.hpp): channel
// "<key prefix>-log#<log name>", payload "<epoch>:<seq>:<stored value>"; the epoch
// changes only when Redis lost its data, and with it the seqs start again. Each node subscribes
// to the feed and hands each room's entries to its own room actor, which delivers them
// to its local sockets in seq order, exactly once, filling any gap from the log
// (chat_room_actor.hpp): pub/sub may lose a publication while the link reconnects, or
// deliver two nodes' publications in another order than their seqs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hub::app {

inline std::string log_feed_prefix(const std::string& key_prefix) { return key_prefix + "-log#"; }

struct log_publication {
  std::string epoch;
  std::uint64_t seq = 0;
  std::string value;
};

// "<epoch>:<seq>:<value>" with a non-empty epoch and a decimal seq >= 1; nullopt for
// anything else.
std::optional<log_publication> parse_log_publication(std::string payload);

}  // namespace hub::app
