// hub-sim: deterministic simulation of hub-server's actors under seeded traffic and
// faults (docs/simulation.md). Exit status 0 only when no invariant was violated.
#include "sim/simulation.hpp"
#include "util/injected_bugs.hpp"

#include <cstdio>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>

namespace {

using namespace hub::sim;

std::int64_t parse_duration_ms(const std::string& s) {
  std::size_t pos = 0;
  double v = std::stod(s, &pos);
  std::string unit = s.substr(pos);
  if (unit.empty() || unit == "ms") return static_cast<std::int64_t>(v);
  if (unit == "s") return static_cast<std::int64_t>(v * 1000);
  if (unit == "m") return static_cast<std::int64_t>(v * 60000);
  if (unit == "h") return static_cast<std::int64_t>(v * 3600000);
  throw std::invalid_argument("bad duration: " + s);
}

void usage() {
  std::puts(
    "usage: hub-sim [--seed S | --seeds A..B] [--clients N] [--nodes N] [--duration 10m]\n"
    "               [--faults none|default|heavy] [--trace FILE] [--quiet] [--shrink]\n"
    "               [--inject-bug skip-replay]   (a deliberate bug, to prove the checks)\n"
    "               [--replay FILE]   (traffic recorded by hub-server --record FILE)\n"
    "--nodes N (2..8): a cluster of N nodes over a simulated Redis, with node crashes\n"
    "and lost pub/sub connections among the faults.\n"
    "Runs hub-server's actors under virtual time with simulated clients, network and\n"
    "faults; checks invariants. Last line: hash: <hex>. Exit 0 iff no violation.");
}

options parse(int argc, char** argv) {
  options o;
  o.argv0 = argv[0];
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--seed")
      o.seed = std::stoull(val());
    else if (a == "--seeds") {
      auto v = val();
      auto dots = v.find("..");
      if (dots == std::string::npos) throw std::invalid_argument("--seeds takes A..B");
      o.seed = std::stoull(v.substr(0, dots));
      o.seed_last = std::stoull(v.substr(dots + 2));
      o.sweep = true;
    } else if (a == "--clients")
      o.clients = std::stoi(val());
    else if (a == "--nodes")
      o.nodes = std::stoi(val());
    else if (a == "--duration")
      o.duration_ms = parse_duration_ms(val());
    else if (a == "--faults")
      o.faults = val();
    else if (a == "--trace")
      o.trace_path = val();
    else if (a == "--inject-bug")
      o.inject_bug = val();
    else if (a == "--replay")
      o.replay_path = val();
    else if (a == "--quiet")
      o.quiet = true;
    else if (a == "--shrink")
      o.shrink = true;
    else if (a == "--help" || a == "-h") {
      usage();
      std::exit(0);
    } else
      throw std::invalid_argument("unknown option " + a);
  }
  if (!faults::known(o.faults)) throw std::invalid_argument("unknown fault profile " + o.faults);
  if (o.clients < 1) throw std::invalid_argument("--clients must be at least 1");
  if (o.nodes < 1 || o.nodes > 8) throw std::invalid_argument("--nodes must be 1..8");
  if (o.nodes > 1 && !o.replay_path.empty()) throw std::invalid_argument("--replay runs one node");
  return o;
}

void report(const options& o, std::uint64_t seed, const simulation& sim, const run_result& r) {
  const auto& v = *r.failure;
  std::printf("VIOLATION of %s at t=%.3f s (seed %llu)\n  %s\n", v.invariant.c_str(), static_cast<double>(v.at) / 1e9,
              static_cast<unsigned long long>(seed), v.detail.c_str());
  if (v.client >= 0) {
    std::printf("  events of client %d that led to it:\n", v.client);
    for (const auto& l : sim.tr.recent_of(v.client)) std::printf("    %s\n", l.c_str());
  }
  std::printf("  last events of the run:\n");
  for (const auto& l : sim.tr.recent(25)) std::printf("    %s\n", l.c_str());
  std::printf("reproduce: %s\n", o.command_for(seed).c_str());
}

// Looks for a smaller run that breaks the same invariant: first the same run cut
// right after the violation (the prefix of a run does not depend on its duration),
// then fewer clients and shorter runs, each tried with the same seed.
void shrink(options o, std::uint64_t seed, const violation& first) {
  o.trace_path.clear();
  o.sweep = false;
  auto fails = [&](const options& c, std::string* inv) {
    simulation sim(c, seed);
    auto r = sim.run();
    if (!r.ok && inv) *inv = r.failure->invariant;
    return !r.ok && r.failure->invariant == first.invariant;
  };
  if (first.at < o.duration_ms * 1'000'000) {
    auto c = o;
    c.duration_ms = first.at / 1'000'000 + 1;
    if (fails(c, nullptr)) o = c;
  }
  for (int round = 0; round < 12; ++round) {
    bool progress = false;
    if (o.clients > 2) {
      auto c = o;
      c.clients = o.clients / 2;
      if (fails(c, nullptr)) o = c, progress = true;
    }
    if (o.duration_ms > 2000) {
      auto c = o;
      c.duration_ms = o.duration_ms / 2;
      if (fails(c, nullptr)) o = c, progress = true;
    }
    if (!progress) break;
  }
  std::printf("shrunk: %s\n", o.command_for(seed).c_str());
}

}  // namespace

namespace hub::sim {
std::string options::command_for(std::uint64_t s) const {
  std::string c = argv0 + " --seed " + std::to_string(s) + " --clients " + std::to_string(clients) + " --duration " +
                  std::to_string(duration_ms) + "ms --faults " + faults;
  if (nodes > 1) c += " --nodes " + std::to_string(nodes);
  if (!inject_bug.empty()) c += " --inject-bug " + inject_bug;
  if (!replay_path.empty()) c += " --replay " + replay_path;
  return c + " --trace trace.jsonl";
}
}  // namespace hub::sim

int main(int argc, char** argv) {
  options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hub-sim: %s\n", e.what());
    usage();
    return 2;
  }
  if (!o.inject_bug.empty()) {
    hub::injected_bug_name() = o.inject_bug;
  }
  if (!o.sweep) {
    simulation sim(o, o.seed);
    auto r = sim.run();
    if (!r.ok) {
      report(o, o.seed, sim, r);
      if (o.shrink) shrink(o, o.seed, *r.failure);
    } else if (!o.quiet)
      std::printf(
        "ok: seed %llu, %d clients, %.0f virtual s in %.2f wall s (%.0fx), %llu events, %llu acked, "
        "%llu reconnects (%llu recovered), %llu crashes\n",
        static_cast<unsigned long long>(o.seed), static_cast<int>(r.clients), static_cast<double>(r.virtual_time) / 1e9,
        r.wall_seconds, static_cast<double>(r.virtual_time) / 1e9 / std::max(r.wall_seconds, 1e-9),
        static_cast<unsigned long long>(r.events), static_cast<unsigned long long>(r.acked),
        static_cast<unsigned long long>(r.reconnects), static_cast<unsigned long long>(r.recovered),
        static_cast<unsigned long long>(r.crashes));
    std::printf("hash: %s\n", r.hash.c_str());
    return r.ok ? 0 : 1;
  }
  // Sweep: one line per seed, a summary, the first failure in full.
  std::uint64_t failed = 0, total = 0;
  std::uint64_t combined = 0xcbf29ce484222325ULL;
  std::string failed_seeds;
  o.trace_path.clear();
  for (std::uint64_t s = o.seed; s <= o.seed_last; ++s) {
    simulation sim(o, s);
    auto r = sim.run();
    ++total;
    for (char ch : r.hash) combined = (combined ^ static_cast<unsigned char>(ch)) * 0x100000001b3ULL;
    std::printf("[%llu/%llu] seed %llu: %s (%.2f s, %llu events, %llu acked, %llu recovered, %llu crashes)\n",
                static_cast<unsigned long long>(total), static_cast<unsigned long long>(o.seed_last - o.seed + 1),
                static_cast<unsigned long long>(s), r.ok ? "ok" : ("VIOLATION " + r.failure->invariant).c_str(),
                r.wall_seconds, static_cast<unsigned long long>(r.events), static_cast<unsigned long long>(r.acked),
                static_cast<unsigned long long>(r.recovered), static_cast<unsigned long long>(r.crashes));
    std::fflush(stdout);
    if (!r.ok) {
      if (failed == 0) {
        report(o, s, sim, r);
        if (o.shrink) shrink(o, s, *r.failure);
      }
      ++failed;
      failed_seeds += " " + std::to_string(s);
    }
  }
  std::printf("summary: %llu seeds, %llu failed%s\n", static_cast<unsigned long long>(total),
              static_cast<unsigned long long>(failed), failed ? (":" + failed_seeds).c_str() : "");
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(combined));
  std::printf("hash: %s\n", hex);
  return failed == 0 ? 0 : 1;
}
