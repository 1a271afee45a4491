// The storage actor: owns one storage engine (storage/engine.hpp: RocksDB or Redis) and
// serialises access to it, so that no other actor touches the engine. Appends are group-committed: every append that reaches
// the mailbox before the pending flush is written in one WriteBatch (one fsync), and
// each requester is answered only once that batch is durable.
//
// Protocol: the typed interface `storage_actor` below; the compiler checks every
// request and every response handler against it.
//
// Errors: a failed write or read answers with
//   caf::make_error(caf::sec::runtime_error, "<what RocksDB said>")
// For a failed batch, *every* append of that batch gets this error and none of them
// was written (the batch is atomic); the seqs are reused by the next batch.
//
// Health: a failed write (batch or prune) marks the storage unhealthy in storage_stats
// (healthy, error(), write_errors) and arms recovery: store::recover() (RocksDB's
// Resume(), or a reopen after a fatal error, then a probe write) is retried with
// exponential back-off, 100 ms up to 5 s, until it succeeds; so does any write that
// succeeds meanwhile. Warnings are logged at the first failure and then at most once
// per 10 s, with a count; the recovery once, at info. Requests are never refused
// up front while unhealthy: each one tries RocksDB, which fails fast while stopped.
//
// Ordering: appends to one log get seqs in the order they reached the mailbox. Reads,
// last_seq and kv operations see only durable data: an append still waiting for its
// flush is invisible until its requester has been answered. kv puts and erases join the
// same group commit (one WriteBatch, one fsync with the appends); a kv_get of a key
// with a write pending waits for that flush, so a writer always reads its own write.
//
// Spawn detached in hub-server (an fsync must not block a CAF worker) and non-detached
// under the test coordinator / hub-sim (a detached actor escapes the virtual scheduler).
#pragma once

#include "storage/engine.hpp"
#include "util/latency_histogram.hpp"

#include <caf/actor.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>
#include <caf/allowed_unsafe_message_type.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace hub::storage {

// The timeout of requests to the storage actor: none. It is local and answers every
// request (a failed write or read answers with an error); if it terminates, CAF answers
// its pending requests with `request_receiver_down`. A timer per request would cost a
// clock-thread wake-up per message and keep ~200 bytes per request for its duration.
inline constexpr caf::infinite_t request_timeout{};

// -- messages ------------------------------------------------------------------------------

using append_atom = caf::atom_constant<caf::atom("st_append")>;
using read_atom = caf::atom_constant<caf::atom("st_read")>;
using last_seq_atom = caf::atom_constant<caf::atom("st_last")>;
using kv_put_atom = caf::atom_constant<caf::atom("st_kvput")>;
using kv_get_atom = caf::atom_constant<caf::atom("st_kvget")>;
using kv_erase_atom = caf::atom_constant<caf::atom("st_kverase")>;
using stats_atom = caf::atom_constant<caf::atom("st_stats")>;
using prune_atom = caf::atom_constant<caf::atom("st_prune")>;  // log, keep_from -> removed
using read_seqs_atom = caf::atom_constant<caf::atom("st_rseqs")>;
using last_seqs_atom = caf::atom_constant<caf::atom("st_lasts")>;
using kv_scan_atom = caf::atom_constant<caf::atom("st_kvscan")>;
using rate_atom = caf::atom_constant<caf::atom("st_rate")>;
using kv_max_atom = caf::atom_constant<caf::atom("st_kvmax")>;
using flush_atom = caf::atom_constant<caf::atom("st_flush")>;    // internal
using recover_atom = caf::atom_constant<caf::atom("st_recov")>;  // internal: a recovery attempt

// Entries with seq > after (or the seqs asked), and where the log stands.
using read_result = engine::page;
using read_result_ptr = std::shared_ptr<const read_result>;

using kv_scan_result = std::vector<std::pair<std::string, std::string>>;
using kv_scan_ptr = std::shared_ptr<const kv_scan_result>;

// Counters, updated by the actor, readable from any thread (metrics, tests).
struct storage_stats {
  std::atomic<std::uint64_t> batches{0};         // committed append batches
  std::atomic<std::uint64_t> items{0};           // committed appends
  std::atomic<std::uint64_t> kv_writes{0};       // committed key/value puts and erases
  std::atomic<std::uint64_t> failed_batches{0};  // batches whose write failed
  std::atomic<std::uint64_t> max_batch{0};       // largest committed batch
  std::atomic<std::uint64_t> write_errors{0};    // failed writes: batches and prunes
  std::atomic<std::uint64_t> recoveries{0};      // failure episodes that ended
  std::atomic<bool> healthy{true};               // false from a failed write to a good one
  // One group commit: the synced WriteBatch (write + fsync).
  metrics::latency_histogram commit_latency;
  // One append, put or erase: from reaching the actor to durable (the group-commit wait
  // included), what its requester waits for.
  metrics::latency_histogram write_latency;

  // The latest write error while unhealthy ("" when healthy).
  std::string error() const {
    std::lock_guard<std::mutex> guard{mu_};
    return error_;
  }
  void set_error(std::string e) {
    std::lock_guard<std::mutex> guard{mu_};
    error_ = std::move(e);
  }

 private:
  mutable std::mutex mu_;
  std::string error_;
};
using storage_stats_ptr = std::shared_ptr<const storage_stats>;

// Appends committed per WriteBatch at most; the rest wait for the next flush.
inline constexpr std::size_t max_batch_items = 256;

// The storage actor's whole protocol. Each request is answered once what it asks is
// durable (writes) or read; an error answers caf::sec::runtime_error (above).
using storage_actor = caf::typed_actor<
  // (log, value) -> seq
  caf::replies_to<append_atom, std::string, std::string>::with<std::uint64_t>,
  // (log, value, index log) -> seq; also appends the seq to the index log, same batch
  caf::replies_to<append_atom, std::string, std::string, std::string>::with<std::uint64_t>,
  // (log, after, limit) -> entries with seq > after, at most limit
  caf::replies_to<read_atom, std::string, std::uint64_t, std::uint64_t>::with<read_result_ptr>,
  // (log, seqs) -> those of the entries that exist
  caf::replies_to<read_seqs_atom, std::string, std::vector<std::uint64_t>>::with<read_result_ptr>,
  // (log) -> its last durable seq (0: empty)
  caf::replies_to<last_seq_atom, std::string>::with<std::uint64_t>,
  // (logs) -> the last seq of each
  caf::replies_to<last_seqs_atom, std::vector<std::string>>::with<std::vector<std::uint64_t>>,
  // (key, value) -> true once durable
  caf::replies_to<kv_put_atom, std::string, std::string>::with<bool>,
  // (key, value, ttl in ms) -> true once durable; the engine may forget it after ttl
  caf::replies_to<kv_put_atom, std::string, std::string, std::uint64_t>::with<bool>,
  // (key, n) -> true once durable; the key's decimal value becomes n only if n is larger
  caf::replies_to<kv_max_atom, std::string, std::uint64_t>::with<bool>,
  // (key) -> (found, value)
  caf::replies_to<kv_get_atom, std::string>::with<bool, std::string>,
  // (key) -> true once durable
  caf::replies_to<kv_erase_atom, std::string>::with<bool>,
  // (prefix) -> every key/value under it, in key order
  caf::replies_to<kv_scan_atom, std::string>::with<kv_scan_ptr>,
  // (key, limit, window ms) -> 0 when counted, else the ms to wait (engine::rate_take)
  caf::replies_to<rate_atom, std::string, std::uint64_t, std::uint64_t>::with<std::int64_t>,
  // (log, keep_from) -> entries removed (retention: seq < keep_from)
  caf::replies_to<prune_atom, std::string, std::uint64_t>::with<std::uint64_t>,
  caf::replies_to<stats_atom>::with<storage_stats_ptr>,
  // internal: the group commit's flush, and a recovery attempt after a failed write
  caf::reacts_to<flush_atom>, caf::reacts_to<recover_atom>>;

}  // namespace hub::storage

namespace hub {

storage::storage_actor spawn_storage_actor(caf::actor_system& sys, std::shared_ptr<storage::engine> db, bool detached);

}  // namespace hub

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hub::storage::read_result_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hub::storage::storage_stats_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hub::storage::kv_scan_ptr)
