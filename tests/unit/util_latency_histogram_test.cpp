// metrics::latency_histogram: bucket choice (Prometheus `le`) and the text format.
#include "util/latency_histogram.hpp"

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <thread>
#include <vector>

using hub::metrics::latency_bounds_us;
using hub::metrics::latency_histogram;

TEST_CASE("latency histogram: a sample lands in the first bucket whose bound is >= it", "[metrics]") {
  CHECK(latency_histogram::bucket_of(0) == 0);
  CHECK(latency_histogram::bucket_of(50) == 0);  // le is inclusive
  CHECK(latency_histogram::bucket_of(51) == 1);
  CHECK(latency_histogram::bucket_of(1'000) == 4);
  CHECK(latency_histogram::bucket_of(1'001) == 5);
  CHECK(latency_histogram::bucket_of(10'000'000) == latency_bounds_us.size() - 1);
  CHECK(latency_histogram::bucket_of(10'000'001) == latency_bounds_us.size());  // +Inf
  for (std::size_t i = 1; i < latency_bounds_us.size(); ++i) CHECK(latency_bounds_us[i - 1] < latency_bounds_us[i]);
}

TEST_CASE("latency histogram: Prometheus text has cumulative buckets, +Inf, sum and count in seconds", "[metrics]") {
  latency_histogram h;
  h.record(std::chrono::microseconds(40));
  h.record(std::chrono::microseconds(700));
  h.record(std::chrono::milliseconds(3));
  h.record(std::chrono::seconds(20));      // past the last bound
  h.record(std::chrono::nanoseconds(-5));  // a clock step backwards counts as 0
  const auto text = hub::metrics::prometheus_text("hub_x_seconds", "Test", h);
  std::istringstream in{text};
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  REQUIRE(lines.size() == 2 + latency_bounds_us.size() + 1 + 2);
  CHECK(lines[0] == "# HELP hub_x_seconds Test");
  CHECK(lines[1] == "# TYPE hub_x_seconds histogram");
  CHECK(lines[2] == "hub_x_seconds_bucket{le=\"0.00005\"} 2");
  CHECK(lines[3] == "hub_x_seconds_bucket{le=\"0.0001\"} 2");
  CHECK(lines[5] == "hub_x_seconds_bucket{le=\"0.0005\"} 2");
  CHECK(lines[6] == "hub_x_seconds_bucket{le=\"0.001\"} 3");
  CHECK(lines[8] == "hub_x_seconds_bucket{le=\"0.005\"} 4");
  CHECK(lines[2 + latency_bounds_us.size() - 1] == "hub_x_seconds_bucket{le=\"10\"} 4");
  CHECK(lines[2 + latency_bounds_us.size()] == "hub_x_seconds_bucket{le=\"+Inf\"} 5");
  CHECK(lines[lines.size() - 2] == "hub_x_seconds_sum 20.00374");
  CHECK(lines.back() == "hub_x_seconds_count 5");
}

TEST_CASE("latency histogram: concurrent recording loses nothing", "[metrics]") {
  latency_histogram h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&h, t] {
      for (int i = 0; i < 10'000; ++i) h.record_us(static_cast<std::uint64_t>(t * 1000 + i % 7));
    });
  for (auto& t : threads) t.join();
  CHECK(h.count() == 40'000);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < latency_histogram::bucket_count; ++i) total += h.in_bucket(i);
  CHECK(total == 40'000);
}
