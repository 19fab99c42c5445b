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

namespace gateway {

class LogWorker {
 public:
  using Sink = std::function<void(const RequestRecord&)>;
  /// `capacity` bounds the queue; records beyond it are counted and reported, never block.
  LogWorker(Sink sink, std::size_t capacity = 65536);
  ~LogWorker();
  /// Queues `record` without blocking; a full queue (or a stopped worker) drops it and counts it.
  void submit(RequestRecord record);
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
  std::deque<RequestRecord> queue_;
  bool stopping_ = false;
  bool stopped_ = false;  ///< the thread has exited: later records are dropped
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> dropped_chat_{0};
  std::atomic<std::size_t> queued_{0};
  std::thread thread_;
};

/// The access log line for a record (no secrets, no prompt text).
std::string access_line(const RequestRecord& record);

}  // namespace gateway
