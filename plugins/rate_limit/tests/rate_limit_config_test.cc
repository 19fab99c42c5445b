// Unit tests of the rate_limit plugin's configuration: defaults and every refusal, by field.
#include "rate_limit_config.h"

#include <gtest/gtest.h>

namespace e2b::rate_limit {
namespace {

using gateway::PluginConfigError;
using nlohmann::json;

/// The field a PluginConfigError names when `config` is read, or "" when it is accepted.
std::string refused_field(const json& config) {
  try {
    parse_rate_limit_settings(config);
  } catch (const PluginConfigError& e) {
    return e.field();
  }
  return "";
}

TEST(RateLimitConfig, DefaultsAreUtcAnd4096TokensAndNoLimits) {
  const auto s = parse_rate_limit_settings(nullptr);
  EXPECT_EQ(s.time_zone, "UTC");
  EXPECT_EQ(s.limiter.zone->name(), "UTC");
  EXPECT_EQ(s.default_max_tokens, 4096);
  EXPECT_EQ(s.limiter.key_defaults, gateway::RateLimits{});
  EXPECT_EQ(s.limiter.tenant_defaults, gateway::RateLimits{});
}

TEST(RateLimitConfig, ReadsEveryField) {
  const auto s =
      parse_rate_limit_settings({{"time_zone", "Asia/Kolkata"},
                                 {"default_max_tokens", 1000},
                                 {"key_defaults", {{"requests_per_minute", 60}, {"max_concurrent", 0}}},
                                 {"tenant_defaults", {{"tokens_per_month", 5000000}}}});
  EXPECT_EQ(s.limiter.zone->name(), "Asia/Kolkata");
  EXPECT_EQ(s.default_max_tokens, 1000);
  EXPECT_EQ(s.limiter.key_defaults.requests_per_minute, 60);
  EXPECT_EQ(s.limiter.key_defaults.max_concurrent, 0) << "0 = no limit, still a value";
  EXPECT_EQ(s.limiter.key_defaults.tokens_per_day, std::nullopt);
  EXPECT_EQ(s.limiter.tenant_defaults.tokens_per_month, 5000000);
}

TEST(RateLimitConfig, RefusesBadFieldsNamingThem) {
  EXPECT_EQ(refused_field({{"time_zones", "UTC"}}), "time_zones");
  EXPECT_EQ(refused_field({{"time_zone", "Mars/Olympus_Mons"}}), "time_zone");
  EXPECT_EQ(refused_field({{"time_zone", 5}}), "time_zone");
  EXPECT_EQ(refused_field({{"default_max_tokens", 0}}), "default_max_tokens");
  EXPECT_EQ(refused_field({{"default_max_tokens", 1.5}}), "default_max_tokens");
  EXPECT_EQ(refused_field({{"default_max_tokens", "many"}}), "default_max_tokens");
  EXPECT_EQ(refused_field({{"key_defaults", {{"rpm", 5}}}}), "key_defaults.rpm");
  EXPECT_EQ(refused_field({{"key_defaults", {{"requests_per_minute", -1}}}}),
            "key_defaults.requests_per_minute");
  EXPECT_EQ(refused_field({{"tenant_defaults", {{"tokens_per_day", 2.5}}}}),
            "tenant_defaults.tokens_per_day");
  EXPECT_EQ(refused_field({{"tenant_defaults", {{"tokens_per_day", true}}}}),
            "tenant_defaults.tokens_per_day");
  EXPECT_EQ(refused_field({{"tenant_defaults", {{"tokens_per_day", "10"}}}}),
            "tenant_defaults.tokens_per_day");
  EXPECT_EQ(refused_field({{"tenant_defaults", json::array({1})}}), "tenant_defaults");
  EXPECT_EQ(refused_field({{"key_defaults", {{"max_concurrent", 18446744073709551615ULL}}}}),
            "key_defaults.max_concurrent");
  EXPECT_EQ(refused_field(json::array()), "config");
  EXPECT_EQ(refused_field({{"key_defaults", {{"max_concurrent", 2}}}}), "");
}

}  // namespace
}  // namespace e2b::rate_limit
