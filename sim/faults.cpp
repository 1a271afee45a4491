#include "sim/faults.hpp"

#include "sim/simulation.hpp"

#include <algorithm>
#include <cmath>

namespace hub::sim {

bool faults::known(const std::string& p) { return p == "none" || p == "default" || p == "heavy"; }

faults::faults(simulation& sim, const std::string& profile, rng r) : sim_(sim), profile_(profile), rng_(r) {
  scale_ = profile == "none" ? 0 : profile == "heavy" ? 4 : 1;
}

nanos faults::link_delay(int client) {
  if (base_.empty()) {
    // Drawn lazily, once, in client order: a fixed latency per link, jitter on top.
    for (std::size_t i = 0; i < sim_.clients.size(); ++i) {
      base_.push_back(ms(1) + static_cast<nanos>(rng_.below(static_cast<std::uint64_t>(ms(39)))));
      jitter_.push_back(scale_ > 0 ? static_cast<nanos>(rng_.below(static_cast<std::uint64_t>(ms(20)))) : 0);
    }
  }
  auto i = static_cast<std::size_t>(client);
  nanos d = base_[i];
  if (jitter_[i] > 0) d += static_cast<nanos>(rng_.below(static_cast<std::uint64_t>(jitter_[i])));
  auto s = slow_.find(client);
  if (s != slow_.end()) {
    if (s->second.first > sim_.now())
      d += s->second.second;
    else
      slow_.erase(s);
  }
  return d;
}

void faults::start() {
  if (scale_ == 0) return;
  on_ = true;
  const double n = static_cast<double>(sim_.clients.size());
  // Rates per virtual second. "Default" means each client sees about one drop every
  // ten minutes, a pause every twenty, a partition every few minutes somewhere.
  every("drop", scale_ * n / 600.0, &faults::drop);
  every("mid-frame", scale_ * n / 3000.0, &faults::mid_frame);
  every("slow", scale_ * n / 1200.0, &faults::slow);
  every("pause", scale_ * n / 1800.0, &faults::pause);
  every("partition", scale_ / 120.0, &faults::partition);
  every("crash", scale_ * static_cast<double>(sim_.nodes.size()) / 240.0, &faults::crash);
  if (sim_.cluster()) every("redis-cut", scale_ * static_cast<double>(sim_.nodes.size()) / 90.0, &faults::redis_cut);
  every("clock-jump", scale_ / 180.0, &faults::clock_jump);
}

void faults::stop_and_heal() {
  on_ = false;
  for (int c : partitioned_) sim_.net.heal(c);
  partitioned_.clear();
  for (int n : cut_nodes_) sim_.bus->heal(n);
  cut_nodes_.clear();
  slow_.clear();
  for (auto& c : sim_.clients) c->resume();  // frozen tabs wake up too
}

void faults::every(const char* name, double per_second, void (faults::*fire)()) {
  if (per_second <= 0) return;
  double wait_s = -std::log(1.0 - rng_.unit()) / per_second;
  auto wait = static_cast<nanos>(wait_s * 1e9);
  sim_.after(std::max<nanos>(wait, 1), [this, name, per_second, fire] {
    if (!on_) return;
    (this->*fire)();
    every(name, per_second, fire);
  });
}

int faults::pick_client() { return static_cast<int>(rng_.below(sim_.clients.size())); }

void faults::drop() {
  int c = pick_client();
  if (auto l = sim_.net.link_of(c)) {
    sim_.log(c, "fault", "\"kind\":\"drop\"");
    sim_.net.drop(l, rng_.chance(0.5) ? "transport close" : "transport error");
  }
}

void faults::mid_frame() {
  int c = pick_client();
  sim_.log(c, "fault", "\"kind\":\"mid-frame\"");
  sim_.clients[static_cast<std::size_t>(c)]->die_mid_frame();
}

void faults::slow() {
  int c = pick_client();
  nanos extra = ms(rng_.range(100, 2000));
  nanos len = secs(rng_.range(5, 30));
  slow_[c] = {sim_.now() + len, extra};
  sim_.log(c, "fault",
           "\"kind\":\"slow\",\"extra_ms\":" + std::to_string(extra / 1'000'000) +
             ",\"for_ms\":" + std::to_string(len / 1'000'000));
}

void faults::pause() {
  int c = pick_client();
  nanos len = secs(rng_.range(5, 90));
  sim_.log(c, "fault", "\"kind\":\"pause\",\"for_ms\":" + std::to_string(len / 1'000'000));
  sim_.clients[static_cast<std::size_t>(c)]->pause(len);
}

void faults::partition() {
  // A contiguous group of clients (an office, a mobile carrier) loses the server.
  std::size_t n = sim_.clients.size();
  std::size_t size = 1 + rng_.below(std::max<std::size_t>(1, n / 10));
  std::size_t first = rng_.below(n);
  nanos len = secs(rng_.range(2, 70));
  std::vector<int> group;
  for (std::size_t i = 0; i < size; ++i) {
    int c = static_cast<int>((first + i) % n);
    if (sim_.clients[static_cast<std::size_t>(c)]->partitioned) continue;
    sim_.net.partition(c);
    partitioned_.push_back(c);
    group.push_back(c);
  }
  sim_.log(-1, "fault",
           "\"kind\":\"partition\",\"first\":" + std::to_string(first) + ",\"size\":" + std::to_string(group.size()) +
             ",\"for_ms\":" + std::to_string(len / 1'000'000));
  sim_.after(len, [this, group] {
    for (int c : group) {
      sim_.net.heal(c);
      std::erase(partitioned_, c);
    }
    if (!group.empty()) sim_.log(-1, "heal", "\"first\":" + std::to_string(group.front()));
  });
}

void faults::crash() {
  const int node = static_cast<int>(rng_.below(sim_.nodes.size()));
  auto& world = *sim_.nodes[static_cast<std::size_t>(node)];
  if (!world.up()) return;
  nanos down = ms(rng_.range(200, 5000));
  sim_.log(-1, "fault",
           "\"kind\":\"crash\",\"node\":" + std::to_string(node) + ",\"down_ms\":" + std::to_string(down / 1'000'000));
  ++sim_.stats.crashes;
  world.crash(sim_.net.crash(node));
  sim_.after(down, [this, node] {
    auto& w = *sim_.nodes[static_cast<std::size_t>(node)];
    w.start();
    sim_.log(-1, "restart",
             "\"node\":" + std::to_string(node) + ",\"incarnation\":" + std::to_string(w.incarnation()));
  });
}

void faults::redis_cut() {
  // The node's connection to Redis breaks (a network blip, a Redis failover): what is
  // published meanwhile never reaches it, and it learns of the loss when it reconnects.
  const int node = static_cast<int>(rng_.below(sim_.nodes.size()));
  if (std::find(cut_nodes_.begin(), cut_nodes_.end(), node) != cut_nodes_.end()) return;
  nanos len = ms(rng_.range(50, 8000));
  sim_.log(-1, "fault",
           "\"kind\":\"redis-cut\",\"node\":" + std::to_string(node) + ",\"for_ms\":" + std::to_string(len / 1'000'000));
  sim_.bus->cut(node);
  cut_nodes_.push_back(node);
  sim_.after(len, [this, node] {
    if (std::find(cut_nodes_.begin(), cut_nodes_.end(), node) == cut_nodes_.end()) return;  // healed at the end
    std::erase(cut_nodes_, node);
    sim_.bus->heal(node);
    sim_.log(-1, "heal", "\"redis-cut\":" + std::to_string(node));
  });
}

void faults::clock_jump() {
  // NTP step or a VM migration: the wall clock moves, CAF's steady clock does not.
  nanos by = secs(rng_.range(-300, 300));
  sim_.jump_wall_clock(by);
  sim_.log(-1, "fault", "\"kind\":\"clock-jump\",\"by_ms\":" + std::to_string(by / 1'000'000));
}

}  // namespace hub::sim
