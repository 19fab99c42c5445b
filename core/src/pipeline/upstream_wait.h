// How long a request waited for its upstream (pure logic; RequestRecord::upstream_wait).
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>

namespace gateway {

/// The part of [request_start, request_end] spent waiting for the upstream: from `handed_over`
/// (the request given to the upstream loop) to `upstream_end` (its exchange ended or was
/// cancelled), or to `request_end` when that came first or the exchange had not ended. Zero when
/// the request never went upstream. Never negative and never more than the request's own time,
/// whatever order threads stamped the times in.
inline std::chrono::microseconds upstream_wait(
    std::chrono::steady_clock::time_point request_start,
    std::optional<std::chrono::steady_clock::time_point> handed_over,
    std::optional<std::chrono::steady_clock::time_point> upstream_end,
    std::chrono::steady_clock::time_point request_end) {
  if (!handed_over || request_end <= request_start) return std::chrono::microseconds(0);
  const auto from = std::clamp(*handed_over, request_start, request_end);
  const auto to = std::clamp(upstream_end.value_or(request_end), from, request_end);
  return std::chrono::duration_cast<std::chrono::microseconds>(to - from);
}

}  // namespace gateway
