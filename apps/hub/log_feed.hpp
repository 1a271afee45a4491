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
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

// One log's entries from several sources (this node's appends, the feed, reads of the
// log) put in seq order, once. Pure: the actor that owns the log's state keeps `last`,
// the seq it applied last, and applies what accept() returns.
class log_order {
 public:
  using entry = std::pair<std::uint64_t, std::string>;
  // The entries to apply now, in order: `seq` if it is the next one, then whatever
  // waited behind it; `last` moves to the last of them. A repeat (seq <= last) returns
  // nothing; an entry past a gap waits, and waiting() tells the owner to read the gap
  // from the log (and accept() what it reads).
  std::vector<entry> accept(std::uint64_t& last, std::uint64_t seq, std::string value);
  bool waiting() const { return !early_.empty(); }
  void clear() { early_.clear(); }
  // How many entries came to wait so far: taken when a read of the log is sent.
  std::uint64_t ticket() const { return arrivals_; }
  // A read sent at `ticket` found the log ending at `seq`: an entry that was waiting
  // before it was sent and lies beyond was never stored (an entry is published only once
  // stored), so it is forged and dropped. Entries that came later may be real.
  void drop_after(std::uint64_t seq, std::uint64_t ticket);

 private:
  struct waiting_entry {
    std::uint64_t ticket = 0;
    std::string value;
  };
  std::map<std::uint64_t, waiting_entry> early_;
  std::uint64_t arrivals_ = 0;
};

}  // namespace hub::app
