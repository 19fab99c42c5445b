// The live figures a monitoring plugin reads (GatewayMonitor) and the worker counters behind them.
#include "pipeline/gateway_monitor.h"

#include <gtest/gtest.h>

#include <future>

#include "pipeline/request_state.h"
#include "temp_db.h"

namespace gateway {
namespace {

using testing_support::TempDb;

RequestRecord record_of(Route route) {
  RequestRecord record;
  record.route = route;
  return record;
}

/// A LogWorker whose sink blocks on its first record until release() (so the queue fills).
class HeldLogWorker {
 public:
  HeldLogWorker()
      : worker_(
            [this](const RequestRecord&, const Generation*) {
              if (first_) {
                first_ = false;
                entered_.set_value();
                released_.get_future().wait();
              }
            },
            1) {}
  ~HeldLogWorker() { release(); }
  /// Submits a record and waits until the sink holds it.
  void hold_one() {
    worker_.submit(record_of(Route::ChatCompletions));
    entered_.get_future().wait();
  }
  void release() {
    if (!released_set_) released_.set_value();
    released_set_ = true;
  }
  LogWorker& worker() { return worker_; }

 private:
  bool first_ = true;  // sink thread only
  bool released_set_ = false;
  std::promise<void> entered_;
  std::promise<void> released_;
  LogWorker worker_;  // last: its thread starts once the rest exists
};

TEST(LogWorkerCountersTest, CountsQueuedRecordsAndDroppedChatRecordsApart) {
  HeldLogWorker held;
  held.hold_one();
  auto& log = held.worker();
  EXPECT_EQ(log.queued(), 0u) << "the held record has left the queue";
  log.submit(record_of(Route::ChatCompletions));
  EXPECT_EQ(log.queued(), 1u);
  log.submit(record_of(Route::ChatCompletions));  // the queue (capacity 1) is full
  log.submit(record_of(Route::Models));
  EXPECT_EQ(log.dropped(), 2u);
  EXPECT_EQ(log.dropped_chat(), 1u) << "only the chat record was a usage row";
  held.release();
  log.stop();
  EXPECT_EQ(log.queued(), 0u);
  log.submit(record_of(Route::ChatCompletions));
  EXPECT_EQ(log.dropped_chat(), 2u) << "a stopped worker drops and counts";
}

TEST(StorageWorkerCountersTest, UsageRowsArePendingUntilCommitted) {
  TempDb file;
  auto store = open_storage(file.path());
  StorageWorker storage(*store, 2, std::chrono::hours(1));
  storage.submit(UsageRow{});
  storage.submit(UsageRow{});
  EXPECT_EQ(storage.usage_pending(), 2u);
  storage.submit(UsageRow{});  // over capacity
  EXPECT_EQ(storage.usage_dropped(), 1u);
  storage.stop();  // commits what is queued
  EXPECT_EQ(storage.usage_pending(), 0u);
  EXPECT_EQ(storage.usage_written(), 2u);
}

TEST(GatewayMonitorTest, ReadsNothingUntilAttachedAndKeepsTheLastFiguresWhenDetached) {
  LiveGatewayMonitor monitor;
  EXPECT_EQ(monitor.stats().in_flight_requests, 0);
  EXPECT_EQ(monitor.stats().usage_rows_dropped, 0u);

  TempDb file;
  auto store = open_storage(file.path());
  StorageWorker storage(*store, 1, std::chrono::hours(1));
  HeldLogWorker held;
  UpstreamLoops upstream(1, 4);
  GatewayServices services;
  services.in_flight = 3;
  services.open_streams = 1;
  services.config_reloads_succeeded = 4;
  services.config_reloads_failed = 2;
  {
    const LiveGatewayMonitor::Attachment attachment(monitor,
                                                    {&services, &upstream, &held.worker(), &storage});
    held.hold_one();
    held.worker().submit(record_of(Route::ChatCompletions));  // queued
    held.worker().submit(record_of(Route::ChatCompletions));  // dropped: a lost usage row
    storage.submit(UsageRow{});                               // pending
    storage.submit(UsageRow{});                               // dropped
    const auto live = monitor.stats();
    EXPECT_EQ(live.in_flight_requests, 3);
    EXPECT_EQ(live.open_streams, 1);
    EXPECT_EQ(live.upstream_connections, 0) << "no transfer ever ran";
    EXPECT_EQ(live.usage_queue_depth, 2) << "one log record and one usage row";
    EXPECT_EQ(live.usage_rows_dropped, 2u);
    EXPECT_EQ(live.config_reloads_succeeded, 4u);
    EXPECT_EQ(live.config_reloads_failed, 2u);
  }
  services.in_flight = 0;
  const auto last = monitor.stats();
  EXPECT_EQ(last.in_flight_requests, 3) << "detached: the figures at the detach";
  EXPECT_EQ(last.usage_rows_dropped, 2u);
}

}  // namespace
}  // namespace gateway
