// The x-ratelimit-* response headers, as OpenAI sends them, and their duration format.
#pragma once

#include <chrono>
#include <string>

#include "gateway/http_types.h"
#include "limiter.h"

namespace e2b::rate_limit {

/// A duration as OpenAI writes resets: "59ms" under a second, else whole seconds rounded up as
/// "12s", "6m0s" or "1h2m3s"; "0s" for nothing.
std::string openai_duration(std::chrono::milliseconds duration);

/// x-ratelimit-{limit,remaining,reset}-requests and -tokens for the meters that exist.
gateway::Headers limit_headers(const Meters& meters);

}  // namespace e2b::rate_limit
