// Trimming the heap after a burst.
#include "util/idle_memory_return.h"

#include <malloc.h>

namespace gateway {

IdleMemoryReturn::IdleMemoryReturn(std::chrono::seconds quiet, std::function<void()> trim)
    : quiet_(quiet), trim_(trim ? std::move(trim) : [] { malloc_trim(0); }) {}

void IdleMemoryReturn::observe(std::int64_t in_flight, Clock::time_point now) {
  if (in_flight > 0) {
    busy_since_trim_ = true;
    quiet_since_.reset();
    return;
  }
  if (!busy_since_trim_) return;
  if (!quiet_since_) quiet_since_ = now;
  if (now - *quiet_since_ < quiet_) return;
  trim_();
  busy_since_trim_ = false;
  quiet_since_.reset();
}

}  // namespace gateway
