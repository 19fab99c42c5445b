#include "util/task_worker.h"
#include "util/thread_role.h"

#include <utility>

namespace gateway {

TaskWorker::TaskWorker(std::size_t capacity) : capacity_(capacity), thread_([this] { run(); }) {}

TaskWorker::~TaskWorker() {
  stop();
}

bool TaskWorker::submit(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= capacity_) return false;
    queue_.push_back(std::move(task));
  }
  wake_.notify_one();
  return true;
}

void TaskWorker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void TaskWorker::run() {
  become_background_thread("gw-tasks");
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything queued has run
    auto task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
}

}  // namespace gateway
