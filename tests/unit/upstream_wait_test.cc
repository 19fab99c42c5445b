// RequestRecord::upstream_wait from the times the request and its upstream exchange were stamped.
#include "pipeline/upstream_wait.h"

#include <gtest/gtest.h>

namespace gateway {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
const auto t0 = std::chrono::steady_clock::time_point(std::chrono::hours(1));

TEST(UpstreamWaitTest, ZeroWhenTheRequestNeverWentUpstream) {
  EXPECT_EQ(upstream_wait(t0, std::nullopt, std::nullopt, t0 + milliseconds(50)), microseconds(0));
}

TEST(UpstreamWaitTest, FromTheHandOverToTheEndOfTheExchange) {
  EXPECT_EQ(upstream_wait(t0, t0 + milliseconds(2), t0 + milliseconds(40), t0 + milliseconds(45)),
            microseconds(38'000));
}

TEST(UpstreamWaitTest, UntilTheRequestEndedWhenTheExchangeHadNotEnded) {
  EXPECT_EQ(upstream_wait(t0, t0 + milliseconds(2), std::nullopt, t0 + milliseconds(45)),
            microseconds(43'000));
}

TEST(UpstreamWaitTest, UntilTheRequestEndedWhenThatCameFirst) {
  EXPECT_EQ(upstream_wait(t0, t0 + milliseconds(2), t0 + milliseconds(90), t0 + milliseconds(45)),
            microseconds(43'000));
}

TEST(UpstreamWaitTest, NeverNegativeNorLongerThanTheRequestWhateverTheStampOrder) {
  const auto end = t0 + milliseconds(10);
  // An end stamped before the hand-over, a hand-over stamped before the request began or after it ended.
  EXPECT_EQ(upstream_wait(t0, t0 + milliseconds(5), t0 + milliseconds(3), end), microseconds(0));
  EXPECT_EQ(upstream_wait(t0, t0 - milliseconds(5), std::nullopt, end), microseconds(10'000));
  EXPECT_EQ(upstream_wait(t0, t0 + milliseconds(20), std::nullopt, end), microseconds(0));
  EXPECT_EQ(upstream_wait(t0, t0, std::nullopt, t0 - milliseconds(1)), microseconds(0));
}

}  // namespace
}  // namespace gateway
