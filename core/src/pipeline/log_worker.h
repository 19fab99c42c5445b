// The log phase: a background thread that receives finished-request records, writes the access
// log line and runs the plugins' on_log. Request threads only enqueue.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "gateway/plugin.h"
#include "util/log.h"

namespace gateway {

struct Generation;

class LogWorker {
 public:
  /// Runs the log phase of `record` on `generation`, the configuration its request ran on (null
  /// when the submitter named none).
  using Sink = std::function<void(const RequestRecord& record, const Generation* generation)>;
  /// `capacity` bounds the queue; records beyond it are counted and reported, never block.
  LogWorker(Sink sink, std::size_t capacity = 65536);
  ~LogWorker();
  /// Queues `record` without blocking; a full queue (or a stopped worker) drops it and counts it.
  /// The worker holds `generation` until the sink has run, and lets it go on its own thread.
  void submit(RequestRecord record, std::shared_ptr<const Generation> generation = nullptr);
  /// Processes everything queued, then stops the thread.
  void stop();
  /// Records dropped, every route.
  std::uint64_t dropped() const { return dropped_.load(); }
  /// Chat-route records dropped: each is a usage row that will never be stored.
  std::uint64_t dropped_chat() const { return dropped_chat_.load(); }
  /// Records queued whose sink has not started yet. A cheap atomic read for monitoring.
  std::size_t queued() const { return queued_.load(std::memory_order_relaxed); }

 private:
  void run();
  Sink sink_;
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable wake_;
  struct Entry {
    RequestRecord record;
    std::shared_ptr<const Generation> generation;
  };
  std::deque<Entry> queue_;
  bool stopping_ = false;
  bool stopped_ = false;  ///< the thread has exited: later records are dropped
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> dropped_chat_{0};
  std::atomic<std::size_t> queued_{0};
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
