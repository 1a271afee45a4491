// What a run measured: filled by the runner, written out by report.cpp.
#pragma once

#include "load/histogram.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hub::load {

// One step of a rate search, or the single measured window of a chat run.
struct window_result {
  double rate = 0;     // requested messages per second
  double seconds = 0;  // measured wall time
  std::uint64_t sent = 0;
  std::uint64_t acked_ok = 0, acked_error = 0;
  std::uint64_t expected = 0;   // deliveries the room memberships called for
  std::uint64_t delivered = 0;  // first deliveries (duplicates not included)
  std::uint64_t lost = 0, duplicated = 0;
  std::uint64_t disconnects = 0;
  histogram latency;
  // Several servers (--url): deliveries whose receiver is on another server than the
  // sender's, and their latency; the rest are local.
  std::uint64_t cross_delivered = 0;
  histogram cross_latency, local_latency;
  std::optional<std::uint64_t> server_cpu_us;
  std::uint64_t client_cpu_us = 0;
  std::uint64_t client_frames = 0;
  bool passed = false;
};

struct run_result {
  std::size_t clients = 0;
  std::size_t connected = 0;  // peak at once
  std::size_t connect_failures = 0;
  double connect_seconds = 0;
  histogram connect_latency;
  // One client ready (connected; in chat and storm also joined to its room) during the
  // connect phase, in the order clients became ready: seconds since the first connect
  // began, and µs from its own start to the Socket.IO CONNECT answer and to ready.
  // report.cpp turns these into connect rates per band of connections.
  struct ready_event {
    double at_s;
    std::uint32_t connect_us, ready_us;
  };
  std::vector<ready_event> ready;
  std::optional<std::uint64_t> rss_before, rss_after;
  std::size_t still_connected = 0;  // idle: after the hold
  window_result measured;
  std::vector<window_result> steps;  // --search
  std::optional<double> best_rate;   // --search: highest passing step
  std::optional<double> best_delivered_per_s;
  // storm
  std::size_t storm_dropped = 0, storm_reconnected = 0;
  histogram storm_reconnect;       // µs from the drop to the rejoin ack
  std::uint64_t storm_missed = 0;  // messages sent to a dropped client's room while it was away
  // Messages whose sender's connection closed before the server acknowledged them and
  // that nobody received (left out of `lost`).
  std::uint64_t unsent_with_dropped = 0;
  // notify
  std::uint64_t http_ok = 0, http_failed = 0;
  std::map<std::string, std::uint64_t> close_reasons;
  // latency per second of the run (p50, p99, max), for the plot
  std::vector<histogram> per_second;
  double wall_seconds = 0;
  std::uint64_t client_cpu_us_total = 0;
};

}  // namespace hub::load
