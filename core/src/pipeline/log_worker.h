// The log phase: a background thread that receives finished-request records, writes the access
// log line and runs the plugins' on_log. Request threads only enqueue; the thread takes what
// queued in batches, at most one batch per linger period, so a busy gateway wakes it a few
// hundred times a second rather than once per request.
#pragma once

#include <atomic>
#include <chrono>
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
  /// Runs after the sink has seen every record of a batch (to write what it collected at once).
  using BatchEnd = std::function<void()>;
  /// How long the thread waits after a batch before it takes the next one.
  static constexpr std::chrono::milliseconds kLinger{2};
  /// `capacity` bounds the queue; records beyond it are counted and reported, never block.
  explicit LogWorker(Sink sink, std::size_t capacity = 65536, BatchEnd batch_end = {});
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
  BatchEnd batch_end_;
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

/// Collects the access lines of one batch of records, each with its time and level, and writes
/// them as one block: one logger entry and one write per batch instead of per request.
class AccessLogBatch {
 public:
  /// Adds the access line of `record` in `format` (nothing when info lines are filtered out).
  void add(const RequestRecord& record, LogFormat format);
  /// Writes what was added since the last flush.
  void flush();

 private:
  std::string block_;
};

}  // namespace gateway
