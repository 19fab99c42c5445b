// Unit tests of the x-ratelimit-* headers and OpenAI's duration format.
#include "limit_headers.h"

#include <gtest/gtest.h>

namespace e2b::rate_limit {
namespace {

using namespace std::chrono_literals;

TEST(RateLimitHeaders, DurationsAsOpenAIWritesThem) {
  EXPECT_EQ(openai_duration(0ms), "0s");
  EXPECT_EQ(openai_duration(-5ms), "0s");
  EXPECT_EQ(openai_duration(59ms), "59ms");
  EXPECT_EQ(openai_duration(999ms), "999ms");
  EXPECT_EQ(openai_duration(1000ms), "1s");
  EXPECT_EQ(openai_duration(1001ms), "2s") << "whole seconds, rounded up";
  EXPECT_EQ(openai_duration(59s), "59s");
  EXPECT_EQ(openai_duration(6min), "6m0s");
  EXPECT_EQ(openai_duration(1h + 2min + 3s), "1h2m3s");
  EXPECT_EQ(openai_duration(2h), "2h0m0s");
  EXPECT_EQ(openai_duration(std::chrono::hours(24 * 31)), "744h0m0s");
}

TEST(RateLimitHeaders, OnlyTheKindsThatHaveALimit) {
  Meters meters;
  EXPECT_TRUE(limit_headers(meters).empty());
  meters.tokens = Meter{1000, 250, 6min};
  auto h = limit_headers(meters);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(gateway::find_header(h, "x-ratelimit-limit-tokens"), "1000");
  EXPECT_EQ(gateway::find_header(h, "x-ratelimit-remaining-tokens"), "250");
  EXPECT_EQ(gateway::find_header(h, "x-ratelimit-reset-tokens"), "6m0s");
  meters.requests = Meter{5, 0, 12s};
  h = limit_headers(meters);
  ASSERT_EQ(h.size(), 6u);
  EXPECT_EQ(gateway::find_header(h, "x-ratelimit-limit-requests"), "5");
  EXPECT_EQ(gateway::find_header(h, "x-ratelimit-remaining-requests"), "0");
  EXPECT_EQ(gateway::find_header(h, "x-ratelimit-reset-requests"), "12s");
}

}  // namespace
}  // namespace e2b::rate_limit
