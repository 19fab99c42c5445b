// A per-minute limit as a token bucket: it holds up to one minute's allowance and refills
// smoothly at limit/60 per second, so a client may spend a minute's allowance at once.
#pragma once

#include <chrono>

namespace e2b::rate_limit {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

/// One bucket. The capacity is passed to every call because it is the limit in force for the
/// current request (an admin may change it between requests); the level is clamped to it.
class TokenBucket {
 public:
  /// A new bucket starts full.
  TokenBucket(double capacity, TimePoint now) : level_(capacity), updated_(now) {}

  /// Adds what flowed in since the last call and clamps to `capacity` (a lowered limit clamps at once).
  void refill(double capacity, TimePoint now);
  /// What the bucket holds; negative after a request used more than it reserved.
  double level() const { return level_; }
  /// Takes `amount` (may leave the level negative).
  void take(double amount) { level_ -= amount; }
  /// Gives `amount` back, never above `capacity`.
  void give(double amount, double capacity);
  /// How long until the level reaches `amount` at the refill rate of `capacity` (zero when it does).
  std::chrono::milliseconds time_until(double amount, double capacity) const;
  /// How long until the bucket is full again.
  std::chrono::milliseconds time_until_full(double capacity) const { return time_until(capacity, capacity); }

 private:
  double level_;
  TimePoint updated_;
};

}  // namespace e2b::rate_limit
