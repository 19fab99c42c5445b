// The storage thread: usage rows in timed batches and admin jobs, in order.
#include "storage/storage_worker.h"

#include "util/log.h"
#include "util/thread_role.h"

namespace gateway {

StorageWorker::StorageWorker(Storage& store, std::size_t usage_capacity,
                             std::chrono::milliseconds flush_interval, std::size_t job_capacity)
    : store_(store),
      usage_capacity_(usage_capacity),
      flush_interval_(flush_interval),
      job_capacity_(job_capacity),
      thread_([this] { run(); }) {}

StorageWorker::~StorageWorker() {
  stop();
}

void StorageWorker::submit(UsageRow row) {
  std::lock_guard lock(mutex_);
  if (usage_.size() >= usage_capacity_ || stopped_) {
    const auto dropped = dropped_.fetch_add(1) + 1;
    if ((dropped & (dropped - 1)) == 0) {
      log_message(LogLevel::Error, std::string(stopped_ ? "usage writer stopped" : "usage queue full") +
                                       ": " + std::to_string(dropped) + " usage rows dropped so far");
    }
    return;
  }
  usage_.push_back(std::move(row));
  pending_.fetch_add(1, std::memory_order_relaxed);
}

bool StorageWorker::post(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || jobs_closed_ || jobs_.size() >= job_capacity_) return false;
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void StorageWorker::close_jobs() {
  std::unique_lock lock(mutex_);
  jobs_closed_ = true;
  wake_.notify_one();
  jobs_done_.wait(lock, [this] { return (jobs_.empty() && !job_running_); });
}

void StorageWorker::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

bool StorageWorker::flush(std::deque<UsageRow>& batch, std::unique_lock<std::mutex>& lock) {
  if (batch.empty()) return true;
  // Usage rows wait for CPU time the requests leave over, so a commit never delays a request;
  // once they pile up (the cores are saturated) or a job waits, they take their fair share.
  const bool backlog = !jobs_.empty() || batch.size() + usage_.size() >= kCatchUpRows;
  set_cpu_share(backlog ? CpuShare::Fair : CpuShare::Leftover);
  lock.unlock();
  bool ok = false;
  try {
    // Usage is batched for throughput: a crash of the process loses nothing committed, a power
    // loss at most the last batches.
    db::SynchronousScope normal(store_.database(), db::SynchronousScope::Normal);
    write_usage(store_.database(), batch);
    written_.fetch_add(batch.size());
    pending_.fetch_sub(batch.size(), std::memory_order_relaxed);
    ok = true;
  } catch (const std::exception& e) {
    log_message(LogLevel::Error, std::string("usage write failed, will retry: ") + e.what());
  }
  set_cpu_share(CpuShare::Fair);
  lock.lock();
  if (!ok) {  // keep the rows, ahead of newer ones, and try again next time
    for (auto it = batch.rbegin(); it != batch.rend(); ++it) usage_.push_front(std::move(*it));
  }
  batch.clear();
  return ok;
}

void StorageWorker::run() {
  become_background_thread("gw-storage");
  std::unique_lock lock(mutex_);
  auto next_flush = std::chrono::steady_clock::now() + flush_interval_;
  for (;;) {
    wake_.wait_until(lock, next_flush, [this] { return stopping_ || !jobs_.empty(); });
    const bool due = std::chrono::steady_clock::now() >= next_flush;
    if (!jobs_.empty() || due || stopping_) {
      // A job may read usage: commit the rows queued before it first.
      const auto flush_queued = [&] {
        std::deque<UsageRow> batch;
        batch.swap(usage_);
        return flush(batch, lock);
      };
      bool flushed = flush_queued();
      if (due || !flushed) next_flush = std::chrono::steady_clock::now() + flush_interval_;
      while (!jobs_.empty()) {
        // Rows queued while the lock was released (during the flush or the previous job) were
        // submitted before this job may have been posted: commit them too.
        if (flushed && !usage_.empty()) flushed = flush_queued();
        auto job = std::move(jobs_.front());
        jobs_.pop_front();
        job_running_ = true;
        lock.unlock();
        try {
          job(store_);
        } catch (const std::exception& e) {
          log_message(LogLevel::Error, std::string("storage job failed: ") + e.what());
        }
        lock.lock();
        job_running_ = false;
      }
      jobs_done_.notify_all();
      if (stopping_) {
        if (usage_.empty() && jobs_.empty()) {
          stopped_ = true;
          return;
        }
        if (!flushed && usage_.size() > 0) {
          log_message(LogLevel::Error,
                      std::to_string(usage_.size()) + " usage rows could not be written at shutdown");
          dropped_.fetch_add(usage_.size());
          pending_.fetch_sub(usage_.size(), std::memory_order_relaxed);
          usage_.clear();
          stopped_ = true;
          return;
        }
      }
    }
  }
}

}  // namespace gateway
