#include "storage/store.hpp"

#include "storage/sliding_window.hpp"

#include "storage/keys.hpp"
#include "storage/info_log.hpp"

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <stdexcept>

namespace hub::storage {

namespace {

// -- key layout ----------------------------------------------------------------------------

constexpr char log_tag = 'l';   // l/<escaped log>/<seq>
constexpr char high_tag = 's';  // s/<escaped log>
constexpr char kv_tag = 'k';    // k/<key>

// Percent-encodes '%' and '/' so that an escaped name never contains '/'.
std::string escape(const std::string& name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c == '%')
      out += "%25";
    else if (c == '/')
      out += "%2F";
    else
      out += c;
  }
  return out;
}

void put_be64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

std::uint64_t get_be64(std::string_view bytes) {
  std::uint64_t v = 0;
  for (unsigned char c : bytes) v = (v << 8) | c;
  return v;
}

// "l/<esc>/"
std::string log_prefix(const std::string& esc) {
  std::string k;
  k.reserve(esc.size() + 3);
  k += log_tag;
  k += '/';
  k += esc;
  k += '/';
  return k;
}

// "l/<esc>0": just past every key of the log ('0' == '/' + 1).
std::string log_upper(const std::string& esc) {
  std::string k = log_prefix(esc);
  k.back() = static_cast<char>('/' + 1);
  return k;
}

std::string log_key(const std::string& esc, std::uint64_t seq) {
  std::string k = log_prefix(esc);
  put_be64(k, seq);
  return k;
}

std::string high_key(const std::string& esc) {
  std::string k;
  k.reserve(esc.size() + 2);
  k += high_tag;
  k += '/';
  k += esc;
  return k;
}

std::string kv_key(const std::string& key) {
  std::string k;
  k.reserve(key.size() + 2);
  k += kv_tag;
  k += '/';
  k += key;
  return k;
}

// The smallest string greater than every string starting with `prefix`. `prefix`
// must contain a byte other than 0xff (ours always start with a tag).
std::string prefix_successor(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

std::uint64_t seq_of(const rocksdb::Slice& key, std::size_t prefix_len) {
  return get_be64(std::string_view{key.data() + prefix_len, key.size() - prefix_len});
}

[[noreturn]] void fail(const char* what, const std::string& dir, const rocksdb::Status& s) {
  throw std::runtime_error(std::string{"storage: "} + what + " failed in '" + dir + "': " + s.ToString());
}

void check_iter(const rocksdb::Iterator& it, const char* what, const std::string& dir) {
  if (!it.status().ok()) fail(what, dir, it.status());
}

}  // namespace

// -- lifetime ------------------------------------------------------------------------------

store::store(const std::string& dir, store_options opts) : dir_(dir), opts_(opts) { open(); }

void store::open() {
  rocksdb::Options o;
  o.create_if_missing = true;
  // Our LOG writer: RocksDB's own aborts on a full disk (storage/info_log.hpp). The
  // directory must exist for it; RocksDB would create it.
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  o.info_log = std::make_shared<info_log>(dir_);
  o.IncreaseParallelism(2);
  o.OptimizeLevelStyleCompaction();
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(o, dir_, &raw);
  if (!s.ok()) throw std::runtime_error("storage: cannot open RocksDB database in '" + dir_ + "': " + s.ToString());
  db_.reset(raw);
}

rocksdb::DB& store::db() const {
  if (!db_)
    throw std::runtime_error("storage: the database in '" + dir_ + "' is closed after a write error; reopening");
  return *db_;
}

std::optional<std::string> store::recover() {
  std::lock_guard<std::mutex> guard{mu_};
  bool reopen = !db_;
  if (db_) {
    auto s = db_->Resume();  // OK at once when RocksDB holds no background error
    if (s.IsBusy()) return "RocksDB is recovering by itself";
    if (!s.ok() && s.severity() < rocksdb::Status::Severity::kFatalError)
      return "resume failed: " + s.ToString();  // e.g. still no space: stay read-only
    reopen = !s.ok();
  }
  if (reopen) {
    if (db_) {
      db_->Close().PermitUncheckedError();
      db_.reset();
    }
    // Seqs come from the database again: a write that failed after reaching the WAL
    // whole may be replayed, and its seqs must not be handed out twice.
    last_cache_.clear();
    try {
      open();
    } catch (const std::exception& e) {
      return std::string{e.what()};
    }
  }
  if (fail_writes_) return std::string{"probe write: injected write fault"};
  rocksdb::WriteOptions wo;
  wo.sync = opts_.sync;
  auto s = db_->Put(wo, kv_key(keys::storage_probe()), "ok");
  if (!s.ok()) return "probe write: " + s.ToString();
  return std::nullopt;
}

store::~store() {
  if (db_) db_->Close().PermitUncheckedError();
}

void store::inject_write_faults(bool on) {
  std::lock_guard<std::mutex> guard{mu_};
  fail_writes_ = on;
}

// -- logs ----------------------------------------------------------------------------------

std::uint64_t store::last_seq_locked(const std::string& esc) const {
  if (auto i = last_cache_.find(esc); i != last_cache_.end()) return i->second;
  std::uint64_t last = 0;
  // The high-water mark survives pruning.
  std::string hw;
  auto s = db().Get(rocksdb::ReadOptions{}, high_key(esc), &hw);
  if (s.ok())
    last = get_be64(hw);
  else if (!s.IsNotFound())
    fail("reading the last seq", dir_, s);
  // The newest entry (in case the high-water key is missing or behind).
  const std::string lower = log_prefix(esc);
  const rocksdb::Slice lower_slice{lower};
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower_slice;
  std::unique_ptr<rocksdb::Iterator> it{db().NewIterator(ro)};
  it->SeekForPrev(log_key(esc, std::numeric_limits<std::uint64_t>::max()));
  if (it->Valid()) last = std::max(last, seq_of(it->key(), lower.size()));
  check_iter(*it, "reading the last seq", dir_);
  last_cache_.emplace(esc, last);
  return last;
}

std::uint64_t store::peek_last_seq(const std::string& log) const {
  const auto esc = escape(log);
  {
    std::lock_guard<std::mutex> guard{mu_};
    if (auto i = last_cache_.find(esc); i != last_cache_.end()) return i->second;
  }
  std::string hw;
  auto s = db().Get(rocksdb::ReadOptions{}, high_key(esc), &hw);
  if (s.IsNotFound()) return 0;
  if (!s.ok()) fail("reading the last seq", dir_, s);
  return get_be64(hw);
}

std::vector<std::uint64_t> store::last_seqs(const std::vector<std::string>& logs) const {
  std::vector<std::uint64_t> out;
  out.reserve(logs.size());
  for (const auto& log : logs) out.push_back(peek_last_seq(log));
  return out;
}

std::vector<std::uint64_t> store::commit(const std::vector<append_item>& items, const std::vector<kv_write>& writes) {
  std::vector<std::uint64_t> seqs;
  if (items.empty() && writes.empty()) return seqs;
  seqs.reserve(items.size());
  std::lock_guard<std::mutex> guard{mu_};
  // Seqs assigned in this batch, by escaped log name; merged into the cache only once
  // the batch is durable.
  std::unordered_map<std::string, std::uint64_t> next;
  rocksdb::WriteBatch batch;
  for (const auto& item : items) {
    auto esc = escape(item.log);
    auto i = next.find(esc);
    if (i == next.end()) i = next.emplace(esc, last_seq_locked(esc)).first;
    const auto seq = ++i->second;
    seqs.push_back(seq);
    auto s = batch.Put(log_key(esc, seq), item.value);
    if (!s.ok()) fail("append", dir_, s);
    if (!item.index_log.empty()) {
      auto idx = escape(item.index_log);
      auto j = next.find(idx);
      if (j == next.end()) j = next.emplace(idx, last_seq_locked(idx)).first;
      s = batch.Put(log_key(idx, ++j->second), std::to_string(seq));
      if (!s.ok()) fail("append", dir_, s);
    }
  }
  for (const auto& [esc, last] : next) {
    std::string hw;
    put_be64(hw, last);
    auto s = batch.Put(high_key(esc), hw);
    if (!s.ok()) fail("append", dir_, s);
  }
  // only_if_larger: compared with what this batch wrote before, else with the database.
  std::unordered_map<std::string, std::uint64_t> larger;
  for (const auto& w : writes) {
    if (w.only_if_larger && w.value) {
      const auto v = std::strtoull(w.value->c_str(), nullptr, 10);
      auto it = larger.find(w.key);
      if (it == larger.end()) {
        std::string cur;
        auto g = db().Get(rocksdb::ReadOptions{}, kv_key(w.key), &cur);
        if (!g.ok() && !g.IsNotFound()) fail("append", dir_, g);
        it = larger.emplace(w.key, g.ok() ? std::strtoull(cur.c_str(), nullptr, 10) : 0).first;
      }
      if (v <= it->second) continue;
      it->second = v;
    } else {
      larger.erase(w.key);
    }
    auto s = w.value ? batch.Put(kv_key(w.key), *w.value) : batch.Delete(kv_key(w.key));
    if (!s.ok()) fail("append", dir_, s);
  }
  if (fail_writes_) fail("append", dir_, rocksdb::Status::IOError("injected write fault"));
  rocksdb::WriteOptions wo;
  wo.sync = opts_.sync;
  auto s = db().Write(wo, &batch);
  if (!s.ok()) fail("append", dir_, s);
  for (auto& [esc, last] : next) last_cache_[esc] = last;
  return seqs;
}

store::page store::read_page(const std::string& log, std::uint64_t after, std::size_t limit) const {
  page p;
  p.first_seq = first_seq(log);
  p.last_seq = last_seq(log);
  auto& out = p.entries;
  if (after == std::numeric_limits<std::uint64_t>::max()) return p;
  const auto esc = escape(log);
  const std::string prefix = log_prefix(esc);
  const std::string upper = log_upper(esc);
  const rocksdb::Slice upper_slice{upper};
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it{db().NewIterator(ro)};
  for (it->Seek(log_key(esc, after + 1)); it->Valid(); it->Next()) {
    if (out.size() >= limit) {
      p.has_more = true;
      break;
    }
    out.push_back(entry{seq_of(it->key(), prefix.size()), it->value().ToString()});
  }
  check_iter(*it, "read", dir_);
  return p;
}

store::page store::read_seqs_page(const std::string& log, const std::vector<std::uint64_t>& seqs) const {
  page p;
  p.first_seq = first_seq(log);
  p.last_seq = last_seq(log);
  auto& out = p.entries;
  const auto esc = escape(log);
  for (auto seq : seqs) {
    std::string value;
    auto s = db().Get(rocksdb::ReadOptions{}, log_key(esc, seq), &value);
    if (s.IsNotFound()) continue;
    if (!s.ok()) fail("reading entries", dir_, s);
    out.push_back(entry{seq, std::move(value)});
  }
  return p;
}

std::vector<store::entry> store::read_last(const std::string& log, std::size_t n) const {
  std::vector<entry> out;
  if (n == 0) return out;
  const auto esc = escape(log);
  const std::string lower = log_prefix(esc);
  const rocksdb::Slice lower_slice{lower};
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower_slice;
  std::unique_ptr<rocksdb::Iterator> it{db().NewIterator(ro)};
  for (it->SeekForPrev(log_key(esc, std::numeric_limits<std::uint64_t>::max())); it->Valid() && out.size() < n;
       it->Prev())
    out.push_back(entry{seq_of(it->key(), lower.size()), it->value().ToString()});
  check_iter(*it, "read_last", dir_);
  std::reverse(out.begin(), out.end());
  return out;
}

std::uint64_t store::last_seq(const std::string& log) const {
  std::lock_guard<std::mutex> guard{mu_};
  return last_seq_locked(escape(log));
}

std::uint64_t store::first_seq(const std::string& log) const {
  const auto esc = escape(log);
  const std::string prefix = log_prefix(esc);
  const std::string upper = log_upper(esc);
  const rocksdb::Slice upper_slice{upper};
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it{db().NewIterator(ro)};
  it->Seek(prefix);
  std::uint64_t first = 0;
  if (it->Valid()) first = seq_of(it->key(), prefix.size());
  check_iter(*it, "first_seq", dir_);
  return first;
}

std::size_t store::prune_before(const std::string& log, std::uint64_t keep_from) {
  std::lock_guard<std::mutex> guard{mu_};
  const auto first = first_seq(log);
  if (first == 0) return 0;
  const auto esc = escape(log);
  const auto last = last_seq_locked(esc);
  // Entries are contiguous: [first, last].
  const auto end = last == std::numeric_limits<std::uint64_t>::max() ? keep_from : std::min(keep_from, last + 1);
  if (end <= first) return 0;
  if (fail_writes_) fail("prune", dir_, rocksdb::Status::IOError("injected write fault"));
  rocksdb::WriteBatch batch;
  auto s = batch.DeleteRange(log_key(esc, first), log_key(esc, end));
  if (!s.ok()) fail("prune", dir_, s);
  rocksdb::WriteOptions wo;
  wo.sync = opts_.sync;
  s = db().Write(wo, &batch);
  if (!s.ok()) fail("prune", dir_, s);
  return static_cast<std::size_t>(end - first);
}

// -- key/value -----------------------------------------------------------------------------

void store::put(const std::string& key, std::string_view value) {
  {
    std::lock_guard<std::mutex> guard{mu_};
    if (fail_writes_) fail("put", dir_, rocksdb::Status::IOError("injected write fault"));
  }
  rocksdb::WriteOptions wo;
  wo.sync = opts_.sync;
  auto s = db().Put(wo, kv_key(key), rocksdb::Slice{value.data(), value.size()});
  if (!s.ok()) fail("put", dir_, s);
}

std::optional<std::string> store::get(const std::string& key) const {
  std::string value;
  auto s = db().Get(rocksdb::ReadOptions{}, kv_key(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) fail("get", dir_, s);
  return value;
}

void store::erase(const std::string& key) {
  {
    std::lock_guard<std::mutex> guard{mu_};
    if (fail_writes_) fail("erase", dir_, rocksdb::Status::IOError("injected write fault"));
  }
  rocksdb::WriteOptions wo;
  wo.sync = opts_.sync;
  auto s = db().Delete(wo, kv_key(key));
  if (!s.ok()) fail("erase", dir_, s);
}

std::vector<std::pair<std::string, std::string>> store::scan(const std::string& prefix) const {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string start = kv_key(prefix);
  const std::string upper = prefix_successor(start);
  const rocksdb::Slice upper_slice{upper};
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it{db().NewIterator(ro)};
  for (it->Seek(start); it->Valid(); it->Next()) {
    auto k = it->key();
    k.remove_prefix(2);  // "k/"
    out.emplace_back(k.ToString(), it->value().ToString());
  }
  check_iter(*it, "scan", dir_);
  return out;
}

// -- rate limits -------------------------------------------------------------------------------

std::int64_t store::rate_take(const std::string& key, std::size_t limit, std::chrono::milliseconds window) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> guard{mu_};
  return sliding_window_take(rate_windows_[key], now, limit, window);
}

}  // namespace hub::storage
