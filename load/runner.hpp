// Runs one scenario: opens the virtual clients on one or more io_context threads, drives
// them from the calling thread (pacing, phases, progress) and collects the results.
#pragma once

#include "load/options.hpp"
#include "load/results.hpp"

namespace hub::load {

run_result run(const options& o);

}  // namespace hub::load
