// The heap is trimmed once per busy period, after a quiet one.
#include "util/idle_memory_return.h"

#include <gtest/gtest.h>

namespace gateway {
namespace {

using namespace std::chrono_literals;
using Clock = IdleMemoryReturn::Clock;

TEST(IdleMemoryReturnTest, TrimsOnceAfterTheQuietPeriodThatFollowsABusyOne) {
  int trims = 0;
  IdleMemoryReturn memory(10s, [&trims] { ++trims; });
  const auto t0 = Clock::time_point(1000s);
  memory.observe(0, t0);
  memory.observe(0, t0 + 60s);
  EXPECT_EQ(trims, 0) << "never busy: nothing to give back";
  memory.observe(9000, t0 + 61s);
  memory.observe(0, t0 + 62s);
  memory.observe(0, t0 + 71s);
  EXPECT_EQ(trims, 0) << "quiet for 9 s only";
  memory.observe(0, t0 + 72s);
  EXPECT_EQ(trims, 1);
  memory.observe(0, t0 + 200s);
  EXPECT_EQ(trims, 1) << "once per busy period";
}

TEST(IdleMemoryReturnTest, ActivityRestartsTheQuietPeriod) {
  int trims = 0;
  IdleMemoryReturn memory(10s, [&trims] { ++trims; });
  const auto t0 = Clock::time_point(1000s);
  memory.observe(5, t0);
  memory.observe(0, t0 + 1s);
  memory.observe(3, t0 + 8s);  // busy again before the quiet period ended
  memory.observe(0, t0 + 9s);
  memory.observe(0, t0 + 18s);
  EXPECT_EQ(trims, 0);
  memory.observe(0, t0 + 19s);
  EXPECT_EQ(trims, 1);
  memory.observe(1, t0 + 20s);
  memory.observe(0, t0 + 21s);
  memory.observe(0, t0 + 31s);
  EXPECT_EQ(trims, 2) << "a new busy period gets its own trim";
}

}  // namespace
}  // namespace gateway
