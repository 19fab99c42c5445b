// A configuration reload replaces the limiter: the new one shares the old one's counters
// (Limiter::share_counters_of), so limits keep counting and old requests release their slots.
#include <gtest/gtest.h>

#include "limiter.h"

namespace e2b::rate_limit {
namespace {

using namespace std::chrono_literals;
using namespace date::literals;
using gateway::Principal;
using gateway::RateLimits;
using nlohmann::json;

const TimePoint t0 = date::sys_days(2026_y / 12 / 1) + 6h;

Principal caller() {
  Principal p;
  p.authenticated = true;
  p.key_id = "key_a";
  p.tenant_id = "ten_a";
  return p;
}

Limiter limiter(const json& key_defaults) {
  return Limiter(LimiterSettings{date::locate_zone("UTC"), RateLimits::from_json(key_defaults), {}});
}

TEST(LimiterReload, ASlotTakenBeforeTheReloadCountsAndIsReleasedThroughTheOldLimiter) {
  auto running = limiter({{"max_concurrent", 1}});
  const auto held = running.admit(caller(), 10, t0);
  ASSERT_TRUE(held.ticket);

  auto reloaded = limiter({{"max_concurrent", 1}, {"requests_per_minute", 60}});
  reloaded.share_counters_of(running);
  const auto refused = reloaded.admit(caller(), 10, t0 + 1s);
  ASSERT_TRUE(refused.refusal);
  EXPECT_EQ(refused.refusal->limit, Limit::MaxConcurrent);

  running.settle(*held.ticket, 10, false, t0 + 2s);  // the old request ends after the reload
  EXPECT_TRUE(reloaded.admit(caller(), 10, t0 + 3s).ticket);
}

TEST(LimiterReload, NewLimitsApplyToTheCountsSoFar) {
  auto running = limiter({});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(running.admit(caller(), 10, t0).ticket);
  auto reloaded = limiter({{"requests_per_day", 4}});
  reloaded.share_counters_of(running);
  EXPECT_TRUE(reloaded.admit(caller(), 10, t0 + 1s).ticket);
  const auto refused = reloaded.admit(caller(), 10, t0 + 2s);
  ASSERT_TRUE(refused.refusal);
  EXPECT_EQ(refused.refusal->limit, Limit::RequestsPerDay);
}

TEST(LimiterReload, WithoutSharingANewLimiterStartsFromZero) {
  auto running = limiter({{"max_concurrent", 1}});
  ASSERT_TRUE(running.admit(caller(), 10, t0).ticket);
  auto fresh = limiter({{"max_concurrent", 1}});
  EXPECT_TRUE(fresh.admit(caller(), 10, t0).ticket);
}

}  // namespace
}  // namespace e2b::rate_limit
