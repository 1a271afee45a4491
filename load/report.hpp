// Turns a run's results into the one-line JSON summary, and (with --out) a latency
// histogram CSV and an SVG plot of latency over time.
#pragma once

#include "load/options.hpp"
#include "load/results.hpp"

#include <string>

namespace hub::load {

std::string summary_json(const options& o, const run_result& r);
// Writes DIR/latency.csv and DIR/latency.svg; returns false if a file could not be written.
bool write_outputs(const std::string& dir, const run_result& r);

}  // namespace hub::load
