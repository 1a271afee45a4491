#include "sim/invariants.hpp"

#include <iterator>

namespace hub::sim {

void invariants::acked(int client, const std::string& user, const std::string& project, std::uint64_t seq,
                       const std::string& id, nanos server_t, int incarnation) {
  auto [it, fresh] = acked_[project].emplace(seq, id);
  if (!fresh && it->second != id)
    fail("acked-durable", "two acknowledged messages share " + project + "#" + std::to_string(seq), client, server_t);
  // Rate limit: the limiter lives in the user actor, so it holds per server lifetime (a
  // restart forgets it; docs/simulation.md).
  auto& times = accepted_[std::to_string(incarnation) + "/" + user];
  auto pos = times.insert(server_t);
  // Any COUNT+1 accepted messages must span at least WINDOW: look at the windows
  // that contain the new one.
  auto lo = pos;
  for (std::size_t i = 0; i < rate_count_ && lo != times.begin(); ++i) --lo;
  for (auto a = lo; a != std::next(pos); ++a) {
    auto b = a;
    std::size_t k = 0;
    for (; k < rate_count_ && b != times.end(); ++k) ++b;
    if (b == times.end()) break;
    if (*b - *a < rate_window_)
      fail("rate-limit",
           "user " + user + " had " + std::to_string(rate_count_ + 1) + " messages accepted within " +
             std::to_string((*b - *a) / 1'000'000) + " ms",
           client, server_t);
  }
}

void invariants::check_typing_shown(int client, const std::string& user, const std::string& project, nanos now,
                                    nanos healthy_since) const {
  // Only a client whose link has been healthy for a while can be expected to have
  // heard the stop (or expiry) by now.
  const nanos slack = 2 * max_latency_ + ms(100);
  if (now - healthy_since < typing_timeout_ + slack) return;
  auto it = last_typing_.find(user + "\n" + project);
  nanos last = it == last_typing_.end() ? -never : it->second;
  if (now - last > typing_timeout_ + slack)
    fail("ghost-typing",
         "client shows " + user + " typing in " + project + " " + std::to_string((now - last) / 1'000'000) +
           " ms after that user's last typing reached the server",
         client, now);
}

void invariants::check_page(int client, const std::string& project, std::uint64_t after,
                            const std::vector<std::uint64_t>& seqs, nanos now) const {
  std::uint64_t expect = after + 1;
  for (auto s : seqs) {
    if (s != expect)
      fail("room-log-gap",
           "sync of " + project + " after " + std::to_string(after) + " returned seq " + std::to_string(s) + " where " +
             std::to_string(expect) + " was due",
           client, now);
    ++expect;
  }
}

}  // namespace hub::sim
