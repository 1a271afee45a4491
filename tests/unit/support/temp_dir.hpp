// A unique directory under the system temp dir for one test, removed (recursively)
// when the test is done.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>

namespace hub::test {

struct unique_temp_dir {
  std::filesystem::path path;
  explicit unique_temp_dir(const std::string& tag = "hub-test") {
    static std::atomic<unsigned> counter{0};
    std::random_device rd;
    path = std::filesystem::temp_directory_path() /
           (tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~unique_temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  unique_temp_dir(const unique_temp_dir&) = delete;
  unique_temp_dir& operator=(const unique_temp_dir&) = delete;
  std::string str() const { return path.string(); }
};

}  // namespace hub::test
