// RocksDB's informational LOG file, written by us rather than by RocksDB's own
// EnvLogger. Debian 12's librocksdb 7.8 is built with assertions on, and its EnvLogger
// aborts the process (WritableFileWriter: `sync_without_flush_called_`) on the first log
// line after a failed one: on a full disk, the LOG write that follows the first ENOSPC
// killed hub-server before it could report or recover anything. This logger writes each
// line with plain stdio and drops what the disk refuses.
//
// The file is <dir>/LOG as before; the previous one is kept as <dir>/LOG.old.
#pragma once

#include <rocksdb/env.h>

#include <cstdio>
#include <memory>
#include <string>

namespace hub::storage {

class info_log final : public rocksdb::Logger {
 public:
  // Opens <dir>/LOG for appending (after moving an existing one to LOG.old). Without a
  // file (the directory is unwritable) every line is dropped; the database still opens.
  explicit info_log(const std::string& dir);
  ~info_log() override;

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override;
  void Flush() override;

 protected:
  rocksdb::Status CloseImpl() override;

 private:
  std::FILE* file_ = nullptr;
};

}  // namespace hub::storage
