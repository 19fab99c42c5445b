// The OpenAI-shaped 429 for a request a limit refused, and the event it reports.
#pragma once

#include "gateway/http_types.h"
#include "gateway/plugin.h"
#include "limiter.h"

namespace e2b::rate_limit {

/// 429 with code `rate_limit_exceeded` (type `requests` or `tokens`, as OpenAI sends them) for
/// the per-minute limits and max_concurrent, or `insufficient_quota` for the day and month
/// quotas. The message names the limit and the level; `Retry-After` (whole seconds, at least 1)
/// is set unless the request can never pass.
gateway::LocalResponse refusal_response(const Refusal& refusal);

/// The `rate_limited` event of a refused request, for monitoring: {limit: the refusing limit's
/// name ("requests_per_minute", …), level: "key" or "tenant"}. Never the key or tenant id.
gateway::RequestEvent refusal_event(const Refusal& refusal);

}  // namespace e2b::rate_limit
