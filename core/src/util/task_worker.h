// One background thread that runs queued tasks in order: work that must not occupy a reactor
// thread (such as serializing every metric series for a scrape) but needs no thread of its own.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace gateway {

class TaskWorker {
 public:
  /// `capacity` bounds the queue: submit() refuses beyond it instead of blocking.
  explicit TaskWorker(std::size_t capacity = 64);
  /// Runs what is queued, then stops the thread.
  ~TaskWorker();
  TaskWorker(const TaskWorker&) = delete;
  TaskWorker& operator=(const TaskWorker&) = delete;

  /// Queues `task` (which must not throw) without blocking; false (nothing queued) when the
  /// queue is full or the worker stopped.
  bool submit(std::function<void()> task);
  /// Runs what is queued, refuses later tasks and joins the thread. Idempotent.
  void stop();

 private:
  void run();
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace gateway
