// Usage accounting: one row per chat request, queued in memory and committed to SQLite in
// batches by one writer thread, which owns its connection. Request threads never touch SQLite.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "gateway/plugin.h"
#include "storage/sqlite.h"

namespace gateway {

struct UsageRow {
  std::int64_t ts_ms = 0;
  std::string request_id;
  std::string tenant_id;
  std::string key_id;
  std::string user;
  std::string model;
  std::string upstream_model;
  bool stream = false;
  int status = 0;
  std::string outcome;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  bool estimated = true;
  std::int64_t duration_ms = 0;
  std::optional<std::int64_t> ttft_ms;
};

/// The usage row for a finished chat request.
UsageRow usage_row(const RequestRecord& record);

class UsageWriter {
 public:
  /// Opens its own connection to the (already migrated) database at `path`.
  UsageWriter(const std::string& path, std::size_t capacity = 200'000,
              std::chrono::milliseconds flush_interval = std::chrono::milliseconds(100));
  ~UsageWriter();
  UsageWriter(const UsageWriter&) = delete;
  UsageWriter& operator=(const UsageWriter&) = delete;

  /// Queues a row without blocking; a full queue drops it, counts it and logs it.
  void submit(UsageRow row);
  /// Commits everything queued, then stops the thread.
  void stop();
  std::uint64_t written() const { return written_.load(); }
  std::uint64_t dropped() const { return dropped_.load(); }

 private:
  void run();
  bool write(db::Database& db, const std::deque<UsageRow>& batch);

  std::string path_;
  std::size_t capacity_;
  std::chrono::milliseconds flush_interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<UsageRow> queue_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace gateway
