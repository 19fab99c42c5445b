// The metrics plugin's configuration schema.
#include "metrics_config.h"

#include <gtest/gtest.h>

#include "gateway/plugin.h"

namespace e2b::metrics {
namespace {

using nlohmann::json;

std::string refused_field(const json& config) {
  try {
    parse_metrics_settings(config);
  } catch (const gateway::PluginConfigError& e) {
    return e.field();
  }
  return "";
}

TEST(MetricsConfig, DefaultsToOpenScrapesWithoutTenantLabels) {
  for (const auto& config : {json(nullptr), json::object()}) {
    const auto settings = parse_metrics_settings(config);
    EXPECT_EQ(settings.token, "");
    EXPECT_FALSE(settings.tenant_labels);
  }
}

TEST(MetricsConfig, ReadsTokenAndTenantLabels) {
  const auto settings =
      parse_metrics_settings({{"token", "scrape-token-0123456789"}, {"tenant_labels", true}});
  EXPECT_EQ(settings.token, "scrape-token-0123456789");
  EXPECT_TRUE(settings.tenant_labels);
  EXPECT_EQ(parse_metrics_settings({{"token", ""}}).token, "") << "empty = open, as ${VAR:-} gives";
}

TEST(MetricsConfig, RefusesAShortToken) {
  EXPECT_EQ(refused_field({{"token", "short"}}), "token");
  EXPECT_EQ(refused_field({{"token", std::string(kMinTokenLength - 1, 'x')}}), "token");
  EXPECT_EQ(refused_field({{"token", std::string(kMinTokenLength, 'x')}}), "");
}

TEST(MetricsConfig, RefusesWrongTypesNamingTheField) {
  EXPECT_EQ(refused_field({{"token", 12345}}), "token");
  EXPECT_EQ(refused_field({{"tenant_labels", "yes"}}), "tenant_labels");
  EXPECT_EQ(refused_field(json::array()), "config");
}

TEST(MetricsConfig, RefusesUnknownFieldsNamingThem) {
  EXPECT_EQ(refused_field({{"tenant_label", true}}), "tenant_label");
  EXPECT_EQ(refused_field({{"token", std::string(20, 'x')}, {"buckets", json::array()}}), "buckets");
}

}  // namespace
}  // namespace e2b::metrics
