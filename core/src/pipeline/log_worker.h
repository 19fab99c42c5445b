// The log phase: a background thread that receives finished-request records, writes the access
// log line and runs the plugins' on_log. Request threads only enqueue.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "gateway/plugin.h"
#include "util/log.h"

namespace gateway {

class LogWorker {
 public:
  using Sink = std::function<void(const RequestRecord&)>;
  /// `capacity` bounds the queue; records beyond it are counted and reported, never block.
  LogWorker(Sink sink, std::size_t capacity = 65536);
  ~LogWorker();
  void submit(RequestRecord record);
  /// Processes everything queued, then stops the thread.
  void stop();
  std::uint64_t dropped() const { return dropped_.load(); }

 private:
  void run();
  Sink sink_;
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<RequestRecord> queue_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> dropped_{0};
  std::thread thread_;
};

/// The access log line for a record (no secrets, no prompt text).
std::string access_line(const RequestRecord& record);

/// The access log line as one JSON object (JSON Lines): always the same fields, null where the
/// record has no value; `time` is when the request ended. Like access_line: the key's mask only,
/// never a secret, no prompt text.
std::string access_json_line(const RequestRecord& record);

/// Logs the access line of `record` in `format`.
void log_access_line(const RequestRecord& record, LogFormat format);

}  // namespace gateway
