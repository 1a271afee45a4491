// Connection state recovery: the offset string clients echo back, and the session
// record kept in storage. Pure functions.
//
// An offset names, for every durable stream a session follows, the last entry the
// client received: "<epoch>~<stream>=<seq>~<stream>=<seq>...". Each client gets its own
// offset (appended to every event as the last argument), so that a reconnect says
// exactly where to resume in each stream; replay then reads only what was missed.
#pragma once

#include "protocol/json_args.hpp"
#include "storage/keys.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hub::recovery {

struct offset {
  std::string epoch;
  std::map<std::string, std::uint64_t> positions;  // stream -> last seq received
};

std::string format_offset(const std::string& epoch, const std::map<std::string, std::uint64_t>& positions);
// The same for the per-stream maximum of two position maps, without merging them into
// a third map first (this runs once per delivered event).
std::string format_offset(const std::string& epoch, const std::map<std::string, std::uint64_t>& a,
                          const std::map<std::string, std::uint64_t>& b);
// The same, appended to `out` (the per-delivery path builds it in place).
void append_offset(std::string& out, const std::string& epoch, const std::map<std::string, std::uint64_t>& a,
                   const std::map<std::string, std::uint64_t>& b);
// Updates an offset text made by append_offset after `stream` got `seq`: its number
// becomes the larger of the two. False if the text has no entry for `stream` (or the
// name needs escaping); the caller then formats the offset anew. Lets a connection keep
// its offset as text instead of walking its position maps for every delivery.
bool raise_offset(std::string& text, std::string_view stream, std::uint64_t seq);
std::optional<offset> parse_offset(const std::string& text);

struct session_record {
  std::string sid;
  std::string pid;
  std::string nsp;
  std::vector<std::string> rooms;
  std::map<std::string, std::uint64_t> joined_at;  // stream -> last seq when joined
  json data;                                       // application state
  std::int64_t updated_at_ms = 0;
  std::optional<std::int64_t> disconnected_at_ms;  // absent while connected / after a crash
  std::string node;  // the cluster node that wrote it ("" alone): whose heartbeat tells if it died
};

std::string encode_record(const session_record& r);
std::optional<session_record> decode_record(const std::string& text);

std::int64_t to_ms(std::chrono::system_clock::time_point t);

}  // namespace hub::recovery
