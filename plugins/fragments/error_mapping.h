// What the client is told when Fragments or the connection to it fails (pure logic).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "gateway/plugin.h"

namespace e2b::fragments {

/// Maps a non-200 Fragments response (status, headers, plain-text body) to an OpenAI error.
/// `now` is used to turn x-ratelimit-reset (epoch ms) into Retry-After seconds.
gateway::LocalResponse map_upstream_status(int status, const gateway::Headers& headers,
                                           const std::string& body,
                                           std::chrono::system_clock::time_point now);

/// The time in Fragments' `x-ratelimit-reset` header (epoch milliseconds), if well formed.
std::optional<std::chrono::system_clock::time_point> limit_reset(const gateway::Headers& headers);

/// Whole seconds from `now` until `reset` for a Retry-After: at least 1, at most a day.
long long retry_after_seconds(std::chrono::system_clock::time_point reset,
                              std::chrono::system_clock::time_point now);

/// The 429 (with Retry-After) a request gets without reaching the upstream while every target
/// waits for its own rate limit to reset, the soonest at `until`.
gateway::LocalResponse rate_limit_refusal(std::chrono::system_clock::time_point until,
                                          std::chrono::system_clock::time_point now);

/// Maps a transport failure (no usable HTTP answer) to an OpenAI error.
gateway::LocalResponse map_transport_failure(gateway::UpstreamEnd end, const std::string& detail);

}  // namespace e2b::fragments
