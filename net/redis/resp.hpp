// RESP2, the protocol of Redis, with no I/O: commands formatted from their arguments and
// replies parsed from bytes as they arrive. The codec is hiredis's (redisFormatCommandArgv,
// and its redisReader with object functions of ours that build `reply` directly); see
// redis_link.hpp for why hiredis gives us the codec and nothing else.
//
// The reader is bounded: a hostile or broken server cannot make us hold more than about
// `max_reply_bytes` for one reply (bytes waiting plus what is already parsed), more than
// `max_elements` values in one reply, a line longer than `max_line_bytes`, or arrays
// nested beyond hiredis's 7 levels. Past a bound, or on bytes that are not RESP, the
// parser fails for good and says why; the connection is then closed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

struct redisReader;

namespace hub::redis {

struct reply;

struct status_reply {  // +OK
  std::string text;
};
struct error_reply {  // -ERR ..., -WRONGPASS ...
  std::string message;
};
using bulk_reply = std::optional<std::string>;  // $5 hello; nullopt: $-1 (and *-1, the nil array)
using array_reply = std::vector<reply>;

struct reply {
  std::variant<status_reply, error_reply, std::int64_t, bulk_reply, array_reply> value;

  const error_reply* error() const { return std::get_if<error_reply>(&value); }
  const std::int64_t* integer() const { return std::get_if<std::int64_t>(&value); }
  const std::string* bulk() const;  // null unless a non-nil bulk string
  const array_reply* array() const { return std::get_if<array_reply>(&value); }
  // A short rendering for logs and test failures: +OK, -ERR x, :3, $hello, $nil, [..].
  std::string describe() const;
};

// The command's wire form, binary-safe; nullopt when its arguments pass `max_command_bytes`
// (hiredis counts a command's length in an int).
constexpr std::size_t max_command_bytes = std::size_t{1} << 30;
std::optional<std::string> format_command(const std::vector<std::string_view>& argv);
std::optional<std::string> format_command(std::initializer_list<std::string_view> argv);

struct reply_limits {
  std::size_t max_reply_bytes = std::size_t{64} << 20;
  std::size_t max_elements = std::size_t{1} << 20;  // values in one reply, arrays' included
  std::size_t max_line_bytes = std::size_t{64} << 10;
  // hiredis's maxbuf: an emptied read buffer larger than this is released, so a burst's
  // buffer does not stay with an idle connection.
  std::size_t max_idle_buffer = std::size_t{128} << 10;
};

class reply_parser {
 public:
  explicit reply_parser(reply_limits limits = {});
  ~reply_parser();
  reply_parser(const reply_parser&) = delete;
  reply_parser& operator=(const reply_parser&) = delete;

  // Adds bytes from the server; false once the parser has failed.
  bool feed(std::string_view bytes);
  // The next complete reply, or nullopt: more bytes are needed, or the parser failed
  // (failed() then, and error() says why).
  std::optional<reply> next();

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

  // -- for the object functions that hiredis calls (resp.cpp) ----------------------------
  // A new value of the reply being built costs `bytes`; false (and the reason kept) past a bound.
  bool charge(std::size_t bytes, std::size_t elements);
  void refuse(std::string why);

 private:
  void check_waiting_bytes();  // after the last complete reply: what waits must stay bounded
  void fail(std::string why);

  reply_limits limits_;
  redisReader* reader_ = nullptr;
  std::size_t building_bytes_ = 0;     // of the values of the unfinished reply
  std::size_t building_elements_ = 0;  // ...and how many
  std::string refusal_;                // why an object function returned null
  std::string error_;
};

}  // namespace hub::redis
