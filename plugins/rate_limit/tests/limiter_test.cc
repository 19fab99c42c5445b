// Unit tests of the limiter with a frozen or stepped clock: exact admission under threads,
// reserve and settle arithmetic, periods, refusal order and messages, meters, status, restore.
#include "limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "limit_headers.h"
#include "refusal.h"

namespace e2b::rate_limit {
namespace {

using namespace std::chrono_literals;
using namespace date::literals;
using gateway::Principal;
using gateway::RateLimits;
using nlohmann::json;

const TimePoint t0 = date::sys_days(2026_y / 12 / 1) + 6h;  // a Tuesday morning, UTC

Principal principal(const std::string& key, const json& key_limits, const std::string& tenant = "ten_a",
                    const json& tenant_limits = json::object()) {
  Principal p;
  p.authenticated = true;
  p.key_id = key;
  p.tenant_id = tenant;
  p.key_limits = RateLimits::from_json(key_limits);
  p.tenant_limits = RateLimits::from_json(tenant_limits);
  return p;
}

Limiter limiter(const char* zone = "UTC", const json& key_defaults = json::object(),
                const json& tenant_defaults = json::object()) {
  return Limiter(LimiterSettings{date::locate_zone(zone), RateLimits::from_json(key_defaults),
                                 RateLimits::from_json(tenant_defaults)});
}

/// remaining of the state called `name` at `level`, or nullopt when it does not apply.
std::optional<std::int64_t> remaining(const std::vector<LimitState>& states, std::string_view name,
                                      Level level = Level::Key) {
  for (const auto& s : states) {
    if (limit_name(s.limit) == name && s.level == level) return s.remaining;
  }
  return std::nullopt;
}

TEST(RateLimiter, RequestsPerMinuteAdmitsABurstThenRefillsSmoothly) {
  auto l = limiter();
  const auto p = principal("key_a", {{"requests_per_minute", 6}});
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(l.admit(p, 10, t0).ticket) << i;
  const auto refused = l.admit(p, 10, t0);
  ASSERT_TRUE(refused.refusal);
  EXPECT_EQ(refused.refusal->limit, Limit::RequestsPerMinute);
  EXPECT_EQ(refused.refusal->retry_after, 10) << "6 per minute: one every 10 s";
  EXPECT_FALSE(l.admit(p, 10, t0 + 9s).ticket);
  EXPECT_TRUE(l.admit(p, 10, t0 + 10s).ticket);
  EXPECT_FALSE(l.admit(p, 10, t0 + 10s).ticket);
}

TEST(RateLimiter, ExactUnderConcurrentAdmission) {
  auto l = limiter();
  const auto p = principal("key_a", {{"requests_per_minute", 100}});
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (l.admit(p, 1, t0).ticket) admitted.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 100);
}

TEST(RateLimiter, MaxConcurrentUnderThreadsNeverExceedsTheLimit) {
  auto l = limiter();
  const auto p = principal("key_a", {{"max_concurrent", 3}}, "ten_a", {{"max_concurrent", 5}});
  std::atomic<int> open{0};
  std::atomic<int> peak{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        auto a = l.admit(p, 1, t0);
        if (!a.ticket) {
          EXPECT_EQ(a.refusal->limit, Limit::MaxConcurrent);
          refused.fetch_add(1);
          continue;
        }
        const int now_open = open.fetch_add(1) + 1;
        int seen = peak.load();
        while (now_open > seen && !peak.compare_exchange_weak(seen, now_open)) {
        }
        open.fetch_sub(1);
        l.settle(*a.ticket, 1, false, t0);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(peak.load(), 3);
  EXPECT_EQ(remaining(l.status(p, t0), "max_concurrent"), 3) << "every slot came back";
  EXPECT_EQ(remaining(l.status(p, t0), "max_concurrent", Level::Tenant), 5);
}

TEST(RateLimiter, ConcurrencySlotsAreHeldUntilSettledAndRefusedAtOnce) {
  auto l = limiter();
  const auto p = principal("key_a", {{"max_concurrent", 2}});
  auto a = l.admit(p, 1, t0);
  auto b = l.admit(p, 1, t0);
  ASSERT_TRUE(a.ticket && b.ticket);
  const auto c = l.admit(p, 1, t0);
  ASSERT_TRUE(c.refusal);
  EXPECT_EQ(c.refusal->retry_after, 1);
  const auto response = refusal_response(*c.refusal);
  EXPECT_EQ(gateway::find_header(response.headers, "retry-after"), "1");
  EXPECT_NE(response.body.find("max_concurrent limit 2"), std::string::npos) << response.body;
  l.settle(*a.ticket, 0, false, t0);
  EXPECT_TRUE(l.admit(p, 1, t0).ticket);
}

TEST(RateLimiter, TokensReserveAtAdmissionAndSettleToWhatWasUsed) {
  auto l = limiter();
  const auto p =
      principal("key_a", {{"tokens_per_minute", 1000}, {"tokens_per_day", 5000}, {"tokens_per_month", 9000}});
  auto a = l.admit(p, 600, t0);
  ASSERT_TRUE(a.ticket);
  EXPECT_EQ(remaining(l.status(p, t0), "tokens_per_minute"), 400);
  EXPECT_EQ(remaining(l.status(p, t0), "tokens_per_day"), 4400);
  EXPECT_TRUE(l.admit(p, 500, t0).refusal) << "600 reserved: 500 more do not fit the bucket";
  l.settle(*a.ticket, 150, false, t0);  // lower than reserved: the rest comes back
  EXPECT_EQ(remaining(l.status(p, t0), "tokens_per_minute"), 850);
  EXPECT_EQ(remaining(l.status(p, t0), "tokens_per_day"), 4850);
  EXPECT_EQ(remaining(l.status(p, t0), "tokens_per_month"), 8850);
  auto b = l.admit(p, 100, t0);
  l.settle(*b.ticket, 900, false, t0);  // higher than reserved: the overrun is charged
  EXPECT_EQ(remaining(l.status(p, t0), "tokens_per_minute"), -50) << "a bucket may go below zero";
  EXPECT_EQ(remaining(l.status(p, t0), "tokens_per_day"), 3950);
  EXPECT_EQ(remaining(l.status(p, t0), "requests_per_day"), std::nullopt) << "not a limit of this key";
}

TEST(RateLimiter, ACancelledRequestSettlesToWhatWasDelivered) {
  auto l = limiter();
  const auto p = principal("key_a", {{"tokens_per_day", 1000}});
  auto a = l.admit(p, 500, t0);
  l.settle(*a.ticket, 42, false, t0 + 3s);  // the record of a cancelled stream holds what was sent
  EXPECT_EQ(remaining(l.status(p, t0 + 3s), "tokens_per_day"), 958);
}

TEST(RateLimiter, ARejectedRequestDoesNotCountAgainstRequestsPerDay) {
  auto l = limiter();
  const auto p = principal("key_a", {{"requests_per_day", 2}, {"requests_per_minute", 10}});
  auto a = l.admit(p, 10, t0);
  EXPECT_EQ(remaining(l.status(p, t0), "requests_per_day"), 1);
  l.settle(*a.ticket, 0, true, t0);  // e.g. a 400 from a later plugin
  EXPECT_EQ(remaining(l.status(p, t0), "requests_per_day"), 2);
  EXPECT_EQ(remaining(l.status(p, t0), "requests_per_minute"), 9) << "the minute's request stays spent";
}

TEST(RateLimiter, AReservationOfYesterdayOnlyReleasesToday) {
  auto l = limiter();
  const auto p =
      principal("key_a", {{"tokens_per_day", 1000}, {"requests_per_day", 10}, {"max_concurrent", 1}});
  const auto late = date::sys_days(2026_y / 12 / 1) + 23h + 59min + 59s;
  auto a = l.admit(p, 800, late);
  ASSERT_TRUE(a.ticket);
  const auto tomorrow = late + 2s;
  EXPECT_EQ(remaining(l.status(p, tomorrow), "tokens_per_day"), 1000) << "a new day starts empty";
  EXPECT_EQ(remaining(l.status(p, tomorrow), "max_concurrent"), 0) << "the slot is still held";
  l.settle(*a.ticket, 50, true, tomorrow);
  EXPECT_EQ(remaining(l.status(p, tomorrow), "tokens_per_day"), 1000);
  EXPECT_EQ(remaining(l.status(p, tomorrow), "requests_per_day"), 10) << "no refund into the new day";
  EXPECT_EQ(remaining(l.status(p, tomorrow), "max_concurrent"), 1);
  auto c = l.admit(p, 100, tomorrow);
  l.settle(*c.ticket, 30, false, tomorrow);
  EXPECT_EQ(remaining(l.status(p, tomorrow), "tokens_per_day"), 970);
}

TEST(RateLimiter, QuotasResetAtMidnightOfTheConfiguredZone) {
  auto l = limiter("America/New_York");
  const auto p = principal("key_a", {{"requests_per_day", 1}});
  const auto evening = date::sys_days(2026_y / 12 / 2) + 4h + 59min;  // 23:59 in New York
  ASSERT_TRUE(l.admit(p, 1, evening).ticket);
  const auto refused = l.admit(p, 1, evening);
  ASSERT_TRUE(refused.refusal);
  EXPECT_EQ(refused.refusal->retry_after, 60);
  EXPECT_EQ(utc_timestamp(*refused.refusal->reset_at), "2026-12-02T05:00:00Z");
  EXPECT_TRUE(l.admit(p, 1, evening + 60s).ticket) << "midnight in New York";
}

TEST(RateLimiter, KeyAndTenantLevelsAreCheckedTogetherAllOrNothing) {
  auto l = limiter();
  const json tenant_limits{{"requests_per_minute", 3}};
  const auto a = principal("key_a", {{"requests_per_minute", 2}}, "ten_x", tenant_limits);
  const auto b = principal("key_b", json::object(), "ten_x", tenant_limits);
  EXPECT_TRUE(l.admit(a, 1, t0).ticket);
  EXPECT_TRUE(l.admit(a, 1, t0).ticket);
  const auto key_refusal = l.admit(a, 1, t0);
  ASSERT_TRUE(key_refusal.refusal);
  EXPECT_EQ(key_refusal.refusal->level, Level::Key);
  EXPECT_EQ(remaining(l.status(a, t0), "requests_per_minute", Level::Tenant), 1)
      << "a request refused at the key level reserved nothing at the tenant level";
  EXPECT_TRUE(l.admit(b, 1, t0).ticket);
  const auto tenant_refusal = l.admit(b, 1, t0);
  ASSERT_TRUE(tenant_refusal.refusal);
  EXPECT_EQ(tenant_refusal.refusal->level, Level::Tenant);
  EXPECT_EQ(tenant_refusal.refusal->subject, "ten_x");
  EXPECT_NE(refusal_response(*tenant_refusal.refusal).body.find("tenant ten_x"), std::string::npos);
}

TEST(RateLimiter, RefusalOrderFollowsTheFieldsKeyBeforeTenant) {
  auto l = limiter();
  // Everything is exhausted: the first in kFields order at the key level is reported.
  const json all{{"requests_per_minute", 1}, {"tokens_per_minute", 100}, {"max_concurrent", 1},
                 {"requests_per_day", 1},    {"tokens_per_day", 100},    {"tokens_per_month", 100}};
  const auto p = principal("key_a", all, "ten_a", all);
  ASSERT_TRUE(l.admit(p, 100, t0).ticket);
  auto r = l.admit(p, 100, t0);
  ASSERT_TRUE(r.refusal);
  EXPECT_EQ(r.refusal->limit, Limit::MaxConcurrent);
  EXPECT_EQ(r.refusal->level, Level::Key);
  // Only the tenant's concurrency is left exhausted by a second key: the tenant level reports it.
  const auto other = principal("key_b", json::object(), "ten_a", all);
  r = l.admit(other, 1, t0);
  ASSERT_TRUE(r.refusal);
  EXPECT_EQ(r.refusal->limit, Limit::MaxConcurrent);
  EXPECT_EQ(r.refusal->level, Level::Tenant);
  // With concurrency free, the minute's request bucket comes next.
  const auto p2 = principal("key_c", {{"requests_per_minute", 1}, {"requests_per_day", 1}});
  auto t = l.admit(p2, 1, t0);
  l.settle(*t.ticket, 1, false, t0);
  r = l.admit(p2, 1, t0);
  ASSERT_TRUE(r.refusal);
  EXPECT_EQ(r.refusal->limit, Limit::RequestsPerMinute);
}

TEST(RateLimiter, RefusalCodesMessagesAndRetryAfter) {
  auto l = limiter();
  const auto p = principal("key_abc", {{"requests_per_minute", 5}});
  for (int i = 0; i < 5; ++i) l.admit(p, 1, t0);
  auto r = l.admit(p, 1, t0 + 3s);
  ASSERT_TRUE(r.refusal);
  auto response = refusal_response(*r.refusal);
  EXPECT_EQ(response.status, 429);
  const auto body = json::parse(response.body);
  EXPECT_EQ(body["error"]["code"], "rate_limit_exceeded");
  EXPECT_EQ(body["error"]["type"], "requests");
  EXPECT_TRUE(body["error"]["param"].is_null());
  EXPECT_EQ(body["error"]["message"],
            "Rate limit reached for key key_abc: requests_per_minute limit 5. Retry in 9 s.");
  EXPECT_EQ(gateway::find_header(response.headers, "retry-after"), "9");

  const auto q = principal("key_q", json::object(), "ten_x", {{"tokens_per_day", 100000}});
  ASSERT_TRUE(l.admit(q, 100000, t0).ticket);
  r = l.admit(q, 10, t0);
  ASSERT_TRUE(r.refusal);
  response = refusal_response(*r.refusal);
  const auto quota = json::parse(response.body);
  EXPECT_EQ(quota["error"]["code"], "insufficient_quota");
  EXPECT_EQ(quota["error"]["type"], "insufficient_quota");
  EXPECT_EQ(quota["error"]["message"],
            "Quota exceeded for tenant ten_x: tokens_per_day quota of 100000 is used up until "
            "2026-12-02T00:00:00Z.");
  EXPECT_EQ(gateway::find_header(response.headers, "retry-after"), std::to_string(18 * 3600));
}

TEST(RateLimiter, ARequestLargerThanABucketCanNeverPassAndGetsNoRetryAfter) {
  auto l = limiter();
  const auto p = principal("key_a", {{"tokens_per_minute", 1000}});
  const auto r = l.admit(p, 1001, t0);
  ASSERT_TRUE(r.refusal);
  EXPECT_FALSE(r.refusal->retry_after);
  const auto response = refusal_response(*r.refusal);
  EXPECT_EQ(json::parse(response.body)["error"]["code"], "rate_limit_exceeded");
  EXPECT_NE(response.body.find("Lower max_tokens"), std::string::npos) << response.body;
  EXPECT_EQ(gateway::find_header(response.headers, "retry-after"), std::nullopt);
  EXPECT_TRUE(l.admit(p, 1000, t0).ticket) << "the whole bucket at once is fine";
}

TEST(RateLimiter, DefaultsApplyPerLevelAndZeroOptsOut) {
  auto l = limiter("UTC", {{"requests_per_minute", 1}}, {{"requests_per_day", 5}});
  const auto defaulted = principal("key_a", json::object());
  const auto opted_out = principal("key_b", {{"requests_per_minute", 0}}, "ten_b", {{"requests_per_day", 0}});
  EXPECT_TRUE(l.admit(defaulted, 1, t0).ticket);
  EXPECT_TRUE(l.admit(defaulted, 1, t0).refusal);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(l.admit(opted_out, 1, t0).ticket);
  EXPECT_TRUE(l.status(opted_out, t0).empty()) << "nothing applies";
  const auto s = l.status(defaulted, t0);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(remaining(s, "requests_per_day", Level::Tenant), 4);
}

TEST(RateLimiter, ALoweredLimitAppliesToTheNextRequest) {
  auto l = limiter();
  EXPECT_TRUE(l.admit(principal("key_a", {{"requests_per_minute", 10}}), 1, t0).ticket);
  EXPECT_TRUE(l.admit(principal("key_a", {{"requests_per_minute", 10}}), 1, t0).ticket);
  const auto lowered = principal("key_a", {{"requests_per_minute", 1}});
  EXPECT_EQ(remaining(l.status(lowered, t0), "requests_per_minute"), 1) << "the bucket is clamped";
  EXPECT_TRUE(l.admit(lowered, 1, t0).ticket);
  EXPECT_TRUE(l.admit(lowered, 1, t0).refusal);
}

TEST(RateLimiter, MetersShowTheTightestLimitAfterTheReservation) {
  auto l = limiter();
  const auto p =
      principal("key_a", {{"requests_per_minute", 5}, {"requests_per_day", 100}, {"tokens_per_day", 1000}},
                "ten_a", {{"tokens_per_minute", 300}});
  auto a = l.admit(p, 100, t0);
  ASSERT_TRUE(a.ticket);
  ASSERT_TRUE(a.meters.requests && a.meters.tokens);
  EXPECT_EQ(a.meters.requests->limit, 5);
  EXPECT_EQ(a.meters.requests->remaining, 4);
  EXPECT_EQ(a.meters.requests->reset, 12s) << "one request refills in 12 s at 5 per minute";
  EXPECT_EQ(a.meters.tokens->limit, 300) << "the tenant's bucket has less left than the key's day";
  EXPECT_EQ(a.meters.tokens->remaining, 200);
  EXPECT_EQ(a.meters.tokens->reset, 20s);
  const auto h = limit_headers(a.meters);
  EXPECT_EQ(gateway::find_header(h, "x-ratelimit-remaining-requests"), "4");
  EXPECT_EQ(gateway::find_header(h, "x-ratelimit-reset-requests"), "12s");
  EXPECT_EQ(gateway::find_header(h, "x-ratelimit-limit-tokens"), "300");
  EXPECT_EQ(gateway::find_header(h, "x-ratelimit-reset-tokens"), "20s");
  // A day quota that is nearly spent is the tightest; it resets at midnight.
  const auto q = principal("key_q", {{"tokens_per_day", 1000}}, "ten_q");
  ASSERT_TRUE(l.admit(q, 960, t0).ticket);
  const auto b = l.admit(q, 10, t0 + 1min);
  ASSERT_TRUE(b.ticket);
  EXPECT_FALSE(b.meters.requests);
  EXPECT_EQ(b.meters.tokens->limit, 1000);
  EXPECT_EQ(b.meters.tokens->remaining, 30);
  EXPECT_EQ(openai_duration(b.meters.tokens->reset), "17h59m0s");
  EXPECT_FALSE(l.admit(principal("key_z", json::object()), 1, t0).meters.requests) << "no limit, no meter";
}

TEST(RateLimiter, StatusListsEveryLimitWithRemainingAndResets) {
  auto l = limiter();
  const auto p =
      principal("key_a", {{"max_concurrent", 2}, {"requests_per_minute", 60}, {"tokens_per_month", 10000}},
                "ten_a", {{"requests_per_day", 50}});
  auto a = l.admit(p, 100, t0);
  const auto j = to_json(l.status(p, t0), t0);
  ASSERT_EQ(j.size(), 4u) << j.dump();
  EXPECT_EQ(j[0], json({{"name", "max_concurrent"},
                        {"level", "key"},
                        {"limit", 2},
                        {"remaining", 1},
                        {"reset_at", nullptr},
                        {"reset_seconds", nullptr}}));
  EXPECT_EQ(j[1]["name"], "requests_per_minute");
  EXPECT_EQ(j[1]["remaining"], 59);
  EXPECT_EQ(j[1]["reset_seconds"], 1.0);
  EXPECT_EQ(j[2]["name"], "requests_per_day");
  EXPECT_EQ(j[2]["level"], "tenant");
  EXPECT_EQ(j[2]["remaining"], 49);
  EXPECT_EQ(j[2]["reset_at"], std::chrono::duration_cast<std::chrono::seconds>(
                                  (date::sys_days(2026_y / 12 / 2)).time_since_epoch())
                                  .count());
  EXPECT_EQ(j[2]["reset_seconds"], 18 * 3600.0);
  EXPECT_EQ(j[3]["name"], "tokens_per_month");
  EXPECT_EQ(j[3]["remaining"], 9900);
}

TEST(RateLimiter, RestoreRebuildsDaysAndMonthsPerKeyAndTenant) {
  auto l = limiter();
  const std::vector<gateway::KeyUsage> today{{"key_a", "ten_x", 3, 300}, {"key_b", "ten_x", 2, 200}};
  const std::vector<gateway::KeyUsage> month{{"key_a", "ten_x", 30, 3000}, {"key_b", "ten_x", 20, 2000}};
  l.restore(today, month, t0);
  const json tenant_limits{{"requests_per_day", 10}, {"tokens_per_day", 1000}, {"tokens_per_month", 10000}};
  const auto a =
      principal("key_a", {{"requests_per_day", 4}, {"tokens_per_month", 3500}}, "ten_x", tenant_limits);
  const auto s = l.status(a, t0);
  EXPECT_EQ(remaining(s, "requests_per_day"), 1);
  EXPECT_EQ(remaining(s, "tokens_per_month"), 500);
  EXPECT_EQ(remaining(s, "requests_per_day", Level::Tenant), 5);
  EXPECT_EQ(remaining(s, "tokens_per_day", Level::Tenant), 500);
  EXPECT_EQ(remaining(s, "tokens_per_month", Level::Tenant), 5000);
  EXPECT_TRUE(l.admit(a, 100, t0).ticket);
  const auto r = l.admit(a, 100, t0);
  ASSERT_TRUE(r.refusal) << "the key's day is used up after the restart";
  EXPECT_EQ(r.refusal->limit, Limit::RequestsPerDay);
}

}  // namespace
}  // namespace e2b::rate_limit
