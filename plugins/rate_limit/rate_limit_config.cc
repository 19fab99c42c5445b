// Reading and validating the rate_limit plugin's configuration (see rate_limit_config.h).
#include "rate_limit_config.h"

#include <limits>

#include "gateway/config_reader.h"

namespace e2b::rate_limit {
namespace {

using gateway::PluginConfigError;

/// Whether `value` is an integer within int64 (booleans and fractions are not).
bool is_int64(const nlohmann::json& value) {
  if (value.is_number_unsigned()) {
    return value.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  }
  return value.is_number_integer();
}

}  // namespace

RateLimitSettings parse_rate_limit_settings(const nlohmann::json& config) {
  gateway::ConfigReader r(config);
  RateLimitSettings out;
  out.time_zone = r.get<std::string>("time_zone", out.time_zone);
  const auto max_tokens = r.get<nlohmann::json>("default_max_tokens", out.default_max_tokens);
  if (!is_int64(max_tokens) || max_tokens.get<std::int64_t>() < 1) {
    throw PluginConfigError("default_max_tokens", "must be an integer of at least 1");
  }
  out.default_max_tokens = max_tokens.get<std::int64_t>();
  out.limiter.key_defaults = r.rate_limits("key_defaults");
  out.limiter.tenant_defaults = r.rate_limits("tenant_defaults");
  r.reject_unknown();
  try {
    out.limiter.zone = date::locate_zone(out.time_zone);
  } catch (const std::exception&) {
    throw PluginConfigError("time_zone", "is not a known IANA time zone: \"" + out.time_zone + "\"");
  }
  return out;
}

}  // namespace e2b::rate_limit
