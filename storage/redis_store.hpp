// The cluster storage engine (storage/engine.hpp) on Redis: every node of a cluster
// stores into the same Redis, so a room's seq is assigned once cluster-wide, and any
// node reads any log, session record or marker (docs/cluster.md, "Durable state").
//
// Layout (P = --redis-key-prefix; {...} is a hash tag, one per log, so that a Redis
// Cluster could spread the logs over its slots):
//   P:{<log>}:log     stream; entry id "<seq>-0", one field "v" holding the value
//   P:{<log>}:seq     the log's high-water seq (INCR), kept when the stream is trimmed
//   P:kv:<key>        string, for keys nobody scans (PX when a ttl is given)
//   P:kvh:{<group>}   hash, field = the key without its group (keys::scan_group())
//   P:rate:{<key>}    sorted set, rate_take()'s window (score = Redis time in µs)
// A commit is one EVALSHA of one Lua script (redis_store.cpp): it INCRs each
// log's seq, XADDs the entry (and its index entry), PUBLISHes it and applies the key
// writes, atomically: two nodes never get one seq, and no stored entry is left
// unpublished. With `appendfsync always`, Redis answers after its AOF write is synced.
//
// Publication: with `publish_prefix` set, each appended entry (index logs excepted) goes
// to channel `<publish_prefix><log>` as "<epoch>:<seq>:<value>", for the nodes' room
// actors (apps/hub/log_feed.hpp). The epoch is keys::epoch()'s value, which the script
// sets anew when Redis lost it: seqs that start again at 1 are told from repeats.
//
// Connection: hiredis's blocking API, one connection, with connect and command
// timeouts. The storage actor is detached and already blocks on an fsync with RocksDB;
// a Redis round trip is the same kind of wait. Reads reconnect and retry once; a commit
// is never retried: a connection lost after sending leaves the outcome unknown, and the
// requester gets an error (its message may still have been stored and published: at
// least once, never lost once acknowledged).
#pragma once

#include "storage/engine.hpp"
#include "util/redis_url.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct redisContext;
struct redisReply;

namespace hub::storage {

struct redis_store_options {
  redis_endpoint endpoint;
  std::string key_prefix = "socket.io";  // P above
  std::string publish_prefix;            // empty: appends are not published
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{5000};
};

class redis_store final : public engine {
 public:
  // Connects at once; throws std::runtime_error when Redis cannot be reached.
  explicit redis_store(redis_store_options opts);
  ~redis_store() override;
  redis_store(const redis_store&) = delete;
  redis_store& operator=(const redis_store&) = delete;

  std::string describe() const override { return "redis " + opts_.endpoint.display(); }

  std::vector<std::uint64_t> commit(const std::vector<append_item>& items, const std::vector<kv_write>& writes) override;
  page read_page(const std::string& log, std::uint64_t after, std::size_t limit) const override;
  page read_seqs_page(const std::string& log, const std::vector<std::uint64_t>& seqs) const override;
  std::vector<entry> read_last(const std::string& log, std::size_t n) const override;
  std::uint64_t last_seq(const std::string& log) const override;
  std::vector<std::uint64_t> last_seqs(const std::vector<std::string>& logs) const override;
  std::uint64_t first_seq(const std::string& log) const override;
  std::size_t prune_before(const std::string& log, std::uint64_t keep_from) override;
  std::optional<std::string> get(const std::string& key) const override;
  // Only the prefixes keys::scan_group() names; another prefix throws.
  std::vector<std::pair<std::string, std::string>> scan(const std::string& prefix) const override;
  // One EVALSHA: a sorted set per key of the events' times (Redis's TIME, in µs),
  // trimmed to the window, expiring with it.
  std::int64_t rate_take(const std::string& key, std::size_t limit, std::chrono::milliseconds window) override;
  std::optional<std::string> recover() override;
  void inject_write_faults(bool on) override;

  // The Redis key names above (for tests and docs).
  std::string log_key(const std::string& log) const;
  std::string seq_key(const std::string& log) const;

  struct reply_deleter {
    void operator()(redisReply* r) const;
  };
  using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

 private:
  struct context_deleter {
    void operator()(redisContext* c) const;
  };
  using command = std::vector<std::string>;

  // Sends every command in one write and reads their replies in order. A connection
  // error drops the connection and throws; an error reply is returned as it is.
  std::vector<reply_ptr> pipeline(const std::vector<command>& cmds) const;
  // pipeline() for reads: reconnects and retries once after a connection error, and
  // throws on an error reply.
  std::vector<reply_ptr> read_pipeline(const std::vector<command>& cmds) const;
  void connect() const;  // needs mu_; throws
  [[noreturn]] void fail(const std::string& what) const;
  std::string kv_name(const std::string& key, std::string* field) const;

  redis_store_options opts_;
  mutable std::mutex mu_;
  mutable std::unique_ptr<redisContext, context_deleter> ctx_;
  mutable std::string commit_sha_;  // SCRIPT LOAD's answers, per connection
  mutable std::string rate_sha_;
  // EVALSHA of `script` (loaded as *sha), loading it again after a NOSCRIPT.
  reply_ptr eval(const char* script, std::string& sha, const std::vector<std::string>& keys_and_args,
                 std::size_t key_count) const;
  bool fail_writes_ = false;
};

}  // namespace hub::storage
