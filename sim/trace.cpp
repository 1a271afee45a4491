#include "sim/trace.hpp"

#include <cstdio>
#include <stdexcept>

namespace hub::sim {
namespace {
constexpr std::size_t ring_size = 60;
constexpr std::size_t client_ring_size = 20;
}  // namespace

trace::trace(const std::string& path) {
  if (path.empty()) return;
  file_ = std::make_unique<std::ofstream>(path, std::ios::binary | std::ios::trunc);
  if (!*file_) throw std::runtime_error("cannot write trace file " + path);
}

void trace::mix(std::string_view bytes) {
  for (unsigned char c : bytes) {
    h_ ^= c;
    h_ *= 0x100000001b3ULL;
  }
}

void trace::emit(nanos t, int client, std::string_view kind, std::string_view body) {
  char head[96];
  // Microseconds: latencies are sub-millisecond, and the trace must tell them apart.
  int n = std::snprintf(head, sizeof head, "{\"t\":%lld,\"c\":%d,\"ev\":\"", static_cast<long long>(t / 1000), client);
  std::string line(head, static_cast<std::size_t>(n));
  line += kind;
  line += '"';
  if (!body.empty()) {
    line += ',';
    line += body;
  }
  line += '}';
  mix(line);
  mix("\n");
  ++n_;
  if (file_) *file_ << line << '\n';
  if (client >= 0) {
    if (per_client_.size() <= static_cast<std::size_t>(client))
      per_client_.resize(static_cast<std::size_t>(client) + 1);
    auto& r = per_client_[static_cast<std::size_t>(client)];
    r.push_back(line);
    if (r.size() > client_ring_size) r.pop_front();
  }
  ring_.push_back(std::move(line));
  if (ring_.size() > ring_size) ring_.pop_front();
}

std::string trace::hash_hex() const {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h_));
  return buf;
}

std::vector<std::string> trace::recent(std::size_t n) const {
  std::size_t from = ring_.size() > n ? ring_.size() - n : 0;
  return {ring_.begin() + static_cast<std::ptrdiff_t>(from), ring_.end()};
}

std::vector<std::string> trace::recent_of(int client) const {
  if (client < 0 || static_cast<std::size_t>(client) >= per_client_.size()) return {};
  const auto& r = per_client_[static_cast<std::size_t>(client)];
  return {r.begin(), r.end()};
}

void trace::flush() {
  if (file_) file_->flush();
}

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  out += '"';
  return out;
}

}  // namespace hub::sim
