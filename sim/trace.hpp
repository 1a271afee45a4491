// The event trace: one JSON object per line. Every line feeds the run's hash (FNV-1a
// 64), is written to --trace FILE when given, and is kept in short rings so that a
// violation can show the events that led to it.
#pragma once

#include "sim/event_queue.hpp"

#include <cstdint>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hub::sim {

class trace {
 public:
  explicit trace(const std::string& path = {});

  // `client` < 0: not about one client. `line` is a JSON object without the time.
  void emit(nanos t, int client, std::string_view kind, std::string_view body);
  // Feeds bytes to the hash only (e.g. the full text of every received packet).
  void mix(std::string_view bytes);

  std::uint64_t hash() const { return h_; }
  std::string hash_hex() const;
  std::uint64_t lines() const { return n_; }

  // The last lines overall and about one client, oldest first.
  std::vector<std::string> recent(std::size_t n) const;
  std::vector<std::string> recent_of(int client) const;

  void flush();

 private:
  std::unique_ptr<std::ofstream> file_;
  std::uint64_t h_ = 0xcbf29ce484222325ULL;
  std::uint64_t n_ = 0;
  std::deque<std::string> ring_;
  std::vector<std::deque<std::string>> per_client_;  // by client index
};

std::string json_escape(std::string_view s);

}  // namespace hub::sim
