// Unit tests of the upstream section: one base_url or several targets, and the failover settings.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "config/config.h"

namespace gateway {
namespace {

using namespace std::chrono_literals;

GatewayConfig parse(const std::string& yaml) {
  return parse_config(yaml_to_json(yaml), "/opt/gw/plugins");
}

/// The dotted field of the ConfigError that parsing `yaml` raises ("" when nothing is thrown).
std::string error_field(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const ConfigError& e) {
    return e.field();
  }
  ADD_FAILURE() << "no ConfigError for:\n" << yaml;
  return "";
}

class UpstreamConfigTest : public testing::Test {
 protected:
  void SetUp() override { ::unsetenv("E2B_BASE_URL"); }
  void TearDown() override { ::unsetenv("E2B_BASE_URL"); }
};

TEST_F(UpstreamConfigTest, BaseUrlIsTheOneTargetAndFailoverHasDefaults) {
  const auto c = parse("upstream:\n  base_url: http://localhost:3000/\n");
  ASSERT_EQ(c.upstream.targets.size(), 1u);
  EXPECT_EQ(c.upstream.targets[0].base_url, "http://localhost:3000");
  EXPECT_EQ(c.upstream.targets[0].weight, 1);
  EXPECT_EQ(c.upstream.base_url, "http://localhost:3000");
  const auto& f = c.upstream.failover;
  EXPECT_EQ(f.max_attempts, 3);
  EXPECT_EQ(f.retry_budget, 2000ms);
  EXPECT_EQ(f.backoff_initial, 100ms);
  EXPECT_EQ(f.backoff_max, 2000ms);
  EXPECT_EQ(f.circuit_failures, 5);
  EXPECT_EQ(f.circuit_open, 30000ms);
  EXPECT_EQ(parse("{}").upstream.targets.at(0).base_url, "https://fragments.e2b.dev");
}

TEST_F(UpstreamConfigTest, ReadsTargetsWithWeightsKeysAndHeaders) {
  const auto c = parse(R"(
upstream:
  targets:
    - base_url: https://fragments.e2b.dev
    - {base_url: "http://self-hosted:3000/", weight: 3, provider_api_keys: {openai: sk-x}, headers: {X-Team: a}}
  max_attempts: 2
  retry_budget_ms: 500
  backoff_initial_ms: 50
  backoff_max_ms: 400
  circuit_failures: 0
  circuit_open_ms: 1000
)");
  ASSERT_EQ(c.upstream.targets.size(), 2u);
  EXPECT_EQ(c.upstream.base_url, "https://fragments.e2b.dev") << "the first target's";
  const auto& second = c.upstream.targets[1];
  EXPECT_EQ(second.base_url, "http://self-hosted:3000");
  EXPECT_EQ(second.weight, 3);
  EXPECT_EQ(second.provider_api_keys["openai"], "sk-x");
  ASSERT_EQ(second.headers.size(), 1u);
  EXPECT_EQ(second.headers[0].second, "a");
  EXPECT_EQ(c.upstream.failover.max_attempts, 2);
  EXPECT_EQ(c.upstream.failover.retry_budget, 500ms);
  EXPECT_EQ(c.upstream.failover.backoff_initial, 50ms);
  EXPECT_EQ(c.upstream.failover.backoff_max, 400ms);
  EXPECT_EQ(c.upstream.failover.circuit_failures, 0);
  EXPECT_EQ(c.upstream.failover.circuit_open, 1000ms);
}

TEST_F(UpstreamConfigTest, RefusesBadTargetsNamingTheSetting) {
  const std::string one = "    - base_url: http://a\n";
  EXPECT_EQ(error_field("upstream:\n  base_url: http://a\n  targets:\n" + one), "upstream.targets");
  EXPECT_EQ(error_field("upstream:\n  targets: []\n"), "upstream.targets");
  EXPECT_EQ(error_field("upstream:\n  targets:\n    - base_url: ftp://a\n"), "upstream.targets[0].base_url");
  EXPECT_EQ(error_field("upstream:\n  targets:\n    - weight: 2\n"), "upstream.targets[0].base_url");
  EXPECT_EQ(error_field("upstream:\n  targets:\n    - {base_url: http://a, weight: 0}\n"),
            "upstream.targets[0].weight");
  EXPECT_EQ(error_field("upstream:\n  targets:\n    - {base_url: http://a, weight: 1001}\n"),
            "upstream.targets[0].weight");
  EXPECT_EQ(error_field("upstream:\n  targets:\n" + one + "    - base_url: http://a/\n"),
            "upstream.targets[1].base_url");
  EXPECT_EQ(error_field("upstream:\n  targets:\n    - {base_url: http://a, wieght: 2}\n"),
            "upstream.targets[0].wieght");
  EXPECT_EQ(error_field("upstream:\n  max_attempts: 0\n"), "upstream.max_attempts");
  EXPECT_EQ(error_field("upstream:\n  backoff_initial_ms: 500\n  backoff_max_ms: 100\n"),
            "upstream.backoff_max_ms");
  EXPECT_EQ(error_field("upstream:\n  circuit_open_ms: 0\n"), "upstream.circuit_open_ms");
}

TEST_F(UpstreamConfigTest, BaseUrlVariableReplacesTheTargets) {
  ::setenv("E2B_BASE_URL", "http://from-env:1", 1);
  const auto c = parse("upstream:\n  targets:\n    - base_url: http://a\n    - base_url: http://b\n");
  ASSERT_EQ(c.upstream.targets.size(), 1u);
  EXPECT_EQ(c.upstream.targets[0].base_url, "http://from-env:1");
}

}  // namespace
}  // namespace gateway
