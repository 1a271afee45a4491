#include "load/proc_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace hub::load {

std::optional<std::uint64_t> rss_bytes(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::istringstream ls(line.substr(6));
      std::uint64_t kb = 0;
      ls >> kb;
      return kb * 1024;
    }
  }
  return std::nullopt;
}

std::optional<std::uint64_t> process_cpu_us(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s;
  if (!std::getline(in, s)) return std::nullopt;
  auto close = s.rfind(')');  // the command name may contain spaces
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(s.substr(close + 2));
  std::string field;
  std::uint64_t utime = 0, stime = 0;
  // Fields after the name start at 3 (state); utime is 14, stime 15.
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  long hz = ::sysconf(_SC_CLK_TCK);
  return (utime + stime) * 1000000ULL / static_cast<std::uint64_t>(hz > 0 ? hz : 100);
}

std::uint64_t self_cpu_us() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto us = [](const timeval& tv) {
    return static_cast<std::uint64_t>(tv.tv_sec) * 1000000ULL + static_cast<std::uint64_t>(tv.tv_usec);
  };
  return us(ru.ru_utime) + us(ru.ru_stime);
}

std::uint64_t raise_fd_limit(std::uint64_t wanted) {
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur >= wanted) return rl.rlim_cur;
  rlimit want = rl;
  want.rlim_cur = wanted;
  if (want.rlim_max < wanted) want.rlim_max = wanted;  // works as root
  if (::setrlimit(RLIMIT_NOFILE, &want) != 0) {
    want.rlim_max = rl.rlim_max;
    want.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &want);
  }
  ::getrlimit(RLIMIT_NOFILE, &rl);
  return rl.rlim_cur;
}

}  // namespace hub::load
