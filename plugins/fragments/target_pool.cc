// Target health: weighted choice, cool-downs, circuit breaker, retry pauses.
#include "target_pool.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <stdexcept>

#include "error_mapping.h"

namespace e2b::fragments {
namespace {

using gateway::LogLevel;
using gateway::UpstreamEnd;

constexpr std::size_t kRecentErrors = 5;
/// Fragments' limiter window is one day at most; a later reset is not believed.
constexpr auto kLongestCoolDown = std::chrono::hours(24);

nlohmann::json time_or_null(WallClock::time_point time, WallClock::time_point now) {
  return time > now ? nlohmann::json(rfc3339(time)) : nlohmann::json(nullptr);
}

}  // namespace

const char* target_state_name(TargetState state) {
  switch (state) {
    case TargetState::Healthy:
      return "healthy";
    case TargetState::CoolingDown:
      return "cooling_down";
    case TargetState::CircuitOpen:
      return "circuit_open";
    case TargetState::HalfOpen:
      return "half_open";
  }
  return "unknown";
}

TargetPool::TargetPool(std::vector<std::string> base_urls, std::vector<int> weights,
                       const gateway::UpstreamFailover& settings, Log log)
    : circuit_open_for_(settings.circuit_open),
      circuit_failures_(settings.circuit_failures),
      log_(std::move(log)) {
  if (base_urls.empty() || base_urls.size() != weights.size()) {
    throw std::invalid_argument("TargetPool: one weight per target, at least one target");
  }
  for (std::size_t i = 0; i < base_urls.size(); ++i) {
    Target target;
    target.base_url = std::move(base_urls[i]);
    target.weight = std::max(1, weights[i]);
    targets_.push_back(std::move(target));
  }
}

void TargetPool::log(LogLevel level, const std::string& message) const {
  if (log_) log_(level, message);
}

TargetState TargetPool::state_locked(const Target& target, WallClock::time_point now) const {
  if (target.cooling_until > now) return TargetState::CoolingDown;
  if (!target.circuit_open) return TargetState::Healthy;
  return target.open_until > now ? TargetState::CircuitOpen : TargetState::HalfOpen;
}

bool TargetPool::usable_locked(const Target& target, WallClock::time_point now) const {
  switch (state_locked(target, now)) {
    case TargetState::Healthy:
      return true;
    case TargetState::HalfOpen:
      // One probe at a time; a probe whose client left never reports, so its turn lapses.
      return !target.probe_started || *target.probe_started + circuit_open_for_ <= now;
    case TargetState::CoolingDown:
    case TargetState::CircuitOpen:
      return false;
  }
  return false;
}

void TargetPool::announce_returns_locked(WallClock::time_point now) {
  for (auto& target : targets_) {
    if (target.cooling_announced && target.cooling_until <= now) {
      target.cooling_announced = false;
      log(LogLevel::Info, "upstream " + target.base_url + " is back in rotation: its rate limit has reset");
    }
  }
}

std::optional<std::size_t> TargetPool::pick(const std::vector<bool>& tried, WallClock::time_point now,
                                            bool untried_only) {
  std::lock_guard lock(mutex_);
  announce_returns_locked(now);
  std::vector<std::size_t> candidates;
  for (bool fresh_only : {true, false}) {
    for (std::size_t i = 0; i < targets_.size(); ++i) {
      const bool was_tried = i < tried.size() && tried[i];
      if (fresh_only == was_tried) continue;
      if (usable_locked(targets_[i], now)) candidates.push_back(i);
    }
    if (!candidates.empty() || untried_only) break;
  }
  if (candidates.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::size_t best = candidates.front();
  for (const auto i : candidates) {
    targets_[i].current += targets_[i].weight;
    total += targets_[i].weight;
    if (targets_[i].current > targets_[best].current) best = i;
  }
  Target& chosen = targets_[best];
  chosen.current -= total;
  ++chosen.requests;
  if (state_locked(chosen, now) == TargetState::HalfOpen) chosen.probe_started = now;
  return best;
}

std::optional<std::size_t> TargetPool::pick_past_open_circuits(WallClock::time_point now) {
  std::lock_guard lock(mutex_);
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    if (targets_[i].cooling_until > now || !targets_[i].circuit_open) continue;
    if (!best || targets_[i].open_until < targets_[*best].open_until) best = i;
  }
  if (best) ++targets_[*best].requests;
  return best;
}

WallClock::time_point TargetPool::usable_again(WallClock::time_point now) const {
  std::lock_guard lock(mutex_);
  auto soonest = WallClock::time_point::max();
  for (const auto& target : targets_) {
    auto until = std::max(target.cooling_until, now);
    if (target.circuit_open) {
      const auto probe_turn =
          target.probe_started ? *target.probe_started + circuit_open_for_ : target.open_until;
      until = std::max({until, target.open_until, probe_turn});
    }
    soonest = std::min(soonest, until);
  }
  return soonest;
}

void TargetPool::note_error_locked(Target& target, const std::string& error, WallClock::time_point now) {
  ++target.failures;
  target.recent_errors.emplace_back(now, error);
  while (target.recent_errors.size() > kRecentErrors) target.recent_errors.pop_front();
}

void TargetPool::succeeded(std::size_t index, WallClock::time_point /*now*/) {
  std::lock_guard lock(mutex_);
  Target& target = targets_.at(index);
  target.consecutive_failures = 0;
  if (!target.circuit_open) return;
  target.circuit_open = false;
  target.probe_started.reset();
  log(LogLevel::Info,
      "upstream " + target.base_url + " recovered: its probe request succeeded, circuit closed");
}

void TargetPool::failed(std::size_t index, const std::string& error, WallClock::time_point now,
                        bool target_fault) {
  std::lock_guard lock(mutex_);
  Target& target = targets_.at(index);
  note_error_locked(target, error, now);
  if (!target_fault) return;
  ++target.consecutive_failures;
  const bool probe_failed = target.circuit_open && target.open_until <= now;
  const bool streak_full = circuit_failures_ > 0 && target.consecutive_failures >= circuit_failures_;
  if (!probe_failed && (target.circuit_open || !streak_full)) return;
  target.circuit_open = true;
  target.open_until = now + circuit_open_for_;
  target.probe_started.reset();
  log(LogLevel::Warn, "upstream " + target.base_url + " circuit open for " +
                          std::to_string(circuit_open_for_.count()) + " ms after " +
                          std::to_string(target.consecutive_failures) +
                          " consecutive failures (last: " + error + ")");
}

void TargetPool::cool_down(std::size_t index, WallClock::time_point until, const std::string& error,
                           WallClock::time_point now) {
  std::lock_guard lock(mutex_);
  Target& target = targets_.at(index);
  note_error_locked(target, error, now);
  until = std::min(until, now + kLongestCoolDown);
  if (until <= target.cooling_until) return;
  const bool was_cooling = target.cooling_until > now;
  target.cooling_until = until;
  if (target.circuit_open && target.probe_started) target.probe_started.reset();  // the probe got an answer
  if (was_cooling) return;
  target.cooling_announced = true;
  log(LogLevel::Warn, "upstream " + target.base_url + " is cooling down until " + rfc3339(until) +
                          ": it answered with its rate limit");
}

void TargetPool::adopt_health(const TargetPool& previous) {
  if (&previous == this) return;
  std::scoped_lock lock(mutex_, previous.mutex_);
  for (auto& target : targets_) {
    for (const auto& old : previous.targets_) {
      if (old.base_url != target.base_url) continue;
      target.cooling_until = old.cooling_until;
      target.cooling_announced = old.cooling_announced;
      target.circuit_open = old.circuit_open;
      target.open_until = old.open_until;
      target.consecutive_failures = old.consecutive_failures;
      target.requests = old.requests;
      target.failures = old.failures;
      target.recent_errors = old.recent_errors;
    }
  }
}

nlohmann::json TargetPool::status(WallClock::time_point now) const {
  std::lock_guard lock(mutex_);
  nlohmann::json list = nlohmann::json::array();
  bool available = false;
  for (const auto& target : targets_) {
    available = available || usable_locked(target, now);
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& [at, error] : target.recent_errors)
      errors.push_back({{"at", rfc3339(at)}, {"error", error}});
    list.push_back({{"base_url", target.base_url},
                    {"weight", target.weight},
                    {"state", target_state_name(state_locked(target, now))},
                    {"cooling_down_until", time_or_null(target.cooling_until, now)},
                    {"open_until", target.circuit_open ? time_or_null(target.open_until, now) : nullptr},
                    {"consecutive_failures", target.consecutive_failures},
                    {"requests", target.requests},
                    {"failures", target.failures},
                    {"recent_errors", std::move(errors)}});
  }
  return {{"available", available}, {"targets", std::move(list)}};
}

bool target_fault(int status, UpstreamEnd end) {
  if (end != UpstreamEnd::Complete) return true;
  return status == 502 || status == 503 || status == 504;
}

bool retryable(int status, UpstreamEnd end) {
  if (status == 200) return false;  // the answer has begun: the client may already have output
  if (end != UpstreamEnd::Complete) return true;
  return status == 429 || status >= 500;
}

std::string failure_name(int status, UpstreamEnd end) {
  if (end == UpstreamEnd::Complete || (status != 0 && status != 200)) return "http_" + std::to_string(status);
  switch (end) {
    case UpstreamEnd::ConnectFailed:
      return "connect_failed";
    case UpstreamEnd::ConnectTimeout:
      return "connect_timeout";
    case UpstreamEnd::FirstByteTimeout:
      return "first_byte_timeout";
    case UpstreamEnd::IdleTimeout:
      return "idle_timeout";
    case UpstreamEnd::Reset:
      return "reset";
    case UpstreamEnd::Protocol:
      return "protocol";
    case UpstreamEnd::Complete:
      break;
  }
  return "unknown";
}

std::chrono::milliseconds backoff_delay(const gateway::UpstreamFailover& settings, int retry,
                                        double unit_random) {
  const double doubled =
      static_cast<double>(settings.backoff_initial.count()) * std::pow(2.0, std::max(0, retry - 1));
  const double whole = std::min(doubled, static_cast<double>(settings.backoff_max.count()));
  const double jitter = std::clamp(unit_random, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<long long>(whole / 2 + jitter * whole / 2));
}

std::optional<std::chrono::milliseconds> next_retry(const gateway::UpstreamFailover& settings,
                                                    int attempts_made,
                                                    std::chrono::milliseconds backoff_spent,
                                                    double unit_random) {
  if (attempts_made >= settings.max_attempts) return std::nullopt;
  const auto pause = backoff_delay(settings, attempts_made, unit_random);
  if (backoff_spent + pause > settings.retry_budget) return std::nullopt;
  return pause;
}

std::optional<WallClock::time_point> rate_limit_end(const gateway::Headers& headers,
                                                    WallClock::time_point now) {
  std::optional<WallClock::time_point> end = limit_reset(headers);
  if (!end) {
    const auto after = gateway::find_header(headers, "retry-after");
    long long seconds = 0;
    if (after) {
      const auto [last, error] = std::from_chars(after->data(), after->data() + after->size(), seconds);
      if (error == std::errc() && last == after->data() + after->size() && seconds >= 0) {
        end = now + std::chrono::seconds(seconds);
      }
    }
  }
  if (!end || *end <= now) return std::nullopt;
  return std::min(*end, now + kLongestCoolDown);
}

std::string rfc3339(WallClock::time_point time) {
  const std::time_t seconds = WallClock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace e2b::fragments
