// Token bucket arithmetic (see token_bucket.h).
#include "token_bucket.h"

#include <algorithm>
#include <cmath>

namespace e2b::rate_limit {

void TokenBucket::refill(double capacity, TimePoint now) {
  // A wall clock that stepped back adds nothing rather than taking tokens away.
  if (now > updated_) {
    const double seconds = std::chrono::duration<double>(now - updated_).count();
    level_ += seconds * capacity / 60.0;
    updated_ = now;
  }
  level_ = std::min(level_, capacity);
}

void TokenBucket::give(double amount, double capacity) {
  level_ = std::min(level_ + amount, capacity);
}

std::chrono::milliseconds TokenBucket::time_until(double amount, double capacity) const {
  if (level_ >= amount || capacity <= 0) return std::chrono::milliseconds(0);
  const double seconds = (amount - level_) * 60.0 / capacity;
  return std::chrono::milliseconds(static_cast<long long>(std::ceil(seconds * 1000.0)));
}

}  // namespace e2b::rate_limit
