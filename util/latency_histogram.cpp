#include "util/latency_histogram.hpp"

#include <cstdio>

namespace hub::metrics {

namespace {

// Microseconds as seconds without trailing zeros ("0.00005", "2.5", "10"), so that `le`
// labels read as people write them.
std::string seconds(std::uint64_t us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llu.%06llu", static_cast<unsigned long long>(us / 1'000'000),
                static_cast<unsigned long long>(us % 1'000'000));
  std::string s{buf};
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

std::string prometheus_text(std::string_view name, std::string_view help, const latency_histogram& h) {
  std::string out;
  out.reserve(1024);
  auto line = [&](std::string_view suffix, std::string_view labels, const std::string& value) {
    out.append(name).append(suffix).append(labels).append(" ").append(value).append("\n");
  };
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" histogram\n");
  // Read the buckets once, and derive the total from them, so that the +Inf bucket and
  // _count always agree within one scrape.
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < latency_bounds_us.size(); ++i) {
    cumulative += h.in_bucket(i);
    line("_bucket", "{le=\"" + seconds(latency_bounds_us[i]) + "\"}", std::to_string(cumulative));
  }
  cumulative += h.in_bucket(latency_bounds_us.size());
  line("_bucket", "{le=\"+Inf\"}", std::to_string(cumulative));
  line("_sum", "", seconds(h.sum_us()));
  line("_count", "", std::to_string(cumulative));
  return out;
}

}  // namespace hub::metrics
