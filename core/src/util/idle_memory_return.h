// Gives the heap memory of a past burst back to the system once the gateway is quiet again.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

namespace gateway {

/// glibc keeps freed memory in its arenas for reuse (the gateway asks it to keep more, see
/// tune_allocator in main.cc), so after a burst such as thousands of streams the RSS would stay
/// at its peak. Fed about once a second with the answers in flight, this trims the heap once the
/// gateway has had none for `quiet`, once per busy period.
class IdleMemoryReturn {
 public:
  using Clock = std::chrono::steady_clock;
  /// `trim` returns free memory to the system (malloc_trim(0) by default).
  explicit IdleMemoryReturn(std::chrono::seconds quiet = std::chrono::seconds(10),
                            std::function<void()> trim = {});
  /// Notes `in_flight` answers at `now`; trims when the quiet period after a busy one is over.
  void observe(std::int64_t in_flight, Clock::time_point now);

 private:
  std::chrono::seconds quiet_;
  std::function<void()> trim_;
  bool busy_since_trim_ = false;
  std::optional<Clock::time_point> quiet_since_;
};

}  // namespace gateway
