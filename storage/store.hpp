// The single-node storage engine (storage/engine.hpp), on RocksDB: append-only logs with gap-free sequence numbers (chat
// rooms, user inboxes) and a small key/value space (sessions, read markers).
// A plain class: no actors, no threads of its own. One process per data directory
// (RocksDB's LOCK file).
//
// Key layout (all in the default column family):
//   l/<escaped log>/<8-byte big-endian seq>  -> entry value
//   s/<escaped log>                          -> 8-byte big-endian high-water seq
//   k/<key>                                  -> kv value (key bytes as given)
// The log name is escaped by percent-encoding '%' (%25) and '/' (%2F), so an escaped
// name never contains '/': "l/a/" is not a prefix of "l/a%2Fb/", and logs "a" and "a/b"
// never see each other's entries. The high-water key is written in the same batch as
// the entries, so seqs are never reused even after prune_before() removed every entry.
#pragma once

#include "storage/engine.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace rocksdb {
class DB;
}

namespace hub::storage {

struct store_options {
  bool sync = true;  // fsync each batch; false only for tests and the simulator
};

class store final : public engine {
 public:
  // Opens (creating if missing) the database in `dir`. Throws std::runtime_error with
  // a message naming the directory and RocksDB's reason (e.g. the LOCK file is held
  // by another process, or by another store in this process).
  explicit store(const std::string& dir, store_options opts = {});
  ~store() override;
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  const std::string& dir() const { return dir_; }
  std::string describe() const override { return "rocksdb " + dir_; }

  // -- logs ------------------------------------------------------------------------------
  // One atomic WriteBatch (synced per store_options): the group commit of the storage
  // actor. Later writes to a key win; a kv_write's ttl is ignored (see engine.hpp).
  // Throws std::runtime_error on a write error (then nothing was written and the next
  // commit reuses the same seqs).
  std::vector<std::uint64_t> commit(const std::vector<append_item>& items, const std::vector<kv_write>& writes) override;
  page read_page(const std::string& log, std::uint64_t after, std::size_t limit) const override;
  page read_seqs_page(const std::string& log, const std::vector<std::uint64_t>& seqs) const override;
  std::vector<entry> read_last(const std::string& log, std::size_t n) const override;
  std::uint64_t last_seq(const std::string& log) const override;
  // Reads the high-water keys only (which every append writes in its batch), so many
  // small logs (one per thread) do not grow the cache.
  std::vector<std::uint64_t> last_seqs(const std::vector<std::string>& logs) const override;
  std::uint64_t peek_last_seq(const std::string& log) const;
  std::uint64_t first_seq(const std::string& log) const override;
  // Entries are always a contiguous range [first_seq, last_seq], as only prefixes are
  // pruned.
  std::size_t prune_before(const std::string& log, std::uint64_t keep_from) override;

  // -- key/value -----------------------------------------------------------------------------
  void put(const std::string& key, std::string_view value) override;
  std::optional<std::string> get(const std::string& key) const override;
  void erase(const std::string& key) override;
  std::vector<std::pair<std::string, std::string>> scan(const std::string& prefix) const override;

  // -- rate limits -------------------------------------------------------------------------
  // In memory: RocksDB serves one process, so its windows are that process's.
  std::int64_t rate_take(const std::string& key, std::size_t limit, std::chrono::milliseconds window) override;

  // -- recovery ------------------------------------------------------------------------------
  // After a write error, makes the database take writes again if it can, and proves it
  // with a synced probe write. RocksDB stops writes after a failed WAL or flush write
  // (its background error); Resume() clears that once the cause is gone. A full disk
  // is resumable when space returns, but RocksDB resumes that one itself, once its
  // write-buffer reserve (128 MiB with our options) is free, and refuses a manual
  // Resume() meanwhile (reported as "recovering by itself"). An error RocksDB calls fatal (a WAL write that
  // failed with EFBIG, EDQUOT or a plain EIO) is not resumable: then the database is
  // closed and reopened, which replays the WAL up to its last whole write (every
  // acknowledged write was synced before the failed one). While a reopen fails, every
  // operation throws. Returns nullopt when writes work again, else why not.
  // Must not run concurrently with any other call on this store (the storage actor is
  // its only caller).
  std::optional<std::string> recover() override;

  // -- fault injection -----------------------------------------------------------------------
  // While on, every write (append, prune, put, erase) fails as an I/O error would:
  // nothing is written and std::runtime_error is thrown. For tests and the simulator.
  void inject_write_faults(bool on) override;

 private:
  std::uint64_t last_seq_locked(const std::string& escaped) const;  // needs mu_
  rocksdb::DB& db() const;  // throws while the database is closed (a failed reopen)
  void open();              // opens dir_ into db_; throws on failure

  std::string dir_;
  std::unique_ptr<rocksdb::DB> db_;
  store_options opts_;
  bool fail_writes_ = false;
  // Guards the cache and serialises writers (seq assignment + write + cache update).
  mutable std::mutex mu_;
  // Last seq of each log touched since open, keyed by escaped log name. Loaded lazily;
  // only advanced after a successful write.
  mutable std::unordered_map<std::string, std::uint64_t> last_cache_;
  // rate_take's windows: when each counted event happened, oldest first (under mu_).
  std::unordered_map<std::string, std::deque<std::chrono::steady_clock::time_point>> rate_windows_;
};

}  // namespace hub::storage
