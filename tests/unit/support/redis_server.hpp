// A real redis-server for one test: on a free loopback port, in a temp dir of its own,
// with no persistence (no RDB, no AOF). Killed (SIGKILL) by kill() or at the end, and
// restartable on the same port, so that a client sees its Redis die and come back.
#pragma once

#include "tests/unit/support/temp_dir.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace hub::test {

// A port nothing listens on now (the kernel's pick for an ephemeral bind).
inline std::uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("no free loopback port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// Sends `request` to 127.0.0.1:port and returns the first bytes of the answer ("" when
// nothing listens there or nothing came within `timeout`).
inline std::string loopback_exchange(std::uint16_t port, const std::string& request,
                                     std::chrono::milliseconds timeout = std::chrono::milliseconds(500)) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    char buf[256];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) out.assign(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

class redis_server {
 public:
  // `extra` goes to redis-server as it is, e.g. {"--requirepass", "secret"}.
  explicit redis_server(std::vector<std::string> extra = {}) : extra_(std::move(extra)) {
    for (int attempt = 0;; ++attempt) {
      port_ = free_loopback_port();
      try {
        start();
        return;
      } catch (const std::exception&) {
        if (attempt == 4) throw;  // the port was taken between our probe and its bind: another
      }
    }
  }
  ~redis_server() { kill(); }
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  bool running() const { return pid_ > 0; }

  // (Again) on the same port; returns once it answers, or throws with its log.
  void start() {
    if (pid_ > 0) return;
    std::vector<std::string> args{"redis-server", "--port",       std::to_string(port_), "--bind", "127.0.0.1",
                                  "--dir",        dir_.str(),     "--save",              "",       "--appendonly",
                                  "no",           "--daemonize",  "no",                  "--logfile",
                                  (dir_.path / "redis.log").string()};
    args.insert(args.end(), extra_.begin(), extra_.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string program = find_program("redis-server");
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      // Only async-signal-safe calls here: the test may have threads.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a crashed test leaves no Redis behind
      if (::getppid() != parent) ::_exit(127);
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      ::execv(program.c_str(), argv.data());
      ::_exit(127);
    }
    if (devnull >= 0) ::close(devnull);
    pid_ = pid;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (loopback_exchange(port_, "PING\r\n").empty()) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_ || std::chrono::steady_clock::now() > deadline) {
        pid_ = 0;
        kill_pid(pid);
        throw std::runtime_error("redis-server on port " + std::to_string(port_) + " did not start: " + log());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // SIGKILL: no goodbye to its clients, as in a crash.
  void kill() {
    if (pid_ <= 0) return;
    kill_pid(pid_);
    pid_ = 0;
  }

  // SIGSTOP / SIGCONT: connected, but silent, as a Redis stuck or behind a partition.
  void freeze() {
    if (pid_ > 0) ::kill(pid_, SIGSTOP);
  }
  void thaw() {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
  }

  std::string log() const {
    std::ifstream in(dir_.path / "redis.log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  static void kill_pid(pid_t pid) {
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }

  static std::string find_program(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':'))
      if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return dir + "/" + name;
    throw std::runtime_error(name + " is not installed (scripts/setup.sh installs it)");
  }

  std::vector<std::string> extra_;
  unique_temp_dir dir_{"hub-redis"};
  std::uint16_t port_ = 0;
  pid_t pid_ = 0;
};

}  // namespace hub::test
