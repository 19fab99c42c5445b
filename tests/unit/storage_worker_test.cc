// The storage worker: usage rows and jobs on one thread, in order, with bounded queues and
// every queued row committed on stop.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <thread>

#include "storage/storage.h"
#include "storage/storage_worker.h"
#include "usage_rows.h"

using namespace gateway;
using namespace testing_support;

namespace {

constexpr auto kNever = std::chrono::hours(1);  // no timed flushes: only jobs and stop() flush

class StorageWorkerTest : public ::testing::Test {
 protected:
  std::int64_t stored_rows() { return count(store_.database(), "SELECT COUNT(*) FROM usage_requests"); }
  /// Posts a job that returns the number of stored rows, and waits for its answer.
  static std::int64_t rows_seen_by_a_job(StorageWorker& worker) {
    std::promise<std::int64_t> seen;
    auto answer = seen.get_future();
    EXPECT_TRUE(worker.post([&seen](Storage& store) {
      seen.set_value(count(store.database(), "SELECT COUNT(*) FROM usage_requests"));
    }));
    return answer.wait_for(std::chrono::seconds(10)) == std::future_status::ready ? answer.get() : -1;
  }
  TempDb file_;
  Storage store_{file_.path()};
};

}  // namespace

TEST_F(StorageWorkerTest, RowsSubmittedBeforeAJobAreVisibleToIt) {
  StorageWorker worker(store_, 1000, kNever);
  for (int i = 0; i < 5; ++i) worker.submit(row(1000 + i, "k", "m", "t"));
  EXPECT_EQ(rows_seen_by_a_job(worker), 5);
  worker.submit(row(2000, "k", "m", "t"));
  EXPECT_EQ(rows_seen_by_a_job(worker), 6);
  EXPECT_EQ(rows_seen_by_a_job(worker), 6);
  worker.stop();
  EXPECT_EQ(worker.usage_written(), 6u);
}

TEST_F(StorageWorkerTest, RowsSubmittedWhileAJobRunsAreVisibleToTheNextJob) {
  StorageWorker worker(store_, 1000, kNever);
  worker.submit(row(1000, "k", "m", "t"));
  std::latch started(1), release(1);
  ASSERT_TRUE(worker.post([&](Storage&) {
    started.count_down();
    release.wait();
  }));
  started.wait();
  worker.submit(row(2000, "k", "m", "t"));  // queued while the first job holds the worker
  std::promise<std::int64_t> seen;
  auto answer = seen.get_future();
  ASSERT_TRUE(worker.post([&seen](Storage& store) {
    seen.set_value(count(store.database(), "SELECT COUNT(*) FROM usage_requests"));
  }));
  release.count_down();
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(answer.get(), 2) << "the second job must see the row submitted before it was posted";
}

TEST_F(StorageWorkerTest, StopRunsQueuedJobsAndCommitsEveryQueuedRow) {
  std::atomic<int> ran{0};
  {
    StorageWorker worker(store_, 100'000, kNever);
    std::latch started(1), release(1);
    ASSERT_TRUE(worker.post([&](Storage&) {
      started.count_down();
      release.wait();
      ++ran;
    }));
    started.wait();
    for (int i = 0; i < 2000; ++i) worker.submit(row(1000 + i, "k" + std::to_string(i % 5), "m", "t"));
    ASSERT_TRUE(worker.post([&](Storage&) { ++ran; }));
    std::thread releaser([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      release.count_down();
    });
    worker.stop();
    releaser.join();
    EXPECT_EQ(ran.load(), 2) << "queued jobs run before the worker stops";
    EXPECT_EQ(worker.usage_written(), 2000u);
    EXPECT_EQ(worker.usage_dropped(), 0u);
    EXPECT_FALSE(worker.post([](Storage&) {})) << "no jobs after stop()";
    worker.stop();  // a second stop is harmless
  }
  EXPECT_EQ(stored_rows(), 2000);
  EXPECT_EQ(count(store_.database(), "SELECT SUM(requests) FROM usage_daily"), 2000);
}

TEST_F(StorageWorkerTest, TimedFlushesCommitWithoutJobs) {
  StorageWorker worker(store_, 1000, std::chrono::milliseconds(20));
  worker.submit(row(1000, "k", "m", "t"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (worker.usage_written() < 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(worker.usage_written(), 1u);
}

TEST_F(StorageWorkerTest, CloseJobsWaitsForQueuedJobsThenRefusesNewOnes) {
  StorageWorker worker(store_, 1000, kNever);
  std::atomic<int> ran{0};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(worker.post([&](Storage&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      ++ran;
    }));
  }
  worker.close_jobs();
  EXPECT_EQ(ran.load(), 3) << "close_jobs() returns once the queued jobs have run";
  EXPECT_FALSE(worker.post([&](Storage&) { ++ran; }));
  worker.close_jobs();  // again: nothing to wait for
  worker.submit(row(1000, "k", "m", "t"));
  worker.stop();
  EXPECT_EQ(ran.load(), 3);
  EXPECT_EQ(worker.usage_written(), 1u) << "usage is still written after close_jobs()";
}

TEST_F(StorageWorkerTest, AFullJobQueueRefusesMoreJobs) {
  StorageWorker worker(store_, 1000, kNever, 2);
  std::latch started(1), release(1);
  std::atomic<int> ran{0};
  ASSERT_TRUE(worker.post([&](Storage&) {
    started.count_down();
    release.wait();
    ++ran;
  }));
  started.wait();  // the first job left the queue and blocks the worker
  EXPECT_TRUE(worker.post([&](Storage&) { ++ran; }));
  EXPECT_TRUE(worker.post([&](Storage&) { ++ran; }));
  EXPECT_FALSE(worker.post([&](Storage&) { ++ran; })) << "two queued jobs fill a queue of two";
  release.count_down();
  worker.close_jobs();
  EXPECT_EQ(ran.load(), 3);
}

TEST_F(StorageWorkerTest, AFailingJobDoesNotStopTheWorker) {
  StorageWorker worker(store_, 1000, kNever);
  ASSERT_TRUE(worker.post([](Storage&) { throw std::runtime_error("boom"); }));
  worker.submit(row(1000, "k", "m", "t"));
  EXPECT_EQ(rows_seen_by_a_job(worker), 1);
}

TEST_F(StorageWorkerTest, AFullUsageQueueDropsAndCountsRows) {
  StorageWorker worker(store_, 3, kNever);
  for (int i = 0; i < 5; ++i) worker.submit(row(1000 + i, "k", "m", "t"));
  EXPECT_EQ(worker.usage_dropped(), 2u);
  worker.stop();
  EXPECT_EQ(worker.usage_written(), 3u);
  EXPECT_EQ(stored_rows(), 3);
}
