// The background task worker: order, the bounded queue, and stopping after what was queued.
#include "util/task_worker.h"

#include <gtest/gtest.h>

#include <future>
#include <vector>

namespace gateway {
namespace {

TEST(TaskWorkerTest, RunsTasksInTheOrderTheyWereQueued) {
  std::vector<int> ran;
  {
    TaskWorker worker;
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(worker.submit([&ran, i] { ran.push_back(i); }));
  }  // the destructor runs what is queued
  EXPECT_EQ(ran, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(TaskWorkerTest, RefusesBeyondItsCapacityWithoutBlocking) {
  TaskWorker worker(2);
  std::promise<void> release;
  std::promise<void> started;
  auto released = release.get_future().share();
  ASSERT_TRUE(worker.submit([&started, released] {
    started.set_value();
    released.wait();
  }));
  started.get_future().wait();  // the first task runs, so the queue is empty again
  int ran = 0;
  EXPECT_TRUE(worker.submit([&ran] { ++ran; }));
  EXPECT_TRUE(worker.submit([&ran] { ++ran; }));
  EXPECT_FALSE(worker.submit([&ran] { ++ran; }));
  release.set_value();
  worker.stop();
  EXPECT_EQ(ran, 2);
}

TEST(TaskWorkerTest, StopRunsWhatWasQueuedAndRefusesLaterTasks) {
  TaskWorker worker;
  int ran = 0;
  ASSERT_TRUE(worker.submit([&ran] { ++ran; }));
  worker.stop();
  EXPECT_EQ(ran, 1);
  EXPECT_FALSE(worker.submit([&ran] { ++ran; }));
  worker.stop();  // idempotent
  EXPECT_EQ(ran, 1);
}

}  // namespace
}  // namespace gateway
