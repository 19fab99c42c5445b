// A SQLite file name in the temporary directory, removed (with its WAL files) afterwards.
#pragma once

#include <filesystem>
#include <random>
#include <string>

namespace gateway::testing_support {

class TempDb {
 public:
  TempDb() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("gw-test-" + std::to_string(rd()) + ".db");
  }
  ~TempDb() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
  }
  TempDb(const TempDb&) = delete;
  TempDb& operator=(const TempDb&) = delete;
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace gateway::testing_support
