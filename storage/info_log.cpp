#include "storage/info_log.hpp"

#include <sys/time.h>

#include <algorithm>
#include <cstdarg>
#include <ctime>
#include <filesystem>
#include <system_error>

namespace hub::storage {

info_log::info_log(const std::string& dir) : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL) {
  namespace fs = std::filesystem;
  const fs::path log = fs::path{dir} / "LOG";
  std::error_code ec;
  if (fs::exists(log, ec)) fs::rename(log, fs::path{dir} / "LOG.old", ec);
  file_ = std::fopen(log.c_str(), "a");
}

info_log::~info_log() { CloseImpl().PermitUncheckedError(); }

void info_log::Logv(const char* format, va_list ap) {
  if (!file_) return;
  // "2026/12/03-08:58:20.113456 <message>\n", as RocksDB's own LOG lines begin.
  char line[4096];
  timeval now{};
  gettimeofday(&now, nullptr);
  std::tm tm{};
  localtime_r(&now.tv_sec, &tm);
  int n = std::snprintf(line, sizeof line, "%04d/%02d/%02d-%02d:%02d:%02d.%06ld ", tm.tm_year + 1900, tm.tm_mon + 1,
                        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long>(now.tv_usec));
  if (n < 0) return;
  va_list copy;
  va_copy(copy, ap);
  int m = std::vsnprintf(line + n, sizeof line - static_cast<std::size_t>(n), format, copy);
  va_end(copy);
  if (m < 0) return;
  std::size_t len = std::min(sizeof line - 1, static_cast<std::size_t>(n) + static_cast<std::size_t>(m));
  if (len == 0 || line[len - 1] != '\n') {
    if (len == sizeof line - 1) --len;  // truncated: make room for the newline
    line[len++] = '\n';
  }
  // One write per line (stdio locks the stream); a full disk loses the line, nothing else.
  if (std::fwrite(line, 1, len, file_) != len || std::fflush(file_) != 0) std::clearerr(file_);
}

void info_log::Flush() {
  if (file_ && std::fflush(file_) != 0) std::clearerr(file_);
}

rocksdb::Status info_log::CloseImpl() {
  if (file_) {
    std::fclose(file_);
    file_ = nullptr;
  }
  return rocksdb::Status::OK();
}

}  // namespace hub::storage
