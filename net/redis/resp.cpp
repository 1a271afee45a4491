#include "net/redis/resp.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <memory>
#include <new>
#include <utility>

namespace hub::redis {
namespace {

// A bulk string's header is its length: "-1" or at most 20 digits, then CRLF.
constexpr std::size_t max_bulk_header = 32;
// An array's first allocation, whatever count it announces: the rest grows as elements
// arrive, so a lying count costs nothing.
constexpr std::size_t max_array_reserve = 1024;

reply_parser& parser_of(const redisReadTask* task) { return *static_cast<reply_parser*>(task->privdata); }

// A root value is a new reply; a child is appended to its array (hiredis fills an array's
// elements in order, and holds on to a child only until its next sibling starts).
void* place(const redisReadTask* task, reply&& value) {
  if (task->parent) {
    auto& items = std::get<array_reply>(static_cast<reply*>(task->parent->obj)->value);
    items.push_back(std::move(value));
    return &items.back();
  }
  return new reply(std::move(value));
}

// Each value is counted once against max_elements: by the count its array announced, or
// as a root.
std::size_t own_count(const redisReadTask* task) { return task->parent ? 0 : 1; }

// hiredis is C: nothing may be thrown through it. A null return makes it fail the reader.
template <class F>
void* guarded(const redisReadTask* task, F&& make) noexcept {
  try {
    return make();
  } catch (const std::bad_alloc&) {
    parser_of(task).refuse("out of memory while parsing a Redis reply");
  } catch (const std::exception& e) {
    parser_of(task).refuse(std::string("could not build a Redis reply: ") + e.what());
  }
  return nullptr;
}

void* create_string(const redisReadTask* task, char* str, size_t len) {
  return guarded(task, [&]() -> void* {
    if (!parser_of(task).charge(len + sizeof(reply), own_count(task))) return nullptr;
    reply r;
    if (task->type == REDIS_REPLY_ERROR)
      r.value = error_reply{std::string(str, len)};
    else if (task->type == REDIS_REPLY_STATUS)
      r.value = status_reply{std::string(str, len)};
    else
      r.value = bulk_reply{std::string(str, len)};
    return place(task, std::move(r));
  });
}

void* create_array(const redisReadTask* task, int elements) {
  return guarded(task, [&]() -> void* {
    auto& parser = parser_of(task);
    auto count = static_cast<std::size_t>(std::max(elements, 0));
    if (!parser.charge(sizeof(reply), own_count(task) + count)) return nullptr;
    array_reply items;
    items.reserve(std::min(count, max_array_reserve));
    return place(task, reply{std::move(items)});
  });
}

void* create_integer(const redisReadTask* task, long long value) {
  return guarded(task, [&]() -> void* {
    if (!parser_of(task).charge(sizeof(reply), own_count(task))) return nullptr;
    return place(task, reply{static_cast<std::int64_t>(value)});
  });
}

void* create_nil(const redisReadTask* task) {
  return guarded(task, [&]() -> void* {
    if (!parser_of(task).charge(sizeof(reply), own_count(task))) return nullptr;
    return place(task, reply{bulk_reply{}});
  });
}

// Only ever called on a root (hiredis frees r->reply, the reply being built): its
// elements go with it.
void free_object(void* obj) { delete static_cast<reply*>(obj); }

redisReplyObjectFunctions reply_functions{create_string, create_array, create_integer, create_nil, free_object};

std::string size_text(std::size_t bytes) {
  if (bytes >= (std::size_t{1} << 20) && bytes % (std::size_t{1} << 20) == 0)
    return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

const std::string* reply::bulk() const {
  auto* b = std::get_if<bulk_reply>(&value);
  return b && *b ? &**b : nullptr;
}

std::string reply::describe() const {
  constexpr std::size_t shown = 64;
  auto clip = [](const std::string& s) { return s.size() > shown ? s.substr(0, shown) + "..." : s; };
  if (auto* s = std::get_if<status_reply>(&value)) return "+" + clip(s->text);
  if (auto* e = error()) return "-" + clip(e->message);
  if (auto* i = integer()) return ":" + std::to_string(*i);
  if (auto* b = std::get_if<bulk_reply>(&value)) return *b ? "$" + clip(**b) : "$nil";
  std::string out = "[";
  const auto& items = *array();
  for (std::size_t i = 0; i < items.size() && i < 8; ++i) out += (i ? ", " : "") + items[i].describe();
  if (items.size() > 8) out += ", ... (" + std::to_string(items.size()) + " elements)";
  return out + "]";
}

std::optional<std::string> format_command(const std::vector<std::string_view>& argv) {
  std::size_t total = 16;
  std::vector<const char*> data;
  std::vector<std::size_t> sizes;
  data.reserve(argv.size());
  sizes.reserve(argv.size());
  for (auto a : argv) {
    total += a.size() + 16;
    data.push_back(a.data());
    sizes.push_back(a.size());
  }
  if (total > max_command_bytes || argv.empty()) return std::nullopt;
  char* command = nullptr;
  int size = redisFormatCommandArgv(&command, static_cast<int>(argv.size()), data.data(), sizes.data());
  if (size < 0) throw std::bad_alloc();
  std::unique_ptr<char, void (*)(char*)> owned(command, redisFreeCommand);
  return std::string(command, static_cast<std::size_t>(size));
}

std::optional<std::string> format_command(std::initializer_list<std::string_view> argv) {
  return format_command(std::vector<std::string_view>(argv));
}

reply_parser::reply_parser(reply_limits limits) : limits_(limits) {
  reader_ = redisReaderCreateWithFunctions(&reply_functions);
  if (!reader_) throw std::bad_alloc();
  reader_->maxbuf = limits_.max_idle_buffer;
  reader_->privdata = this;  // redisReaderSetPrivdata casts it to int, which C++ refuses
}

reply_parser::~reply_parser() { redisReaderFree(reader_); }

bool reply_parser::feed(std::string_view bytes) {
  if (failed()) return false;
  if (redisReaderFeed(reader_, bytes.data(), bytes.size()) != REDIS_OK) fail("out of memory reading from Redis");
  return !failed();
}

std::optional<reply> reply_parser::next() {
  if (failed()) return std::nullopt;
  void* out = nullptr;
  if (redisReaderGetReply(reader_, &out) != REDIS_OK) {
    std::string_view what = reader_->errstr;
    if (what.substr(0, 16) == "Protocol error, ") what.remove_prefix(16);  // said once is enough
    fail(!refusal_.empty() ? refusal_ : "Redis protocol error: " + std::string(what));
    return std::nullopt;
  }
  if (!out) {
    check_waiting_bytes();
    return std::nullopt;
  }
  std::unique_ptr<reply> done(static_cast<reply*>(out));
  building_bytes_ = 0;
  building_elements_ = 0;
  return std::move(*done);
}

bool reply_parser::charge(std::size_t bytes, std::size_t elements) {
  building_bytes_ += bytes;
  building_elements_ += elements;
  if (building_elements_ > limits_.max_elements) {
    refuse("a Redis reply with more than " + std::to_string(limits_.max_elements) + " elements");
    return false;
  }
  if (building_bytes_ > limits_.max_reply_bytes) {
    refuse("a Redis reply larger than " + size_text(limits_.max_reply_bytes));
    return false;
  }
  return true;
}

void reply_parser::refuse(std::string why) {
  if (refusal_.empty()) refusal_ = std::move(why);
}

void reply_parser::check_waiting_bytes() {
  std::size_t waiting = reader_->len - reader_->pos;
  if (building_bytes_ + waiting > limits_.max_reply_bytes)
    return fail("a Redis reply larger than " + size_text(limits_.max_reply_bytes));
  if (reader_->ridx < 0 || waiting == 0) return;
  // hiredis looks for a line's end from its start again on every read: a line must end soon.
  const redisReadTask& task = reader_->rstack[reader_->ridx];
  std::string_view rest(reader_->buf + reader_->pos, waiting);
  if (task.type == REDIS_REPLY_STRING) {
    if (waiting >= max_bulk_header && rest.substr(0, max_bulk_header).find("\r\n") == std::string_view::npos)
      fail("Redis protocol error: a bulk string length line longer than " + std::to_string(max_bulk_header) + " bytes");
  } else if (task.type >= 0 && waiting > limits_.max_line_bytes) {
    fail("Redis protocol error: a line longer than " + size_text(limits_.max_line_bytes));
  }
}

void reply_parser::fail(std::string why) {
  if (error_.empty()) error_ = std::move(why);
}

}  // namespace hub::redis
