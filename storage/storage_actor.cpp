#include "storage/storage_actor.hpp"

#include "storage/storage_health.hpp"
#include "util/log.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <exception>
#include <iterator>
#include <optional>
#include <unordered_map>
#include <utility>

namespace hub {

namespace {

using store = storage::engine;
using clock_type = std::chrono::steady_clock;

struct storage_state {
  // -- state ---------------------------------------------------------------------------------
  std::shared_ptr<store> db;
  std::shared_ptr<storage::storage_stats> stats = std::make_shared<storage::storage_stats>();
  // Appends waiting for the next flush, their requesters and when they arrived (same order).
  std::vector<store::append_item> pending;
  std::vector<caf::response_promise> promises;
  std::vector<clock_type::time_point> queued;
  // Key/value writes waiting for the same flush (session records, read markers, ...),
  // their requesters, and how many are pending per key.
  std::vector<store::kv_write> pending_kv;
  std::vector<caf::response_promise> kv_promises;
  std::vector<clock_type::time_point> kv_queued;
  std::unordered_map<std::string, std::size_t> pending_keys;
  // Reads of a key with a write pending: answered once that write is durable, so that
  // a reader never sees a value that might still fail to commit, nor misses its own write.
  std::vector<std::pair<std::string, caf::response_promise>> waiting_reads;
  bool flush_scheduled = false;
  storage::storage_health health;
  bool recovery_armed = false;  // a recover_atom is on its way

  static inline const char* name = "hub.storage";
};

using storage_actor_ptr = storage::storage_actor::stateful_pointer<storage_state>;

caf::error storage_error(const std::exception& e) {
  return caf::make_error(caf::sec::runtime_error, std::string{e.what()});
}

void arm_recovery(storage_actor_ptr self) {
  auto& st = self->state;
  if (st.recovery_armed) return;
  st.recovery_armed = true;
  self->delayed_send(self, st.health.next_retry(), storage::recover_atom::value);
}

// A write or a recovery attempt failed: unhealthy until something succeeds.
void note_failure(storage_actor_ptr self, const std::string& what) {
  auto& st = self->state;
  const auto now = clock_type::now();
  const bool began = st.health.on_failure(what, now);
  st.stats->set_error(what);
  st.stats->healthy.store(false, std::memory_order_relaxed);
  if (auto n = st.health.warning_due(now)) {
    if (began)
      log::warn("storage: write failed, answering with errors and retrying recovery: ", what);
    else
      log::warn("storage: still failing after ",
                std::chrono::duration_cast<std::chrono::seconds>(st.health.episode_length(now)).count(), " s (", *n,
                " failures since the last warning): ", what);
  }
  arm_recovery(self);
}

// A write succeeded: if storage was failing, it is healthy again.
void note_success(storage_actor_ptr self) {
  auto& st = self->state;
  if (st.health.healthy()) return;
  const auto now = clock_type::now();
  const auto failures = st.health.episode_failures();
  const auto length = std::chrono::duration_cast<std::chrono::milliseconds>(st.health.episode_length(now));
  st.health.on_success(now);
  st.stats->set_error({});
  st.stats->healthy.store(true, std::memory_order_relaxed);
  st.stats->recoveries.fetch_add(1, std::memory_order_relaxed);
  log::info("storage: writes work again after ", length.count(), " ms and ", failures, " failures");
}

void schedule_flush(storage_actor_ptr self) {
  auto& st = self->state;
  if (st.flush_scheduled || (st.pending.empty() && st.pending_kv.empty())) return;
  st.flush_scheduled = true;
  // Lands behind every message already in the mailbox: appends queued meanwhile join
  // this batch.
  self->send(self, storage::flush_atom::value);
}

template <class T>
std::vector<T> take_front(std::vector<T>& from, std::size_t n) {
  std::vector<T> out;
  if (n == from.size()) {
    out.swap(from);
  } else {
    out.assign(std::make_move_iterator(from.begin()), std::make_move_iterator(from.begin() + n));
    from.erase(from.begin(), from.begin() + n);
  }
  return out;
}

// Answers the reads that waited for keys no longer pending.
void answer_waiting_reads(storage_actor_ptr self) {
  auto& st = self->state;
  std::vector<std::pair<std::string, caf::response_promise>> still;
  for (auto& [key, rp] : st.waiting_reads) {
    if (st.pending_keys.count(key)) {
      still.emplace_back(std::move(key), std::move(rp));
      continue;
    }
    try {
      auto v = st.db->get(key);
      if (v)
        rp.deliver(true, std::move(*v));
      else
        rp.deliver(false, std::string{});
    } catch (const std::exception& e) {
      rp.deliver(storage_error(e));
    }
  }
  st.waiting_reads.swap(still);
}

// Commits up to max_batch_items pending appends and as many key/value writes in one
// WriteBatch and answers their requesters; schedules another flush if more are waiting.
void flush_once(storage_actor_ptr self) {
  auto& st = self->state;
  const auto n = std::min(st.pending.size(), storage::max_batch_items);
  const auto k = std::min(st.pending_kv.size(), storage::max_batch_items);
  if (n == 0 && k == 0) return;
  auto batch = take_front(st.pending, n);
  auto promises = take_front(st.promises, n);
  auto queued = take_front(st.queued, n);
  auto writes = take_front(st.pending_kv, k);
  auto kv_promises = take_front(st.kv_promises, k);
  auto kv_queued = take_front(st.kv_queued, k);
  for (const auto& w : writes)
    if (auto it = st.pending_keys.find(w.key); it != st.pending_keys.end() && --it->second == 0)
      st.pending_keys.erase(it);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::uint64_t> seqs;
  try {
    seqs = st.db->commit(batch, writes);
  } catch (const std::exception& e) {
    st.stats->failed_batches.fetch_add(1, std::memory_order_relaxed);
    st.stats->write_errors.fetch_add(1, std::memory_order_relaxed);
    note_failure(self, e.what());
    auto err = storage_error(e);
    for (auto& rp : promises) rp.deliver(err);
    for (auto& rp : kv_promises) rp.deliver(err);
    answer_waiting_reads(self);
    return;
  }
  const auto t1 = std::chrono::steady_clock::now();
  note_success(self);
  auto& stats = *st.stats;
  stats.batches.fetch_add(1, std::memory_order_relaxed);
  stats.items.fetch_add(n, std::memory_order_relaxed);
  stats.kv_writes.fetch_add(k, std::memory_order_relaxed);
  stats.commit_latency.record(t1 - t0);
  for (auto q : queued) stats.write_latency.record(t1 - q);
  for (auto q : kv_queued) stats.write_latency.record(t1 - q);
  if (n > stats.max_batch.load(std::memory_order_relaxed)) stats.max_batch.store(n, std::memory_order_relaxed);
  for (std::size_t i = 0; i < n; ++i) promises[i].deliver(seqs[i]);
  for (auto& rp : kv_promises) rp.deliver(true);
  answer_waiting_reads(self);
}

// Queues a key/value write (value nullopt: erase) for the next group commit.
caf::result<bool> queue_kv(storage_actor_ptr self, std::string key, std::optional<std::string> value,
                           std::chrono::milliseconds ttl = std::chrono::milliseconds{0}, bool only_if_larger = false) {
  auto& st = self->state;
  auto rp = self->make_response_promise();
  ++st.pending_keys[key];
  st.pending_kv.push_back(store::kv_write{std::move(key), std::move(value), ttl, only_if_larger});
  st.kv_promises.push_back(rp);
  st.kv_queued.push_back(clock_type::now());
  schedule_flush(self);
  return rp;
}

storage::storage_actor::behavior_type storage_behavior(storage_actor_ptr self, std::shared_ptr<store> db) {
  self->state.db = std::move(db);
  // A regular exit request: commit what is pending (its requesters were promised an
  // answer), then leave.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    while (!self->state.pending.empty() || !self->state.pending_kv.empty()) flush_once(self);
    self->quit(std::move(msg.reason));
  });
  return {
    [self](storage::append_atom, std::string& log, std::string& value) -> caf::result<std::uint64_t> {
      auto& st = self->state;
      auto rp = self->make_response_promise();
      st.pending.push_back(store::append_item{std::move(log), std::move(value)});
      st.promises.push_back(rp);
      st.queued.push_back(clock_type::now());
      schedule_flush(self);
      return rp;
    },
    [self](storage::append_atom, std::string& log, std::string& value,
           std::string& index_log) -> caf::result<std::uint64_t> {
      auto& st = self->state;
      auto rp = self->make_response_promise();
      st.pending.push_back(store::append_item{std::move(log), std::move(value), std::move(index_log)});
      st.promises.push_back(rp);
      st.queued.push_back(clock_type::now());
      schedule_flush(self);
      return rp;
    },
    [self](storage::flush_atom) {
      auto& st = self->state;
      st.flush_scheduled = false;
      flush_once(self);
      schedule_flush(self);  // the rest beyond max_batch_items, if any
    },
    [self](storage::recover_atom) {
      auto& st = self->state;
      st.recovery_armed = false;
      if (st.health.healthy()) return;  // a write succeeded meanwhile
      std::optional<std::string> failed;
      try {
        failed = st.db->recover();
      } catch (const std::exception& e) {
        failed = std::string{e.what()};
      }
      if (failed)
        note_failure(self, "recovery: " + *failed);  // re-arms with a longer wait
      else
        note_success(self);
    },
    [self](storage::read_atom, const std::string& log, std::uint64_t after,
           std::uint64_t limit) -> caf::result<storage::read_result_ptr> {
      auto& db = *self->state.db;
      try {
        return storage::read_result_ptr{
          std::make_shared<storage::read_result>(db.read_page(log, after, static_cast<std::size_t>(limit)))};
      } catch (const std::exception& e) {
        return storage_error(e);
      }
    },
    [self](storage::read_seqs_atom, const std::string& log,
           const std::vector<std::uint64_t>& seqs) -> caf::result<storage::read_result_ptr> {
      auto& db = *self->state.db;
      try {
        return storage::read_result_ptr{std::make_shared<storage::read_result>(db.read_seqs_page(log, seqs))};
      } catch (const std::exception& e) {
        return storage_error(e);
      }
    },
    [self](storage::last_seqs_atom, const std::vector<std::string>& logs) -> caf::result<std::vector<std::uint64_t>> {
      try {
        return self->state.db->last_seqs(logs);
      } catch (const std::exception& e) {
        return storage_error(e);
      }
    },
    [self](storage::kv_scan_atom, const std::string& prefix) -> caf::result<storage::kv_scan_ptr> {
      try {
        return storage::kv_scan_ptr{std::make_shared<storage::kv_scan_result>(self->state.db->scan(prefix))};
      } catch (const std::exception& e) {
        return storage_error(e);
      }
    },
    [self](storage::last_seq_atom, const std::string& log) -> caf::result<std::uint64_t> {
      try {
        return self->state.db->last_seq(log);
      } catch (const std::exception& e) {
        return storage_error(e);
      }
    },
    [self](storage::kv_put_atom, std::string& key, std::string& value) -> caf::result<bool> {
      return queue_kv(self, std::move(key), std::move(value));
    },
    [self](storage::kv_put_atom, std::string& key, std::string& value, std::uint64_t ttl_ms) -> caf::result<bool> {
      return queue_kv(self, std::move(key), std::move(value), std::chrono::milliseconds{static_cast<std::int64_t>(ttl_ms)});
    },
    [self](storage::kv_max_atom, std::string& key, std::uint64_t n) -> caf::result<bool> {
      return queue_kv(self, std::move(key), std::to_string(n), std::chrono::milliseconds{0}, true);
    },
    [self](storage::kv_get_atom, const std::string& key) -> caf::result<bool, std::string> {
      if (self->state.pending_keys.count(key)) {
        auto rp = self->make_response_promise();
        self->state.waiting_reads.emplace_back(key, rp);
        return rp;
      }
      try {
        auto v = self->state.db->get(key);
        if (!v) return {false, std::string{}};
        return {true, std::move(*v)};
      } catch (const std::exception& e) {
        return storage_error(e);
      }
    },
    [self](storage::kv_erase_atom, std::string& key) -> caf::result<bool> {
      return queue_kv(self, std::move(key), std::nullopt);
    },
    [self](storage::prune_atom, const std::string& log, std::uint64_t keep_from) -> caf::result<std::uint64_t> {
      try {
        auto removed = static_cast<std::uint64_t>(self->state.db->prune_before(log, keep_from));
        if (removed > 0) note_success(self);  // 0: nothing was written
        return removed;
      } catch (const std::exception& e) {
        self->state.stats->write_errors.fetch_add(1, std::memory_order_relaxed);
        note_failure(self, e.what());
        return storage_error(e);
      }
    },
    [self](storage::rate_atom, const std::string& key, std::uint64_t limit,
           std::uint64_t window_ms) -> caf::result<std::int64_t> {
      try {
        return self->state.db->rate_take(key, static_cast<std::size_t>(limit),
                                         std::chrono::milliseconds{static_cast<std::int64_t>(window_ms)});
      } catch (const std::exception& e) {
        return storage_error(e);
      }
    },
    [self](storage::stats_atom) -> storage::storage_stats_ptr { return self->state.stats; },
  };
}

}  // namespace

storage::storage_actor spawn_storage_actor(caf::actor_system& sys, std::shared_ptr<storage::engine> db, bool detached) {
  if (detached) return sys.spawn<caf::detached>(storage_behavior, std::move(db));
  return sys.spawn(storage_behavior, std::move(db));
}

}  // namespace hub
