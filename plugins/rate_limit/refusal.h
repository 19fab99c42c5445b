// The OpenAI-shaped 429 for a request a limit refused.
#pragma once

#include "gateway/http_types.h"
#include "limiter.h"

namespace e2b::rate_limit {

/// 429 with code `rate_limit_exceeded` (type `requests` or `tokens`, as OpenAI sends them) for
/// the per-minute limits and max_concurrent, or `insufficient_quota` for the day and month
/// quotas. The message names the limit and the level; `Retry-After` (whole seconds, at least 1)
/// is set unless the request can never pass.
gateway::LocalResponse refusal_response(const Refusal& refusal);

}  // namespace e2b::rate_limit
