// The upstream targets of the fragments plugin and their health (pure logic): weighted choice,
// cooling down after the upstream's own rate limit, and a circuit breaker per target.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/plugin.h"

namespace e2b::fragments {

using WallClock = std::chrono::system_clock;

/// What a target looks like to the traffic now.
enum class TargetState { Healthy, CoolingDown, CircuitOpen, HalfOpen };

const char* target_state_name(TargetState state);

/// The targets and their health. Thread-safe: requests on every reactor pick and report. The caller passes
/// the time in, so tests control it.
class TargetPool {
 public:
  /// Receives a line when a target goes out of rotation (Warn) or comes back (Info).
  using Log = std::function<void(gateway::LogLevel, const std::string&)>;

  /// `base_urls` and `weights` have one entry per target (at least one).
  TargetPool(std::vector<std::string> base_urls, std::vector<int> weights,
             const gateway::UpstreamFailover& settings, Log log = nullptr);

  std::size_t size() const { return targets_.size(); }

  /// The target for the next attempt, by smooth weighted round robin among the usable ones, those
  /// not `tried` yet in this request first; a target whose circuit's open period is over takes one
  /// probe request at a time; with `untried_only`, only those. nullopt when none is usable.
  /// Counts the attempt.
  std::optional<std::size_t> pick(const std::vector<bool>& tried, WallClock::time_point now,
                                  bool untried_only = false);

  /// The last resort when pick() found none and not every target is cooling down: the target
  /// whose open circuit ends first, probe in flight or not. A request still gets a real attempt
  /// (and the error it ends with) rather than a refusal made up by the gateway, and a deployment
  /// that is the only one, or whose peers are all out too, is never cut off entirely. nullopt when
  /// every target is cooling down. Counts the attempt.
  std::optional<std::size_t> pick_past_open_circuits(WallClock::time_point now);

  /// When the first target becomes usable again (for Retry-After) once pick() found none.
  WallClock::time_point usable_again(WallClock::time_point now) const;

  /// The attempt on `target` got an answer: its failure streak ends and an open circuit closes.
  void succeeded(std::size_t target, WallClock::time_point now);

  /// The attempt on `target` failed with `error` (such as "http_503" or "connect_failed"). A
  /// `target_fault` (see target_fault()) is one more consecutive failure: the circuit opens at
  /// circuit_failures, and a failed probe reopens it. Any other failure is only recorded: the
  /// target answered, so its streak and circuit stay as they are.
  void failed(std::size_t target, const std::string& error, WallClock::time_point now,
              bool target_fault = true);

  /// `target` answered with its own rate limit until `until`: out of rotation until then. The
  /// failure streak is left alone: the target works, it is only full.
  void cool_down(std::size_t target, WallClock::time_point until, const std::string& error,
                 WallClock::time_point now);

  /// A reload: takes the health of `previous`'s targets with the same base URL (cool-downs, open
  /// circuits, failure streaks, counts and recent errors), so that a reload neither sends traffic
  /// to a target known to be down nor forgets what the health view showed. A half-open probe in
  /// flight stays with `previous`; the open circuit it tests is taken over and probed again.
  void adopt_health(const TargetPool& previous);

  /// Every target as GET /healthz/upstream shows it: {available, targets: [...]}, no secrets.
  nlohmann::json status(WallClock::time_point now) const;

 private:
  struct Target {
    std::string base_url;
    int weight = 1;
    std::int64_t current = 0;  ///< smooth weighted round robin credit
    WallClock::time_point cooling_until{};
    bool cooling_announced = false;  ///< logged going out; its return is logged once
    bool circuit_open = false;
    WallClock::time_point open_until{};
    std::optional<WallClock::time_point> probe_started;  ///< a half-open probe in flight
    int consecutive_failures = 0;
    std::uint64_t requests = 0;
    std::uint64_t failures = 0;
    std::deque<std::pair<WallClock::time_point, std::string>> recent_errors;
  };

  TargetState state_locked(const Target& target, WallClock::time_point now) const;
  bool usable_locked(const Target& target, WallClock::time_point now) const;
  void note_error_locked(Target& target, const std::string& error, WallClock::time_point now);
  void announce_returns_locked(WallClock::time_point now);
  void log(gateway::LogLevel level, const std::string& message) const;

  const std::chrono::milliseconds circuit_open_for_;
  const int circuit_failures_;
  const Log log_;
  mutable std::mutex mutex_;
  std::vector<Target> targets_;
};

/// Whether a failed attempt may move to another target: no output reached the client and the
/// failure is the target's (no connection, a timeout before the first byte, a cut or garbled
/// answer, 5xx, 529 or 429). `status` is 0 when no response head came.
bool retryable(int status, gateway::UpstreamEnd end);

/// Whether a failure is the target's own rather than the model provider's or the request's: no
/// answer or a cut one (connection refused, timeouts, resets, garbage), or 502/503/504 from the
/// deployment's front. Fragments answers 500, 529 and 429 for errors of one provider or of one
/// request (an over-long prompt is a 429), so those never open a circuit: a few users' bad
/// requests, or one provider's overload, must not take a deployment out for every model.
bool target_fault(int status, gateway::UpstreamEnd end);

/// A short name of an attempt's failure for the health view: "http_<status>" or the end's name.
std::string failure_name(int status, gateway::UpstreamEnd end);

/// The pause before retry number `retry` (1 = the first retry): backoff_initial doubled per
/// retry, capped at backoff_max, then jittered into [half, whole] by `unit_random` in [0, 1).
std::chrono::milliseconds backoff_delay(const gateway::UpstreamFailover& settings, int retry,
                                        double unit_random);

/// The pause before the next attempt after `attempts_made` attempts that together waited
/// `backoff_spent` already; nullopt when max_attempts is reached or the pause would overrun
/// retry_budget.
std::optional<std::chrono::milliseconds> next_retry(const gateway::UpstreamFailover& settings,
                                                    int attempts_made,
                                                    std::chrono::milliseconds backoff_spent,
                                                    double unit_random);

/// The end of a 429's rate limit: x-ratelimit-reset (epoch ms, Fragments) or Retry-After
/// (seconds from now), at most a day ahead; nullopt when neither is usable.
std::optional<WallClock::time_point> rate_limit_end(const gateway::Headers& headers,
                                                    WallClock::time_point now);

/// `time` as RFC 3339 in UTC, to the second ("2026-01-15T10:00:00Z").
std::string rfc3339(WallClock::time_point time);

}  // namespace e2b::fragments
