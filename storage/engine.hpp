// The storage seam: what the storage actor asks of a durable engine. Two engines stand
// behind it, and the actors never know which one they talk to:
//   - store (storage/store.hpp): RocksDB in the data directory, the single-node default;
//   - redis_store (storage/redis_store.hpp): Redis, shared by every node of a cluster.
// An engine is a plain object: no actors, no threads of its own; every call blocks until
// the engine answered, and throws std::runtime_error with the engine's reason when it
// failed. Only the storage actor (detached in hub-server) calls it.
//
// Logs are append-only with gap-free sequence numbers assigned by the engine (1, 2, ...),
// never reused, also after pruning. Keys hold opaque values.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hub::storage {

class engine {
 public:
  virtual ~engine() = default;

  struct append_item {
    append_item(std::string l, std::string v, std::string index = {})
      : log(std::move(l)), value(std::move(v)), index_log(std::move(index)) {}
    std::string log;    // log name, e.g. "room/p1"; any bytes
    std::string value;  // opaque
    // When set, the same commit also appends to this log an entry whose value is the
    // decimal seq given to this item: a secondary index (e.g. a thread's replies) that
    // can never disagree with the log it indexes, because both land or neither does.
    std::string index_log;
  };

  // A key/value write for the same commit: a put, or an erase when `value` is nullopt.
  struct kv_write {
    std::string key;
    std::optional<std::string> value;
    // > 0: the engine may forget the key this long after the write (Redis expires it;
    // RocksDB keeps it, and its readers check the age they stored in the value).
    std::chrono::milliseconds ttl{0};
    // The value is a decimal number that only grows (a read marker): written only when
    // larger than the stored one, compared by the engine in the commit itself, so that
    // writers on several nodes never move it backwards.
    bool only_if_larger = false;
  };

  struct entry {
    std::uint64_t seq = 0;
    std::string value;
  };

  // A read of one log, with where the log stands.
  struct page {
    std::vector<entry> entries;   // in seq order
    bool has_more = false;        // more entries follow the last one returned
    std::uint64_t first_seq = 0;  // oldest kept entry of the log; 0 when it holds none
    std::uint64_t last_seq = 0;   // newest seq ever assigned; 0 when never used
  };

  // What the engine is, for logs and /healthz: "rocksdb <dir>", "redis <endpoint>".
  virtual std::string describe() const = 0;

  // Appends every item and applies every write as one atomic commit: each item gets
  // seq = last seq of its log + 1, in order; returns the seqs in item order. On an error
  // nothing was written (and the next commit reuses the seqs), except where an engine
  // says otherwise (redis_store: a connection lost after sending, see there).
  virtual std::vector<std::uint64_t> commit(const std::vector<append_item>& items,
                                            const std::vector<kv_write>& writes) = 0;

  // Up to `limit` entries with seq > after, in seq order, and the log's bounds.
  virtual page read_page(const std::string& log, std::uint64_t after, std::size_t limit) const = 0;
  // The entries with the given seqs that exist (not pruned, not past the end), in the
  // order asked, and the log's bounds.
  virtual page read_seqs_page(const std::string& log, const std::vector<std::uint64_t>& seqs) const = 0;
  // The newest `n` entries, in seq order.
  virtual std::vector<entry> read_last(const std::string& log, std::size_t n) const = 0;
  // The highest seq ever assigned in this log (also after pruning); 0 when never used.
  virtual std::uint64_t last_seq(const std::string& log) const = 0;
  // last_seq() of many logs (e.g. one per thread), in the order asked.
  virtual std::vector<std::uint64_t> last_seqs(const std::vector<std::string>& logs) const = 0;
  // The oldest kept entry's seq; 0 when the log holds no entries.
  virtual std::uint64_t first_seq(const std::string& log) const = 0;
  // Deletes entries with seq < keep_from (retention). Returns how many were removed.
  virtual std::size_t prune_before(const std::string& log, std::uint64_t keep_from) = 0;

  virtual std::optional<std::string> get(const std::string& key) const = 0;
  // Every key/value whose key starts with `prefix`, in key order. Engines may support
  // only the prefixes keys::scannable() names (redis_store keeps those in one hash each).
  virtual std::vector<std::pair<std::string, std::string>> scan(const std::string& prefix) const = 0;

  // A sliding-window rate limit shared by everyone who uses this engine: counts one
  // event under `key` when fewer than `limit` were counted in the last `window` (then
  // 0), else counts nothing and returns the ms until the oldest one leaves the window
  // (>= 1). The window's clock is the engine's (Redis: its TIME), one for every node.
  virtual std::int64_t rate_take(const std::string& key, std::size_t limit, std::chrono::milliseconds window) = 0;

  // After a write error, makes the engine take writes again if it can, and proves it
  // with a probe write. Returns nullopt when writes work again, else why not.
  virtual std::optional<std::string> recover() = 0;

  // While on, every write fails as an I/O error would: nothing is written and
  // std::runtime_error is thrown. For tests and the simulator.
  virtual void inject_write_faults(bool on) = 0;

  // -- conveniences on commit() ----------------------------------------------------------------
  std::vector<std::uint64_t> append(const std::vector<append_item>& items) { return commit(items, {}); }
  virtual void put(const std::string& key, std::string_view value) {
    commit({}, {kv_write{key, std::string(value), std::chrono::milliseconds{0}}});
  }
  virtual void erase(const std::string& key) {
    commit({}, {kv_write{key, std::nullopt, std::chrono::milliseconds{0}}});
  }
  // Up to `limit` entries with seq > after; `has_more` if more follow.
  std::vector<entry> read(const std::string& log, std::uint64_t after, std::size_t limit,
                          bool* has_more = nullptr) const {
    auto p = read_page(log, after, limit);
    if (has_more) *has_more = p.has_more;
    return std::move(p.entries);
  }
  std::vector<entry> read_seqs(const std::string& log, const std::vector<std::uint64_t>& seqs) const {
    return read_seqs_page(log, seqs).entries;
  }
};

}  // namespace hub::storage
