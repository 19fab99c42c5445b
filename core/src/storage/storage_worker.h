// The one thread that talks to SQLite while the gateway serves. It owns the read-write
// connection (through Storage) and runs two kinds of work in order: queued jobs (admin
// changes and queries, self-service usage), each committed before its answer is posted; and
// usage rows, queued without blocking and committed in batches at most every flush interval.
// Request threads never touch SQLite.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "storage/storage.h"
#include "storage/usage_store.h"

namespace gateway {

class StorageWorker {
 public:
  using Job = std::function<void(Storage&)>;

  StorageWorker(Storage& store, std::size_t usage_capacity = 200'000,
                std::chrono::milliseconds flush_interval = std::chrono::milliseconds(100),
                std::size_t job_capacity = 1024);
  ~StorageWorker();
  StorageWorker(const StorageWorker&) = delete;
  StorageWorker& operator=(const StorageWorker&) = delete;

  /// Queues a usage row without blocking; a full queue drops it, counts it and logs it.
  void submit(UsageRow row);
  /// Queues a job; false (nothing queued) when the job queue is full or the worker stopped.
  /// Jobs see every usage row submitted before them.
  bool post(Job job);
  /// Refuses new jobs and waits until the queued ones have run (their answers are posted).
  void close_jobs();
  /// Runs queued jobs, commits every queued usage row, then stops the thread.
  void stop();

  std::uint64_t usage_written() const { return written_.load(); }
  /// Usage rows lost: refused by a full queue or a stopped worker, or unwritable at shutdown.
  std::uint64_t usage_dropped() const { return dropped_.load(); }
  /// Usage rows accepted and not yet committed (queued, or in the batch being written). A
  /// cheap atomic read for monitoring.
  std::size_t usage_pending() const { return pending_.load(std::memory_order_relaxed); }

 private:
  void run();
  /// Commits `batch`; on failure puts it back at the head of the queue. False on failure.
  bool flush(std::deque<UsageRow>& batch, std::unique_lock<std::mutex>& lock);

  Storage& store_;
  std::size_t usage_capacity_;
  std::chrono::milliseconds flush_interval_;
  /// Queued rows from which a commit takes a fair share of the CPU instead of what is left over.
  static constexpr std::size_t kCatchUpRows = 10'000;
  std::size_t job_capacity_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable jobs_done_;
  std::deque<UsageRow> usage_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  bool jobs_closed_ = false;
  bool stopped_ = false;  ///< the thread has exited: later rows are counted as dropped
  bool job_running_ = false;
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::size_t> pending_{0};
  std::thread thread_;
};

}  // namespace gateway
