// The rate_limit plugin's configuration: its fields, defaults and validation.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "limiter.h"

namespace e2b::rate_limit {

struct RateLimitSettings {
  std::string time_zone = "UTC";           ///< IANA name; day and month quotas reset here
  std::int64_t default_max_tokens = 4096;  ///< reserved for a request that names no max_tokens
  LimiterSettings limiter;                 ///< the zone and the key and tenant defaults
};

/// Reads the plugin's `config` object. Throws gateway::PluginConfigError naming the field for
/// unknown settings, unknown limit names, values that are not non-negative integers, an unknown
/// time zone and a default_max_tokens below 1.
RateLimitSettings parse_rate_limit_settings(const nlohmann::json& config);

}  // namespace e2b::rate_limit
