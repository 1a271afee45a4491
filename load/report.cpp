#include "load/report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace hub::load {
namespace {

using json = nlohmann::ordered_json;

json latency_json(const histogram& h) {
  return json{{"count", h.count()},      {"p50", h.quantile(0.5)},    {"p90", h.quantile(0.9)},
              {"p99", h.quantile(0.99)}, {"p999", h.quantile(0.999)}, {"max", h.max()}};
}

// One core's worth of CPU: a client using more than this share is the bottleneck.
constexpr double bottleneck_share = 0.85;

json window_json(const window_result& w, std::size_t threads, bool multi) {
  json j;
  j["rate"] = w.rate;
  j["seconds"] = w.seconds;
  j["sent"] = w.sent;
  j["acked_ok"] = w.acked_ok;
  j["acked_error"] = w.acked_error;
  j["expected"] = w.expected;
  j["delivered"] = w.delivered;
  j["delivered_per_s"] = w.seconds > 0 ? static_cast<double>(w.delivered) / w.seconds : 0.0;
  j["lost"] = w.lost;
  j["duplicated"] = w.duplicated;
  j["disconnects"] = w.disconnects;
  j["latency_us"] = latency_json(w.latency);
  if (multi)
    j["cross_node"] =
      json{{"delivered", w.cross_delivered},
           {"share", w.delivered ? static_cast<double>(w.cross_delivered) / static_cast<double>(w.delivered) : 0.0},
           {"latency_us", latency_json(w.cross_latency)},
           {"local_latency_us", latency_json(w.local_latency)}};
  if (w.server_cpu_us) {
    j["server_cpu_us"] = *w.server_cpu_us;
    j["server_cpu_pct"] = w.seconds > 0 ? 100.0 * static_cast<double>(*w.server_cpu_us) / (w.seconds * 1e6) : 0.0;
    if (w.delivered)
      j["server_cpu_us_per_delivery"] = static_cast<double>(*w.server_cpu_us) / static_cast<double>(w.delivered);
  }
  j["client_cpu_us"] = w.client_cpu_us;
  double client_pct = w.seconds > 0 ? 100.0 * static_cast<double>(w.client_cpu_us) / (w.seconds * 1e6) : 0.0;
  j["client_cpu_pct"] = client_pct;
  j["client_frames"] = w.client_frames;
  if (w.client_frames)
    j["client_cpu_us_per_frame"] = static_cast<double>(w.client_cpu_us) / static_cast<double>(w.client_frames);
  j["client_bottleneck"] = client_pct > bottleneck_share * 100.0 * static_cast<double>(threads);
  if (w.passed) j["passed"] = true;
  return j;
}

// Connect rate per band of ready connections, as a reconnect storm sees it: how fast
// connections come while 1k→5k are up, 5k→10k, ... Bands end at these counts (and at
// the last client ready); each reports the connects in it per second, timed from the
// client that began the band being ready to the one that ended it, and the connect
// (Socket.IO CONNECT answered) and ready (also joined) latencies of its clients.
json connect_bands_json(const std::vector<run_result::ready_event>& ready) {
  static constexpr std::size_t edges[] = {1000, 5000, 10000, 20000, 50000, 100000, 200000};
  json bands = json::object();
  std::size_t from = 0;
  auto band = [&](std::size_t to) {
    histogram connect, rdy;
    for (std::size_t i = from; i < to; ++i) {
      connect.record(ready[i].connect_us);
      rdy.record(ready[i].ready_us);
    }
    double begin = from == 0 ? 0.0 : ready[from - 1].at_s;
    double seconds = ready[to - 1].at_s - begin;
    json b;
    b["connects"] = to - from;
    b["seconds"] = seconds;
    b["connects_per_s"] = seconds > 0 ? static_cast<double>(to - from) / seconds : 0.0;
    b["connect_latency_us"] = latency_json(connect);
    b["ready_latency_us"] = latency_json(rdy);
    bands[std::to_string(from) + "-" + std::to_string(to)] = std::move(b);
    from = to;
  };
  for (auto e : edges)
    if (e < ready.size()) band(e);
  if (from < ready.size()) band(ready.size());
  return bands;
}

}  // namespace

std::string summary_json(const options& o, const run_result& r) {
  json j;
  j["scenario"] = to_string(o.what);
  j["transport"] = to_string(o.tr);
  // Several servers (--url): "H:P,H:P,..." as given, and the per-window "cross_node".
  std::string targets;
  bool multi = false;
  for (const auto& t : o.servers) {
    if (!targets.empty()) targets += ",";
    targets += t.host + ":" + std::to_string(t.port);
    multi =
      multi || t.host != o.servers.front().host || t.port != o.servers.front().port || t.path != o.servers.front().path;
  }
  j["target"] = targets;
  j["clients"] = r.clients;
  j["rooms"] = o.what == scenario::chat || o.what == scenario::storm ? o.rooms : 0;
  j["payload"] = o.payload;
  j["connected_peak"] = r.connected;
  j["connect_failures"] = r.connect_failures;
  j["connect_seconds"] = r.connect_seconds;
  j["connects_per_s"] = r.connect_seconds > 0 ? static_cast<double>(r.connected) / r.connect_seconds : 0.0;
  j["connect_latency_us"] = latency_json(r.connect_latency);
  j["connect_bands"] = connect_bands_json(r.ready);
  if (r.rss_before) j["server_rss_before"] = *r.rss_before;
  if (r.rss_after) j["server_rss_after"] = *r.rss_after;
  if (r.rss_before && r.rss_after && r.connected)
    j["server_bytes_per_connection"] =
      (static_cast<double>(*r.rss_after) - static_cast<double>(*r.rss_before)) / static_cast<double>(r.connected);
  if (o.what == scenario::idle) j["still_connected"] = r.still_connected;
  auto w = window_json(r.measured, o.threads, multi);
  for (auto& [k, v] : w.items()) j[k] = v;
  if (o.search) {
    json steps = json::array();
    for (const auto& s : r.steps) steps.push_back(window_json(s, o.threads, multi));
    j["steps"] = steps;
    j["best_rate"] = r.best_rate ? json(*r.best_rate) : json(nullptr);
    j["best_delivered_per_s"] = r.best_delivered_per_s ? json(*r.best_delivered_per_s) : json(nullptr);
  }
  if (o.what == scenario::storm) {
    j["storm"] = json{{"dropped", r.storm_dropped},
                      {"reconnected", r.storm_reconnected},
                      {"reconnect_us", latency_json(r.storm_reconnect)},
                      {"missed", r.storm_missed},
                      {"unsent_with_dropped", r.unsent_with_dropped}};
  }
  if (o.what == scenario::notify) j["http"] = json{{"ok", r.http_ok}, {"failed", r.http_failed}};
  if (!r.close_reasons.empty()) {
    json reasons = json::object();
    for (auto& [k, v] : r.close_reasons) reasons[k] = v;
    j["errors"] = reasons;
  }
  j["wall_seconds"] = r.wall_seconds;
  j["client_cpu_us_total"] = r.client_cpu_us_total;
  return j.dump();
}

bool write_outputs(const std::string& dir, const run_result& r) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  histogram all = r.measured.latency;
  if (!r.steps.empty()) {
    all.clear();
    for (const auto& s : r.steps) all.merge(s.latency);
  }
  std::ofstream csv(dir + "/latency.csv");
  csv << all.csv();
  // Latency over time: p50, p99 and max per second of the run, log-scaled y.
  const double W = 900, H = 420, L = 70, R = 20, T = 30, B = 50;
  std::size_t n = std::max<std::size_t>(r.per_second.size(), 2);
  std::uint64_t ymax = 1000;
  for (const auto& h : r.per_second) ymax = std::max(ymax, h.max());
  double lmin = 1.0, lmax = std::log10(static_cast<double>(ymax)) + 0.1;  // 10 µs floor
  auto x = [&](std::size_t i) { return L + (W - L - R) * static_cast<double>(i) / static_cast<double>(n - 1); };
  auto y = [&](std::uint64_t us) {
    double v = std::log10(std::max<double>(static_cast<double>(us), 10.0));
    return T + (H - T - B) * (1.0 - (v - lmin) / (lmax - lmin));
  };
  std::ostringstream svg;
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H
      << "' font-family='sans-serif' font-size='12'>\n"
      << "<rect width='100%' height='100%' fill='white'/>\n"
      << "<text x='" << L << "' y='18'>hub-load: delivery latency per second (p50 blue, p99 orange, max red)</text>\n";
  for (int e = 1; e <= static_cast<int>(lmax); ++e) {
    auto us = static_cast<std::uint64_t>(std::pow(10, e));
    double yy = y(us);
    std::string label = us >= 1000000 ? std::to_string(us / 1000000) + " s"
                        : us >= 1000  ? std::to_string(us / 1000) + " ms"
                                      : std::to_string(us) + " µs";
    svg << "<line x1='" << L << "' x2='" << W - R << "' y1='" << yy << "' y2='" << yy << "' stroke='#ddd'/>"
        << "<text x='5' y='" << yy + 4 << "'>" << label << "</text>\n";
  }
  svg << "<text x='" << W / 2 << "' y='" << H - 10 << "'>seconds since start (" << r.per_second.size() << ")</text>\n";
  auto line = [&](const char* color, auto value) {
    svg << "<polyline fill='none' stroke='" << color << "' stroke-width='1.5' points='";
    for (std::size_t i = 0; i < r.per_second.size(); ++i)
      if (r.per_second[i].count()) svg << x(i) << "," << y(value(r.per_second[i])) << " ";
    svg << "'/>\n";
  };
  line("#1f77b4", [](const histogram& h) { return h.quantile(0.5); });
  line("#ff7f0e", [](const histogram& h) { return h.quantile(0.99); });
  line("#d62728", [](const histogram& h) { return h.max(); });
  svg << "</svg>\n";
  std::ofstream out(dir + "/latency.svg");
  out << svg.str();
  return csv.good() && out.good();
}

}  // namespace hub::load
