#include "apps/hub/log_feed.hpp"

#include <charconv>
#include <iterator>

namespace hub::app {

std::optional<log_publication> parse_log_publication(std::string payload) {
  auto first = payload.find(':');
  if (first == std::string::npos || first == 0 || first > 64) return std::nullopt;
  log_publication p;
  p.epoch = payload.substr(0, first);
  payload.erase(0, first + 1);
  auto colon = payload.find(':');
  if (colon == std::string::npos || colon == 0 || colon > 20) return std::nullopt;
  auto [end, ec] = std::from_chars(payload.data(), payload.data() + colon, p.seq);
  if (ec != std::errc{} || end != payload.data() + colon || p.seq == 0) return std::nullopt;
  payload.erase(0, colon + 1);
  p.value = std::move(payload);
  return p;
}

std::vector<log_order::entry> log_order::accept(std::uint64_t& last, std::uint64_t seq, std::string value) {
  std::vector<entry> ready;
  if (seq <= last) return ready;
  if (seq != last + 1) {
    early_.try_emplace(seq, waiting_entry{++arrivals_, std::move(value)});
    return ready;
  }
  ready.emplace_back(seq, std::move(value));
  last = seq;
  while (!early_.empty() && early_.begin()->first <= last + 1) {
    auto node = early_.extract(early_.begin());
    if (node.key() != last + 1) continue;  // a repeat of what was applied
    last = node.key();
    ready.emplace_back(node.key(), std::move(node.mapped().value));
  }
  return ready;
}

void log_order::drop_after(std::uint64_t seq, std::uint64_t ticket) {
  for (auto it = early_.upper_bound(seq); it != early_.end();)
    it = it->second.ticket <= ticket ? early_.erase(it) : std::next(it);
}

}  // namespace hub::app
