// hub-load: thousands of virtual Socket.IO clients over real sockets against a hub
// server (ours or the Node reference). Prints one JSON summary line on stdout.
#include "load/options.hpp"
#include "load/report.hpp"
#include "load/runner.hpp"

#include <csignal>
#include <iostream>

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  auto o = hub::load::parse_options(argc, argv);
  auto r = hub::load::run(o);
  std::cout << hub::load::summary_json(o, r) << std::endl;
  if (!o.out_dir.empty() && !hub::load::write_outputs(o.out_dir, r)) {
    std::cerr << "hub-load: could not write to " << o.out_dir << "\n";
    return 1;
  }
  return 0;
}
