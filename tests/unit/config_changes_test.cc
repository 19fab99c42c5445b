// What a reload applies and what it refuses (compare_configs).
#include "config/config_changes.h"

#include <gtest/gtest.h>

namespace gateway {
namespace {

ModelInfo model(const std::string& id, const std::string& name = "") {
  ModelInfo info;
  info.id = id;
  info.provider_id = "openai";
  info.name = name;
  return info;
}

GatewayConfig base_config() {
  GatewayConfig config;
  config.admin_tokens.push_back({"admin", "first-admin-token-0123456789"});
  config.plugins.push_back({"auth", "/plugins/auth.so", {{"keys", {"sk-one"}}}});
  config.plugins.push_back({"constraints", "/plugins/constraints.so", {{"max_messages", 5}}});
  config.models.add(model("gpt-4o"));
  config.models.add(model("llama"));
  config.upstream.targets.push_back({"http://127.0.0.1:7", 1, nlohmann::json::object(), {}});
  return config;
}

std::vector<std::string> fields(const std::vector<SettingChange>& changes) {
  std::vector<std::string> out;
  for (const auto& change : changes) out.push_back(change.field);
  return out;
}

TEST(ConfigChangesTest, TheSameConfigurationChangesNothing) {
  const auto changes = compare_configs(base_config(), base_config());
  EXPECT_TRUE(changes.applied.empty());
  EXPECT_TRUE(changes.restart_required.empty());
}

TEST(ConfigChangesTest, ListenersStorageAndLogFormatNeedARestart) {
  auto next = base_config();
  next.server.port = 9090;
  next.server.threads = 8;
  next.admin_server.port = 9091;
  next.storage_path = "other.db";
  next.log_format = LogFormat::Json;
  next.upstream.max_connections = 10;
  const auto changes = compare_configs(base_config(), next);
  EXPECT_EQ(fields(changes.restart_required),
            (std::vector<std::string>{"listen.port", "listen.threads", "admin.listen", "storage.path",
                                      "log.format", "upstream.max_connections"}));
  EXPECT_EQ(changes.restart_required.front().detail, "8080 -> 9090");
  EXPECT_TRUE(changes.applied.empty());
}

TEST(ConfigChangesTest, TurningTheAdminApiOffNeedsARestart) {
  auto next = base_config();
  next.admin_tokens.clear();
  EXPECT_EQ(fields(compare_configs(base_config(), next).restart_required),
            std::vector<std::string>{"admin.token"});
}

TEST(ConfigChangesTest, RotatedAdminTokensApplyWithoutShowingThem) {
  auto next = base_config();
  next.admin_tokens.front().token = "second-admin-token-0123456789";
  const auto changes = compare_configs(base_config(), next);
  ASSERT_EQ(fields(changes.applied), std::vector<std::string>{"admin.tokens"});
  EXPECT_EQ(changes.applied.front().detail.find("admin-token"), std::string::npos);
  EXPECT_TRUE(changes.restart_required.empty());
}

TEST(ConfigChangesTest, ModelChangesAreNamed) {
  auto next = base_config();
  next.models = ModelCatalog{};
  next.models.add(model("gpt-4o", "Renamed"));
  next.models.add(model("new-model"));
  const auto changes = compare_configs(base_config(), next);
  ASSERT_EQ(fields(changes.applied), std::vector<std::string>{"models"});
  EXPECT_EQ(changes.applied.front().detail, "added new-model; removed llama; changed gpt-4o");
}

TEST(ConfigChangesTest, PluginsReconfiguredOrRearranged) {
  auto reconfigured = base_config();
  reconfigured.plugins[1].config["max_messages"] = 3;
  auto changes = compare_configs(base_config(), reconfigured);
  ASSERT_EQ(fields(changes.applied), std::vector<std::string>{"plugins[1].config"});
  EXPECT_EQ(changes.applied.front().detail, "constraints reconfigured");

  auto removed = base_config();
  removed.plugins.pop_back();
  changes = compare_configs(base_config(), removed);
  ASSERT_EQ(fields(changes.applied), std::vector<std::string>{"plugins"});
  EXPECT_EQ(changes.applied.front().detail, "[auth, constraints] -> [auth]");
}

TEST(ConfigChangesTest, UpstreamAndLogLevelApplyLive) {
  auto next = base_config();
  next.upstream.targets.front().base_url = "http://127.0.0.1:9";
  next.upstream.idle_timeout = std::chrono::milliseconds(5);
  next.log_level = "debug";
  next.log_access = false;
  const auto changes = compare_configs(base_config(), next);
  EXPECT_EQ(fields(changes.applied), (std::vector<std::string>{"upstream.targets", "upstream.idle_timeout_ms",
                                                               "log.level", "log.access"}));
  EXPECT_EQ(changes.applied.front().detail,
            "[http://127.0.0.1:7 (weight 1)] -> [http://127.0.0.1:9 (weight 1)]");
  EXPECT_TRUE(changes.restart_required.empty());
}

TEST(ConfigChangesTest, TargetSecretsAndFailoverSettingsApplyLiveWithoutShowingSecrets) {
  auto next = base_config();
  next.upstream.targets.front().provider_api_keys = {{"openai", "sk-provider-secret-value"}};
  next.upstream.targets.front().headers.push_back({"Authorization", "Bearer header-secret-value"});
  next.upstream.targets.push_back({"http://127.0.0.1:8", 3, nlohmann::json::object(), {}});
  next.upstream.failover.max_attempts = 5;
  next.upstream.failover.circuit_open = std::chrono::milliseconds(1'000);
  const auto changes = compare_configs(base_config(), next);
  EXPECT_EQ(fields(changes.applied),
            (std::vector<std::string>{"upstream.targets", "upstream.targets", "upstream.max_attempts",
                                      "upstream.circuit_open_ms"}));
  EXPECT_EQ(
      changes.applied[0].detail,
      "[http://127.0.0.1:7 (weight 1)] -> [http://127.0.0.1:7 (weight 1), http://127.0.0.1:8 (weight 3)]");
  for (const auto& change : changes.applied) {
    EXPECT_EQ(change.detail.find("secret-value"), std::string::npos) << change.detail;
  }
  EXPECT_TRUE(changes.restart_required.empty());
}

}  // namespace
}  // namespace gateway
