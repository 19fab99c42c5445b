// Unit tests of the upstream targets' health: weights, cool-downs, the circuit breaker, backoff.
#include "target_pool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace e2b::fragments {
namespace {

using gateway::LogLevel;
using gateway::UpstreamEnd;
using gateway::UpstreamFailover;
using std::chrono::milliseconds;
using namespace std::chrono_literals;

const WallClock::time_point kStart = WallClock::time_point(milliseconds(1'795'800'000'000));

UpstreamFailover settings(int circuit_failures = 3, milliseconds open_for = 30s) {
  UpstreamFailover failover;
  failover.circuit_failures = circuit_failures;
  failover.circuit_open = open_for;
  return failover;
}

/// A pool of targets "a", "b", … with `weights`, recording its log lines.
struct Fixture {
  explicit Fixture(std::vector<int> weights, UpstreamFailover failover = settings())
      : pool(names(weights.size()), weights, failover,
             [this](LogLevel level, const std::string& line) { lines.emplace_back(level, line); }) {}

  static std::vector<std::string> names(std::size_t count) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < count; ++i) out.push_back(std::string(1, static_cast<char>('a' + i)));
    return out;
  }
  std::string state(std::size_t target, WallClock::time_point now) const {
    return pool.status(now)["targets"][target]["state"].get<std::string>();
  }

  std::vector<std::pair<LogLevel, std::string>> lines;
  TargetPool pool;
};

const std::vector<bool> kNoneTried;

TEST(TargetPool, WeightsShareTheTrafficExactlyAndInterleaved) {
  Fixture f({3, 1, 1});
  std::map<std::size_t, int> picks;
  int longest_run = 0, run = 0;
  std::size_t previous = 99;
  for (int i = 0; i < 500; ++i) {
    const auto target = f.pool.pick(kNoneTried, kStart);
    ASSERT_TRUE(target.has_value());
    ++picks[*target];
    run = *target == previous ? run + 1 : 1;
    longest_run = std::max(longest_run, run);
    previous = *target;
  }
  EXPECT_EQ(picks[0], 300);
  EXPECT_EQ(picks[1], 100);
  EXPECT_EQ(picks[2], 100);
  EXPECT_LE(longest_run, 2) << "smooth weighted round robin spreads the heavy target out";
  EXPECT_EQ(f.pool.status(kStart)["targets"][0]["requests"], 300);
}

TEST(TargetPool, PrefersATargetNotTriedYetThenFallsBackToATriedOne) {
  Fixture f({1000, 1});
  EXPECT_EQ(f.pool.pick({true, false}, kStart), 1u) << "the untried target, whatever the weights";
  f.pool.cool_down(1, kStart + 60s, "http_429", kStart);
  EXPECT_EQ(f.pool.pick({true, true}, kStart), 0u) << "only a tried target is left: it may be retried";
  EXPECT_EQ(f.pool.pick({true, false}, kStart), 0u) << "the untried one is cooling down";
  EXPECT_EQ(f.pool.pick({true, false}, kStart, true), std::nullopt) << "untried only: none is left";
}

TEST(TargetPool, ACooledDownTargetGetsNoTrafficUntilItsReset) {
  Fixture f({1, 1});
  f.pool.cool_down(0, kStart + 60s, "http_429", kStart);
  EXPECT_EQ(f.state(0, kStart), "cooling_down");
  EXPECT_EQ(f.pool.status(kStart)["targets"][0]["cooling_down_until"], rfc3339(kStart + 60s));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(f.pool.pick(kNoneTried, kStart + 59s), 1u);
  ASSERT_EQ(f.lines.size(), 1u);
  EXPECT_EQ(f.lines[0].first, LogLevel::Warn);
  EXPECT_NE(f.lines[0].second.find("a is cooling down"), std::string::npos) << f.lines[0].second;

  std::map<std::size_t, int> picks;
  for (int i = 0; i < 20; ++i) ++picks[*f.pool.pick(kNoneTried, kStart + 60s)];
  EXPECT_EQ(picks[0], 10) << "back in rotation at the reset";
  EXPECT_EQ(f.state(0, kStart + 60s), "healthy");
  ASSERT_EQ(f.lines.size(), 2u);
  EXPECT_EQ(f.lines[1].first, LogLevel::Info) << "its return is logged once";
}

TEST(TargetPool, EveryTargetCoolingDownIsARateLimitUntilTheSoonestReset) {
  Fixture f({1, 1});
  f.pool.cool_down(0, kStart + 90s, "http_429", kStart);
  f.pool.cool_down(1, kStart + 30s, "http_429", kStart);
  EXPECT_EQ(f.pool.pick(kNoneTried, kStart), std::nullopt);
  EXPECT_EQ(f.pool.usable_again(kStart), kStart + 30s);
  EXPECT_FALSE(f.pool.status(kStart)["available"].get<bool>());
}

TEST(TargetPool, CircuitOpensAfterConsecutiveFailuresOnly) {
  Fixture f({1, 1}, settings(3));
  f.pool.failed(0, "http_529", kStart);
  f.pool.failed(0, "http_529", kStart);
  f.pool.succeeded(0, kStart);  // the streak ends
  f.pool.failed(0, "connect_failed", kStart);
  f.pool.failed(0, "connect_failed", kStart);
  EXPECT_EQ(f.state(0, kStart), "healthy");
  EXPECT_TRUE(f.lines.empty());
  f.pool.failed(0, "connect_failed", kStart + 1s);
  EXPECT_EQ(f.state(0, kStart + 1s), "circuit_open");
  EXPECT_EQ(f.pool.status(kStart)["targets"][0]["open_until"], rfc3339(kStart + 31s));
  EXPECT_EQ(f.pool.status(kStart)["targets"][0]["consecutive_failures"], 3);
  ASSERT_EQ(f.lines.size(), 1u);
  EXPECT_EQ(f.lines[0].first, LogLevel::Warn);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(f.pool.pick(kNoneTried, kStart + 30s), 1u);
}

TEST(TargetPool, HalfOpenLetsOneProbeThroughAndItsSuccessClosesTheCircuit) {
  Fixture f({1}, settings(2, 10s));
  f.pool.failed(0, "http_503", kStart);
  f.pool.failed(0, "http_503", kStart);
  EXPECT_EQ(f.pool.pick(kNoneTried, kStart + 9s), std::nullopt);
  EXPECT_EQ(f.pool.usable_again(kStart + 9s), kStart + 10s);
  EXPECT_EQ(f.state(0, kStart + 10s), "half_open");
  EXPECT_EQ(f.pool.pick(kNoneTried, kStart + 10s), 0u) << "the probe";
  EXPECT_EQ(f.pool.pick(kNoneTried, kStart + 11s), std::nullopt) << "one probe at a time";
  f.pool.succeeded(0, kStart + 12s);
  EXPECT_EQ(f.state(0, kStart + 12s), "healthy");
  EXPECT_EQ(f.pool.pick(kNoneTried, kStart + 12s), 0u);
  ASSERT_EQ(f.lines.size(), 2u);
  EXPECT_EQ(f.lines[1].first, LogLevel::Info);
  EXPECT_NE(f.lines[1].second.find("recovered"), std::string::npos);
}

TEST(TargetPool, AFailedProbeReopensTheCircuit) {
  Fixture f({1}, settings(2, 10s));
  f.pool.failed(0, "http_503", kStart);
  f.pool.failed(0, "http_503", kStart);
  ASSERT_EQ(f.pool.pick(kNoneTried, kStart + 10s), 0u);
  f.pool.failed(0, "http_503", kStart + 11s);
  EXPECT_EQ(f.state(0, kStart + 11s), "circuit_open");
  EXPECT_EQ(f.pool.pick(kNoneTried, kStart + 20s), std::nullopt) << "open again for a whole period";
  EXPECT_EQ(f.pool.pick(kNoneTried, kStart + 21s), 0u) << "then the next probe";
}

TEST(TargetPool, AProbeThatNeverReportsLosesItsTurnAfterAnOpenPeriod) {
  Fixture f({1}, settings(1, 10s));
  f.pool.failed(0, "reset", kStart);
  ASSERT_EQ(f.pool.pick(kNoneTried, kStart + 10s), 0u);  // its client leaves: no report
  EXPECT_EQ(f.pool.pick(kNoneTried, kStart + 19s), std::nullopt);
  EXPECT_EQ(f.pool.pick(kNoneTried, kStart + 20s), 0u);
}

TEST(TargetPool, ZeroCircuitFailuresNeverOpensTheCircuit) {
  Fixture f({1}, settings(0));
  for (int i = 0; i < 50; ++i) f.pool.failed(0, "http_500", kStart);
  EXPECT_EQ(f.state(0, kStart), "healthy");
  EXPECT_EQ(f.pool.pick(kNoneTried, kStart), 0u);
}

TEST(TargetPool, StatusCountsAndKeepsTheLastFewErrors) {
  Fixture f({2, 1});
  for (int i = 0; i < 7; ++i)
    f.pool.failed(1, "http_50" + std::to_string(i), kStart + std::chrono::seconds(i));
  (void)f.pool.pick(kNoneTried, kStart);
  const auto status = f.pool.status(kStart + 10s);
  EXPECT_TRUE(status["available"].get<bool>());
  const auto& b = status["targets"][1];
  EXPECT_EQ(b["base_url"], "b");
  EXPECT_EQ(b["weight"], 1);
  EXPECT_EQ(b["failures"], 7);
  ASSERT_EQ(b["recent_errors"].size(), 5u);
  EXPECT_EQ(b["recent_errors"][0]["error"], "http_502") << "oldest first, the two oldest dropped";
  EXPECT_EQ(b["recent_errors"][4]["at"], rfc3339(kStart + 6s));
  EXPECT_EQ(status["targets"][0]["requests"], 1);
}

TEST(TargetPool, AReloadedPoolTakesTheHealthOfTargetsThatStay) {
  Fixture old_pool({1, 1, 1});
  old_pool.pool.cool_down(0, kStart + 60s, "http_429", kStart);
  for (int i = 0; i < 3; ++i) old_pool.pool.failed(1, "http_529", kStart);
  old_pool.pool.failed(2, "connect_failed", kStart);
  ASSERT_EQ(old_pool.state(1, kStart), "circuit_open");

  // The new file keeps "a" and "b", drops "c" and adds "d".
  TargetPool reloaded({"a", "b", "d"}, {1, 1, 1}, settings());
  reloaded.adopt_health(old_pool.pool);
  const auto status = reloaded.status(kStart + 1s);
  EXPECT_EQ(status["targets"][0]["state"], "cooling_down");
  EXPECT_EQ(status["targets"][0]["cooling_down_until"], rfc3339(kStart + 60s));
  EXPECT_EQ(status["targets"][1]["state"], "circuit_open");
  EXPECT_EQ(status["targets"][1]["consecutive_failures"], 3);
  EXPECT_EQ(status["targets"][1]["failures"], 3);
  EXPECT_EQ(status["targets"][2]["state"], "healthy");
  EXPECT_EQ(status["targets"][2]["failures"], 0) << "a new target starts clean";
  for (int i = 0; i < 10; ++i) EXPECT_EQ(reloaded.pick(kNoneTried, kStart + 1s), 2u);
  EXPECT_EQ(reloaded.status(kStart + 31s)["targets"][1]["state"], "half_open")
      << "the taken-over circuit is probed when its open period ends";
}

TEST(TargetPool, PastOpenCircuitsTheOneEndingFirstIsTheLastResortButNeverACooledDownOne) {
  Fixture f({1, 1, 1}, settings(1, 30s));
  f.pool.cool_down(0, kStart + 60s, "http_429", kStart);
  EXPECT_EQ(f.pool.pick_past_open_circuits(kStart), std::nullopt) << "no circuit is open";
  f.pool.failed(1, "connect_failed", kStart + 5s);
  f.pool.failed(2, "connect_failed", kStart);
  ASSERT_EQ(f.pool.pick(kNoneTried, kStart + 6s), std::nullopt);
  EXPECT_EQ(f.pool.pick_past_open_circuits(kStart + 6s), 2u) << "its circuit ends first";
  EXPECT_EQ(f.pool.status(kStart + 6s)["targets"][2]["requests"], 1);

  Fixture cooling({1, 1});
  cooling.pool.cool_down(0, kStart + 60s, "http_429", kStart);
  cooling.pool.cool_down(1, kStart + 90s, "http_429", kStart);
  EXPECT_EQ(cooling.pool.pick_past_open_circuits(kStart), std::nullopt)
      << "a daily limit is known to refuse until its reset";
}

TEST(Backoff, DoublesUpToTheCapWithJitterBetweenHalfAndWhole) {
  UpstreamFailover failover;
  failover.backoff_initial = 100ms;
  failover.backoff_max = 1000ms;
  EXPECT_EQ(backoff_delay(failover, 1, 0.0), 50ms);
  EXPECT_EQ(backoff_delay(failover, 1, 0.5), 75ms);
  EXPECT_EQ(backoff_delay(failover, 2, 0.0), 100ms);
  EXPECT_EQ(backoff_delay(failover, 3, 0.0), 200ms);
  EXPECT_EQ(backoff_delay(failover, 5, 0.0), 500ms) << "1600 ms capped at 1000";
  EXPECT_EQ(backoff_delay(failover, 30, 0.0), 500ms);
  for (int retry = 1; retry <= 6; ++retry) {
    for (double r : {0.0, 0.1, 0.5, 0.9, 0.9999}) {
      const auto pause = backoff_delay(failover, retry, r);
      EXPECT_GE(pause, std::min(1000ms, 100ms * (1 << (retry - 1))) / 2);
      EXPECT_LE(pause, std::min(1000ms, 100ms * (1 << (retry - 1))));
    }
  }
}

TEST(Backoff, NextRetryStopsAtMaxAttemptsAndAtTheBudget) {
  UpstreamFailover failover;
  failover.max_attempts = 3;
  failover.backoff_initial = 100ms;
  failover.backoff_max = 2000ms;
  failover.retry_budget = 250ms;
  EXPECT_EQ(next_retry(failover, 1, 0ms, 0.0), 50ms);
  EXPECT_EQ(next_retry(failover, 2, 50ms, 0.0), 100ms);
  EXPECT_EQ(next_retry(failover, 3, 150ms, 0.0), std::nullopt) << "three attempts made";
  EXPECT_EQ(next_retry(failover, 2, 200ms, 0.0), std::nullopt) << "250 ms budget: 200 + 100 is over";
  failover.max_attempts = 1;
  EXPECT_EQ(next_retry(failover, 1, 0ms, 0.0), std::nullopt) << "max_attempts 1: no retries";
}

TEST(Failover, RetriesOnlyTargetFaultsBeforeOutput) {
  for (auto end : {UpstreamEnd::ConnectFailed, UpstreamEnd::ConnectTimeout, UpstreamEnd::FirstByteTimeout,
                   UpstreamEnd::Reset, UpstreamEnd::Protocol}) {
    EXPECT_TRUE(retryable(0, end)) << failure_name(0, end);
  }
  for (int status : {429, 500, 502, 503, 529})
    EXPECT_TRUE(retryable(status, UpstreamEnd::Complete)) << status;
  for (int status : {400, 401, 403, 404, 405})
    EXPECT_FALSE(retryable(status, UpstreamEnd::Complete)) << status;
  EXPECT_FALSE(retryable(200, UpstreamEnd::Reset)) << "a stream cut mid-way is never retried";
  EXPECT_FALSE(retryable(200, UpstreamEnd::IdleTimeout));
  EXPECT_EQ(failure_name(529, UpstreamEnd::Complete), "http_529");
  EXPECT_EQ(failure_name(0, UpstreamEnd::ConnectFailed), "connect_failed");
  EXPECT_EQ(failure_name(200, UpstreamEnd::Reset), "reset");
}

TEST(Failover, OnlyTheTargetsOwnFaultsCountTowardsItsCircuit) {
  for (auto end : {UpstreamEnd::ConnectFailed, UpstreamEnd::ConnectTimeout, UpstreamEnd::FirstByteTimeout,
                   UpstreamEnd::IdleTimeout, UpstreamEnd::Reset, UpstreamEnd::Protocol}) {
    EXPECT_TRUE(target_fault(0, end)) << failure_name(0, end);
  }
  EXPECT_TRUE(target_fault(200, UpstreamEnd::Reset)) << "a stream cut mid-way";
  for (int status : {502, 503, 504}) EXPECT_TRUE(target_fault(status, UpstreamEnd::Complete)) << status;
  for (int status : {429, 500, 529, 400, 403})
    EXPECT_FALSE(target_fault(status, UpstreamEnd::Complete))
        << "a provider's or a request's fault: " << status;
}

TEST(TargetPool, ProviderErrorsAreRecordedButLeaveTheCircuitAlone) {
  Fixture f({1}, settings(2));
  f.pool.failed(0, "connect_failed", kStart);
  for (int i = 0; i < 10; ++i) f.pool.failed(0, "http_529", kStart, false);
  EXPECT_EQ(f.state(0, kStart), "healthy");
  const auto status = f.pool.status(kStart)["targets"][0];
  EXPECT_EQ(status["consecutive_failures"], 1) << "neither counted nor ending the streak";
  EXPECT_EQ(status["failures"], 11);
  EXPECT_EQ(status["recent_errors"].back()["error"], "http_529") << status.dump();
  f.pool.failed(0, "connect_failed", kStart);
  EXPECT_EQ(f.state(0, kStart), "circuit_open");
}

TEST(Failover, RateLimitEndReadsTheResetOrRetryAfter) {
  const auto reset =
      std::to_string(std::chrono::duration_cast<milliseconds>((kStart + 90s).time_since_epoch()).count());
  EXPECT_EQ(rate_limit_end({{"x-ratelimit-reset", reset}}, kStart), kStart + 90s);
  EXPECT_EQ(rate_limit_end({{"retry-after", "20"}}, kStart), kStart + 20s);
  EXPECT_EQ(rate_limit_end({{"retry-after", "soon"}}, kStart), std::nullopt);
  EXPECT_EQ(rate_limit_end({}, kStart), std::nullopt);
  EXPECT_EQ(rate_limit_end({{"retry-after", "0"}}, kStart), std::nullopt) << "nothing to wait for";
  EXPECT_EQ(rate_limit_end({{"retry-after", "9999999"}}, kStart), kStart + std::chrono::hours(24));
}

}  // namespace
}  // namespace e2b::fragments
