#include "sim/workload.hpp"

#include "sim/simulation.hpp"

#include <algorithm>
#include <cmath>

namespace hub::sim {

void workload::populate(int clients) {
  // About one project per 20 clients, users in 1-3 of them; a quarter of the users
  // have a second tab (the same user on two connections).
  const int projects = std::max(1, clients / 20);
  const int users = std::max(1, clients - clients / 4);
  std::vector<std::vector<std::string>> member_of(static_cast<std::size_t>(users));
  for (auto& m : member_of) {
    int k = 1 + static_cast<int>(rng_.below(3));
    for (int i = 0; i < k; ++i) {
      std::string p = "p" + std::to_string(rng_.below(static_cast<std::uint64_t>(projects)));
      if (std::find(m.begin(), m.end(), p) == m.end()) m.push_back(p);
    }
  }
  for (int c = 0; c < clients; ++c) {
    int u = c < users ? c : static_cast<int>(rng_.below(static_cast<std::uint64_t>(users)));
    sim_.clients.push_back(std::make_unique<virtual_client>(sim_, c, "u" + std::to_string(u),
                                                            member_of[static_cast<std::size_t>(u)], rng_.fork()));
  }
}

void workload::start() {
  for (std::size_t c = 0; c < sim_.clients.size(); ++c) {
    // A reconnection storm of its own: everyone arrives within the first 5 s.
    sim_.after(static_cast<nanos>(rng_.below(static_cast<std::uint64_t>(secs(5)))),
               [this, c] { sim_.clients[c]->start(); });
    next(static_cast<int>(c));
  }
}

void workload::next(int client) {
  double wait_s = -std::log(1.0 - rng_.unit()) * (static_cast<double>(think_) / 1e9);
  sim_.after(secs(1) + static_cast<nanos>(wait_s * 1e9), [this, client] {
    if (!sim_.traffic) return;
    act(client);
    next(client);
  });
}

void workload::act(int client) {
  auto& c = *sim_.clients[static_cast<std::size_t>(client)];
  if (c.paused()) return;
  auto roll = rng_.below(100);
  if (roll < 40) {
    c.send_message();
  } else if (roll < 60) {
    // Typing, then (mostly) the message or a stop; sometimes the tab just goes quiet
    // and the server's expiry must clear it.
    c.typing(true);
    auto then = rng_.below(3);
    sim_.after(ms(rng_.range(500, 4000)), [this, client, then] {
      if (!sim_.traffic) return;
      auto& t = *sim_.clients[static_cast<std::size_t>(client)];
      if (t.paused()) return;
      if (then == 0)
        t.send_message();
      else if (then == 1)
        t.typing(false);
    });
  } else if (roll < 70) {
    c.mark_read();
  } else if (roll < 77) {
    c.get_presence();
  } else if (roll < 85) {
    c.toggle_room();
  } else if (roll < 87) {
    c.reload();
  } else if (roll < 90) {
    // A burst: more messages than the rate limit allows in its window.
    for (int i = 0; i < 12; ++i)
      sim_.after(ms(50 * i), [this, client] {
        if (sim_.traffic) sim_.clients[static_cast<std::size_t>(client)]->send_message();
      });
  } else {
    c.typing(true);
  }
}

}  // namespace hub::sim
