// The plugin chain as an operator sees it: a third-party plugin loads from config, CORS answers
// preflight, and check-config names the plugin and field of a bad setting.
#include <gtest/gtest.h>

#include <fstream>

#include "harness.h"

using namespace harness;
using nlohmann::json;

namespace {

/// Runs a command line; a gateway that starts serving when it should refuse is killed after 20 s.
CommandResult run(const std::string& command) {
  return run_command(command, std::chrono::seconds(20));
}

}  // namespace

TEST(PluginsTest, ThirdPartyPluginLoadsAndRunsItsPhases) {
  FakeUpstream upstream;
  GatewayOptions options;
  options.upstream_base = upstream.base_url();
  options.extra_plugins_yaml =
      std::string("  - name: response_header\n    path: ") + GATEWAY_PLUGIN_DIR +
      "/response_header.so\n    config: {headers: {X-Example: stamped}, deny_header: x-deny-me}\n";
  Gateway gateway(options);
  auto r = chat(gateway.port(), gateway.key(), scenario_request("ok", true));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["x-example"], "stamped");
  r = http(gateway.port(), "GET", "/health");
  EXPECT_EQ(r.headers["x-example"], "stamped");
  r = chat(gateway.port(), gateway.key(), scenario_request("ok", false), {{"X-Deny-Me", "1"}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "denied_by_plugin");
}

TEST(PluginsTest, CorsAnswersPreflightAndStampsResponses) {
  FakeUpstream upstream;
  GatewayOptions options;
  options.upstream_base = upstream.base_url();
  Gateway gateway(options);
  auto r = http(gateway.port(), "OPTIONS", "/v1/chat/completions",
                {{"Origin", "https://app.example"},
                 {"Access-Control-Request-Method", "POST"},
                 {"Access-Control-Request-Headers", "authorization, content-type"}});
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.headers["access-control-allow-origin"], "*");
  EXPECT_EQ(r.headers["access-control-allow-headers"], "authorization, content-type");
  EXPECT_NE(r.headers["access-control-allow-methods"].find("POST"), std::string::npos);
  r = http(gateway.port(), "GET", "/health", {{"Origin", "https://app.example"}});
  EXPECT_EQ(r.headers["access-control-allow-origin"], "*");
}

TEST(PluginsTest, HealthEndpoints) {
  FakeUpstream upstream;
  GatewayOptions options;
  options.upstream_base = upstream.base_url();
  Gateway gateway(options);
  auto r = http(gateway.port(), "GET", "/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["status"], "ok");
  EXPECT_EQ(http(gateway.port(), "GET", "/healthz/live").status, 200);
  EXPECT_EQ(http(gateway.port(), "GET", "/healthz/ready").status, 200);
}

TEST(CheckConfigTest, ShippedConfigIsValidAndListsTheChain) {
  const auto result =
      run(std::string(GATEWAY_BINARY) + " check-config --config " + (source_dir() / "config.yaml").string());
  EXPECT_TRUE(exited_with(result, 0));
  const auto out = result.out + result.err;
  EXPECT_NE(out.find("cors"), std::string::npos);
  EXPECT_NE(out.find("auth"), std::string::npos);
  EXPECT_NE(out.find("fragments [upstream]"), std::string::npos);
}

/// Runs `e2b-gateway <command> --config <file with yaml>`.
CommandResult run_with_config(const std::string& command, const std::string& yaml) {
  TempDir dir;
  const auto path = dir.path() / "config.yaml";
  std::ofstream(path) << yaml;
  return run(std::string(GATEWAY_BINARY) + " " + command + " --config " + path.string());
}

TEST(CheckConfigTest, BadPluginSettingNamesPluginAndField) {
  const auto result = run_with_config("check-config", std::string("plugin_dir: ") + GATEWAY_PLUGIN_DIR +
                                                          "\nplugins:\n  - name: cors\n  - name: fragments\n"
                                                          "    config: {commentray: reasoning}\n");
  EXPECT_TRUE(exited_with(result, kAnyFailure));
  const auto out = result.out + result.err;
  EXPECT_NE(out.find("plugins[1] (fragments).config.commentray"), std::string::npos) << out;
}

TEST(CheckConfigTest, BadCoreSettingNamesTheField) {
  const auto result = run_with_config("check-config", "listen: {port: 99999}\n");
  EXPECT_TRUE(exited_with(result, kAnyFailure));
  const auto out = result.out + result.err;
  EXPECT_NE(out.find("listen.port"), std::string::npos) << out;
}

TEST(CheckConfigTest, ServeRefusesToStartWithABadConfig) {
  const auto result = run_with_config(
      "serve", std::string("plugin_dir: ") + GATEWAY_PLUGIN_DIR + "\nplugins:\n  - name: nosuchplugin\n");
  EXPECT_TRUE(exited_with(result, kAnyFailure));
  const auto out = result.out + result.err;
  EXPECT_NE(out.find("nosuchplugin"), std::string::npos) << out;
}
