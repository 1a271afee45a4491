// What hub-load reads about processes: the server's resident memory and CPU time from
// /proc/<pid>, its own CPU time (getrusage), and its file descriptor limit.
#pragma once

#include <cstdint>
#include <optional>

namespace hub::load {

// VmRSS of `pid` in bytes.
std::optional<std::uint64_t> rss_bytes(int pid);
// utime + stime of `pid` in microseconds.
std::optional<std::uint64_t> process_cpu_us(int pid);
// This process's user + system CPU time in microseconds.
std::uint64_t self_cpu_us();
// Raises RLIMIT_NOFILE's soft limit as far as allowed; returns the new soft limit.
std::uint64_t raise_fd_limit(std::uint64_t wanted);

}  // namespace hub::load
