#include "storage/redis_store.hpp"

#include "storage/keys.hpp"
#include "util/random_id.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <stdexcept>

namespace hub::storage {

namespace {

// One commit: KEYS and ARGV as built by redis_store::commit().
//   ARGV[1] items, ARGV[2] key writes, ARGV[3] publish prefix ("" none), ARGV[4] an
//   epoch to set when there is none; then per item (value, has index "0"/"1", log
//   name), per write (op, value, ttl ms, hash field).
//   KEYS[1] the epoch key; then per item: seq, stream[, index seq, index stream]; per
//   write: its key.
// The epoch names the data's lifetime: gone only when Redis lost everything (a wipe, a
// restart without persistence), and then set anew by the first commit, so a node that
// remembers seqs from before can tell that they restarted (apps/hub/log_feed.hpp).
//   Ops: s = SET, d = DEL, h = HSET, x = HDEL, m = SET only if numerically larger.
// Returns the seq of each item. An error inside (a wrong type at a key) aborts with
// the commands before it applied, as Redis scripts do; our keys only ever hold the
// types written here.
constexpr const char* commit_script = R"lua(
local n, m, pub = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[4]
  redis.call('SET', KEYS[1], epoch)
end
local k, a, out = 2, 5, {}
for i = 1, n do
  local value, indexed, name = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  a = a + 3
  local seq = redis.call('INCR', KEYS[k])
  redis.call('XADD', KEYS[k + 1], seq .. '-0', 'v', value)
  k = k + 2
  if indexed == '1' then
    local iseq = redis.call('INCR', KEYS[k])
    redis.call('XADD', KEYS[k + 1], iseq .. '-0', 'v', tostring(seq))
    k = k + 2
  end
  if pub ~= '' then redis.call('PUBLISH', pub .. name, epoch .. ':' .. seq .. ':' .. value) end
  out[i] = seq
end
for j = 1, m do
  local op, value, ttl, field = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2]), ARGV[a + 3]
  a = a + 4
  if op == 's' then
    if ttl > 0 then redis.call('SET', KEYS[k], value, 'PX', ttl) else redis.call('SET', KEYS[k], value) end
  elseif op == 'm' then
    local cur = tonumber(redis.call('GET', KEYS[k]) or '0') or 0
    if tonumber(value) > cur then redis.call('SET', KEYS[k], value) end
  elseif op == 'd' then redis.call('DEL', KEYS[k])
  elseif op == 'h' then redis.call('HSET', KEYS[k], field, value)
  else redis.call('HDEL', KEYS[k], field) end
  k = k + 1
end
return out
)lua";

// rate_take(): KEYS[1] the window's sorted set; ARGV limit, window µs, a unique member.
// Returns 0 (counted) or the µs until the oldest event leaves the window.
constexpr const char* rate_script = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
  return 0
end
if limit == 0 then return window end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tonumber(oldest[2]) + window - now
)lua";

std::uint64_t decimal(const char* text, std::size_t len) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text, text + len, v);
  if (ec != std::errc{} || end == text) return 0;
  return v;
}

// "<seq>-0" -> seq.
std::uint64_t seq_of_id(const redisReply* id) {
  if (!id || id->type != REDIS_REPLY_STRING) return 0;
  return decimal(id->str, id->len);
}

std::string text_of(const redisReply* r) {
  if (!r) return "no reply";
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR)
    return std::string(r->str, r->len);
  return "unexpected reply";
}

// The entries of an XRANGE / XREVRANGE reply: [[id, [field, value, ...]], ...].
std::vector<engine::entry> entries_of(const redisReply* r) {
  std::vector<engine::entry> out;
  if (!r || r->type != REDIS_REPLY_ARRAY) return out;
  out.reserve(r->elements);
  for (std::size_t i = 0; i < r->elements; ++i) {
    const redisReply* e = r->element[i];
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 2) continue;
    const redisReply* fields = e->element[1];
    engine::entry entry{seq_of_id(e->element[0]), {}};
    if (fields->type == REDIS_REPLY_ARRAY && fields->elements >= 2 && fields->element[1]->type == REDIS_REPLY_STRING)
      entry.value.assign(fields->element[1]->str, fields->element[1]->len);
    out.push_back(std::move(entry));
  }
  return out;
}

// A GET of a seq key: its number, 0 when missing.
std::uint64_t seq_value(const redisReply* r) {
  if (!r) return 0;
  if (r->type == REDIS_REPLY_STRING) return decimal(r->str, r->len);
  if (r->type == REDIS_REPLY_INTEGER) return static_cast<std::uint64_t>(r->integer);
  return 0;
}

std::uint64_t first_of(const redisReply* r) {
  auto e = entries_of(r);
  return e.empty() ? 0 : e.front().seq;
}

std::string id_text(std::uint64_t seq) { return std::to_string(seq) + "-0"; }

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

void redis_store::reply_deleter::operator()(redisReply* r) const { freeReplyObject(r); }
void redis_store::context_deleter::operator()(redisContext* c) const { redisFree(c); }

redis_store::redis_store(redis_store_options opts) : opts_(std::move(opts)) {
  std::lock_guard<std::mutex> guard{mu_};
  connect();
}

redis_store::~redis_store() = default;

void redis_store::fail(const std::string& what) const {
  throw std::runtime_error("redis " + opts_.endpoint.display() + ": " + what);
}

void redis_store::connect() const {
  ctx_.reset();
  commit_sha_.clear();
  std::unique_ptr<redisContext, context_deleter> c{
    redisConnectWithTimeout(opts_.endpoint.host.c_str(), opts_.endpoint.port, to_timeval(opts_.connect_timeout))};
  if (!c) fail("cannot allocate a connection");
  if (c->err) fail(std::string("connect: ") + c->errstr);
  if (redisSetTimeout(c.get(), to_timeval(opts_.command_timeout)) != REDIS_OK) fail("cannot set the command timeout");
  ctx_ = std::move(c);
  std::vector<command> setup;
  if (!opts_.endpoint.password.empty()) {
    if (opts_.endpoint.user.empty())
      setup.push_back({"AUTH", opts_.endpoint.password});
    else
      setup.push_back({"AUTH", opts_.endpoint.user, opts_.endpoint.password});
  }
  if (opts_.endpoint.db != 0) setup.push_back({"SELECT", std::to_string(opts_.endpoint.db)});
  setup.push_back({"SCRIPT", "LOAD", commit_script});
  setup.push_back({"SCRIPT", "LOAD", rate_script});
  auto replies = pipeline(setup);
  for (const auto& r : replies)
    if (r->type == REDIS_REPLY_ERROR) {
      auto why = text_of(r.get());
      ctx_.reset();
      fail(why);
    }
  commit_sha_ = text_of(replies[replies.size() - 2].get());
  rate_sha_ = text_of(replies.back().get());
}

redis_store::reply_ptr redis_store::eval(const char* script, std::string& sha,
                                         const std::vector<std::string>& keys_and_args, std::size_t key_count) const {
  if (!ctx_) connect();
  auto build = [&] {
    command cmd{"EVALSHA", sha, std::to_string(key_count)};
    cmd.insert(cmd.end(), keys_and_args.begin(), keys_and_args.end());
    return cmd;
  };
  auto replies = pipeline({build()});
  if (replies.front()->type == REDIS_REPLY_ERROR && text_of(replies.front().get()).rfind("NOSCRIPT", 0) == 0) {
    // SCRIPT FLUSH or a Redis restart on the same connection: load it again. NOSCRIPT
    // means nothing ran, so sending it again cannot apply it twice.
    auto loaded = pipeline({{"SCRIPT", "LOAD", script}});
    if (loaded.front()->type == REDIS_REPLY_ERROR) fail(text_of(loaded.front().get()));
    sha = text_of(loaded.front().get());
    replies = pipeline({build()});
  }
  return std::move(replies.front());
}

std::int64_t redis_store::rate_take(const std::string& key, std::size_t limit, std::chrono::milliseconds window) {
  std::lock_guard<std::mutex> guard{mu_};
  auto r = eval(rate_script, rate_sha_,
                {opts_.key_prefix + ":rate:{" + key + "}", std::to_string(limit), std::to_string(window.count() * 1000),
                 random_id()},
                1);
  if (r->type == REDIS_REPLY_ERROR) fail("rate limit: " + text_of(r.get()));
  if (r->type != REDIS_REPLY_INTEGER) fail("rate limit: unexpected reply");
  if (r->integer <= 0) return 0;
  return std::max<std::int64_t>(1, (r->integer + 999) / 1000);
}

std::vector<redis_store::reply_ptr> redis_store::pipeline(const std::vector<command>& cmds) const {
  if (!ctx_) connect();
  for (const auto& cmd : cmds) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    argv.reserve(cmd.size());
    lens.reserve(cmd.size());
    for (const auto& a : cmd) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(ctx_.get(), static_cast<int>(argv.size()), argv.data(), lens.data()) != REDIS_OK) {
      std::string why = ctx_->errstr;
      ctx_.reset();
      fail(why);
    }
  }
  std::vector<reply_ptr> out;
  out.reserve(cmds.size());
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_.get(), &raw) != REDIS_OK || !raw) {
      std::string why = ctx_->errstr[0] ? ctx_->errstr : "connection lost";
      ctx_.reset();
      fail(why);
    }
    out.emplace_back(static_cast<redisReply*>(raw));
  }
  return out;
}

std::vector<redis_store::reply_ptr> redis_store::read_pipeline(const std::vector<command>& cmds) const {
  std::vector<reply_ptr> replies;
  try {
    replies = pipeline(cmds);
  } catch (const std::runtime_error&) {
    replies = pipeline(cmds);  // once more on a fresh connection; a second failure throws
  }
  for (const auto& r : replies)
    if (r->type == REDIS_REPLY_ERROR) fail(text_of(r.get()));
  return replies;
}

std::string redis_store::log_key(const std::string& log) const { return opts_.key_prefix + ":{" + log + "}:log"; }
std::string redis_store::seq_key(const std::string& log) const { return opts_.key_prefix + ":{" + log + "}:seq"; }

std::string redis_store::kv_name(const std::string& key, std::string* field) const {
  if (auto group = keys::scan_group(key)) {
    *field = key.substr(group->size());
    return opts_.key_prefix + ":kvh:{" + *group + "}";
  }
  field->clear();
  return opts_.key_prefix + ":kv:" + key;
}

std::vector<std::uint64_t> redis_store::commit(const std::vector<append_item>& items,
                                               const std::vector<kv_write>& writes) {
  std::vector<std::uint64_t> seqs;
  if (items.empty() && writes.empty()) return seqs;
  std::lock_guard<std::mutex> guard{mu_};
  if (fail_writes_) fail("injected write fault");
  std::string epoch_field;
  std::vector<std::string> key_names{kv_name(keys::epoch(), &epoch_field)};
  std::vector<std::string> args{std::to_string(items.size()), std::to_string(writes.size()), opts_.publish_prefix,
                                random_id().substr(0, 8)};
  for (const auto& item : items) {
    key_names.push_back(seq_key(item.log));
    key_names.push_back(log_key(item.log));
    if (!item.index_log.empty()) {
      key_names.push_back(seq_key(item.index_log));
      key_names.push_back(log_key(item.index_log));
    }
    args.push_back(item.value);
    args.push_back(item.index_log.empty() ? "0" : "1");
    args.push_back(item.log);
  }
  for (const auto& w : writes) {
    std::string field;
    key_names.push_back(kv_name(w.key, &field));
    const bool hashed = keys::scan_group(w.key).has_value();
    args.push_back(w.value ? (hashed ? "h" : (w.only_if_larger ? "m" : "s")) : (hashed ? "x" : "d"));
    args.push_back(w.value.value_or(std::string{}));
    args.push_back(std::to_string(std::max<std::int64_t>(0, w.ttl.count())));
    args.push_back(std::move(field));
  }
  std::vector<std::string> keys_and_args = std::move(key_names);
  const auto key_count = keys_and_args.size();
  keys_and_args.insert(keys_and_args.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  auto reply = eval(commit_script, commit_sha_, keys_and_args, key_count);
  const redisReply* r = reply.get();
  if (r->type == REDIS_REPLY_ERROR) fail("commit: " + text_of(r));
  if (r->type != REDIS_REPLY_ARRAY || r->elements != items.size()) fail("commit: unexpected reply");
  seqs.reserve(items.size());
  for (std::size_t i = 0; i < r->elements; ++i) seqs.push_back(static_cast<std::uint64_t>(r->element[i]->integer));
  return seqs;
}

engine::page redis_store::read_page(const std::string& log, std::uint64_t after, std::size_t limit) const {
  std::lock_guard<std::mutex> guard{mu_};
  page p;
  const bool none = after == std::numeric_limits<std::uint64_t>::max();
  std::vector<command> cmds{{"GET", seq_key(log)}, {"XRANGE", log_key(log), "-", "+", "COUNT", "1"}};
  if (!none) cmds.push_back({"XRANGE", log_key(log), id_text(after + 1), "+", "COUNT", std::to_string(limit + 1)});
  auto replies = read_pipeline(cmds);
  p.last_seq = seq_value(replies[0].get());
  p.first_seq = first_of(replies[1].get());
  if (none) return p;
  p.entries = entries_of(replies[2].get());
  if (p.entries.size() > limit) {
    p.entries.resize(limit);
    p.has_more = true;
  }
  return p;
}

engine::page redis_store::read_seqs_page(const std::string& log, const std::vector<std::uint64_t>& seqs) const {
  std::lock_guard<std::mutex> guard{mu_};
  page p;
  std::vector<command> cmds{{"GET", seq_key(log)}, {"XRANGE", log_key(log), "-", "+", "COUNT", "1"}};
  for (auto seq : seqs) cmds.push_back({"XRANGE", log_key(log), id_text(seq), id_text(seq)});
  auto replies = read_pipeline(cmds);
  p.last_seq = seq_value(replies[0].get());
  p.first_seq = first_of(replies[1].get());
  for (std::size_t i = 2; i < replies.size(); ++i)
    for (auto& e : entries_of(replies[i].get())) p.entries.push_back(std::move(e));
  return p;
}

std::vector<engine::entry> redis_store::read_last(const std::string& log, std::size_t n) const {
  if (n == 0) return {};
  std::lock_guard<std::mutex> guard{mu_};
  auto replies = read_pipeline({{"XREVRANGE", log_key(log), "+", "-", "COUNT", std::to_string(n)}});
  auto out = entries_of(replies.front().get());
  std::reverse(out.begin(), out.end());
  return out;
}

std::uint64_t redis_store::last_seq(const std::string& log) const {
  std::lock_guard<std::mutex> guard{mu_};
  return seq_value(read_pipeline({{"GET", seq_key(log)}}).front().get());
}

std::vector<std::uint64_t> redis_store::last_seqs(const std::vector<std::string>& logs) const {
  std::vector<std::uint64_t> out;
  if (logs.empty()) return out;
  std::lock_guard<std::mutex> guard{mu_};
  std::vector<command> cmds;
  cmds.reserve(logs.size());
  for (const auto& log : logs) cmds.push_back({"GET", seq_key(log)});
  for (const auto& r : read_pipeline(cmds)) out.push_back(seq_value(r.get()));
  return out;
}

std::uint64_t redis_store::first_seq(const std::string& log) const {
  std::lock_guard<std::mutex> guard{mu_};
  return first_of(read_pipeline({{"XRANGE", log_key(log), "-", "+", "COUNT", "1"}}).front().get());
}

std::size_t redis_store::prune_before(const std::string& log, std::uint64_t keep_from) {
  std::lock_guard<std::mutex> guard{mu_};
  if (fail_writes_) fail("injected write fault");
  if (keep_from <= 1) return 0;
  auto replies = pipeline({{"XTRIM", log_key(log), "MINID", id_text(keep_from)}});
  const redisReply* r = replies.front().get();
  if (r->type == REDIS_REPLY_ERROR) fail("prune: " + text_of(r));
  return r->type == REDIS_REPLY_INTEGER ? static_cast<std::size_t>(r->integer) : 0;
}

std::optional<std::string> redis_store::get(const std::string& key) const {
  std::lock_guard<std::mutex> guard{mu_};
  std::string field;
  auto name = kv_name(key, &field);
  const bool hashed = keys::scan_group(key).has_value();
  auto replies = read_pipeline({hashed ? command{"HGET", name, field} : command{"GET", name}});
  const redisReply* r = replies.front().get();
  if (r->type != REDIS_REPLY_STRING) return std::nullopt;
  return std::string(r->str, r->len);
}

std::vector<std::pair<std::string, std::string>> redis_store::scan(const std::string& prefix) const {
  auto group = keys::scan_group(prefix + "0");
  if (!group || *group != prefix) fail("scan of \"" + prefix + "\": only the prefixes of keys::scan_group() are kept");
  std::lock_guard<std::mutex> guard{mu_};
  std::string field;
  auto replies = read_pipeline({{"HGETALL", kv_name(prefix + "0", &field)}});
  std::vector<std::pair<std::string, std::string>> out;
  const redisReply* r = replies.front().get();
  if (r->type == REDIS_REPLY_ARRAY)
    for (std::size_t i = 0; i + 1 < r->elements; i += 2)
      out.emplace_back(prefix + text_of(r->element[i]), text_of(r->element[i + 1]));
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::string> redis_store::recover() {
  std::lock_guard<std::mutex> guard{mu_};
  try {
    if (fail_writes_) fail("injected write fault");
    connect();
    std::string field;
    auto replies = pipeline({{"SET", kv_name(keys::storage_probe(), &field), "1"}});
    if (replies.front()->type == REDIS_REPLY_ERROR) return text_of(replies.front().get());
    return std::nullopt;
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
}

void redis_store::inject_write_faults(bool on) {
  std::lock_guard<std::mutex> guard{mu_};
  fail_writes_ = on;
}

}  // namespace hub::storage
