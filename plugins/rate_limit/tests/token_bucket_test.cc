// Unit tests of the token bucket: burst, smooth refill, clamping and waits.
#include "token_bucket.h"

#include <gtest/gtest.h>

namespace e2b::rate_limit {
namespace {

using namespace std::chrono_literals;

const TimePoint t0 = TimePoint{} + 1'000'000s;

TEST(TokenBucket, StartsFullSoAMinutesAllowanceMayGoAtOnce) {
  TokenBucket b(60, t0);
  EXPECT_DOUBLE_EQ(b.level(), 60);
  for (int i = 0; i < 60; ++i) b.take(1);
  EXPECT_DOUBLE_EQ(b.level(), 0);
  EXPECT_EQ(b.time_until(1, 60), 1000ms) << "refills one per second at 60 per minute";
}

TEST(TokenBucket, RefillsSmoothlyAndNeverAboveCapacity) {
  TokenBucket b(120, t0);
  b.take(120);
  b.refill(120, t0 + 500ms);
  EXPECT_DOUBLE_EQ(b.level(), 1) << "120 per minute = 2 per second";
  b.refill(120, t0 + 30s);
  EXPECT_DOUBLE_EQ(b.level(), 60);
  b.refill(120, t0 + 10min);
  EXPECT_DOUBLE_EQ(b.level(), 120);
  EXPECT_EQ(b.time_until_full(120), 0ms);
}

TEST(TokenBucket, LoweringTheLimitClampsAndRaisingItRefillsAtTheNewRate) {
  TokenBucket b(100, t0);
  b.refill(10, t0);
  EXPECT_DOUBLE_EQ(b.level(), 10);
  b.take(10);
  b.refill(600, t0 + 1s);
  EXPECT_DOUBLE_EQ(b.level(), 10) << "600 per minute = 10 per second";
}

TEST(TokenBucket, GoesNegativeOnOverrunAndGivesBackUpToCapacity) {
  TokenBucket b(60, t0);
  b.take(70);
  EXPECT_DOUBLE_EQ(b.level(), -10);
  EXPECT_EQ(b.time_until(1, 60), 11000ms);
  b.give(100, 60);
  EXPECT_DOUBLE_EQ(b.level(), 60);
}

TEST(TokenBucket, AClockSteppedBackAddsAndTakesNothing) {
  TokenBucket b(60, t0);
  b.take(30);
  b.refill(60, t0 - 10s);
  EXPECT_DOUBLE_EQ(b.level(), 30);
  b.refill(60, t0 + 1s);
  EXPECT_DOUBLE_EQ(b.level(), 31);
}

}  // namespace
}  // namespace e2b::rate_limit
