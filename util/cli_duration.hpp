// A CLI11 option for a duration ("500ms", "8s", "2m"; a plain number is milliseconds),
// shared by hub-server's and hub-load's command lines. Header-only: only programs that
// link CLI11 include it.
#pragma once

#include "util/duration.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <string>

namespace hub {

inline CLI::Option* add_duration(CLI::App& app, const std::string& name, std::chrono::milliseconds& target,
                                 const std::string& help) {
  auto* opt = app.add_option_function<std::string>(
    name,
    [&target, name](const std::string& text) {
      auto d = parse_duration(text);
      if (!d) throw CLI::ValidationError(name, "'" + text + "' is not a duration (e.g. 500ms, 8s, 2m)");
      target = *d;
    },
    help + " (default " + format_duration(target) + ")");
  opt->type_name("DURATION");
  return opt;
}

}  // namespace hub
