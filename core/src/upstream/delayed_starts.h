// Transfers that wait out their start_delay (a retry's backoff) before their loop starts them.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "upstream/upstream_transfer.h"

namespace gateway {

/// The waiting transfers of one loop, each with its due time (UpstreamTransfer::due).
class DelayedStarts {
 public:
  using Clock = UpstreamTransfer::Clock;

  /// Holds `transfer` until `now + delay`.
  void add(std::unique_ptr<UpstreamTransfer> transfer, Clock::time_point now, Clock::duration delay);
  /// Takes the transfers due at `now`, in the order they were added.
  std::vector<std::unique_ptr<UpstreamTransfer>> take_due(Clock::time_point now);
  /// Drops the transfer `id`; false if none waits under that id.
  bool drop(std::uint64_t id);
  /// The earliest due time, or Clock::time_point::max() when none waits.
  Clock::time_point next_due() const;
  void clear() { waiting_.clear(); }

 private:
  std::vector<std::unique_ptr<UpstreamTransfer>> waiting_;
};

}  // namespace gateway
