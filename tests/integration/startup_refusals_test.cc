// What the gateway refuses at start, run against the real binary: a plugin built for another
// plugin ABI, and a database whose schema is newer than the binary knows.
#include <gtest/gtest.h>

#include <fstream>

#include "gateway/plugin.h"
#include "harness.h"

using namespace harness;

namespace {

/// A config that serves on an ephemeral loopback port with the shipped plugins, plus `more_plugins`.
std::filesystem::path write_config(const TempDir& dir, const std::string& more_plugins = "") {
  const auto path = dir.path() / "config.yaml";
  std::ofstream(path) << "listen: {host: 127.0.0.1, port: 0}\n"
                      << "upstream: {base_url: 'http://127.0.0.1:9'}\n"
                      << "storage: {path: " << (dir.path() / "gateway.db").string() << "}\n"
                      << "plugin_dir: " << GATEWAY_PLUGIN_DIR << "\n"
                      << "plugins:\n  - name: cors\n  - name: auth\n    config: {env_key: '', keys: "
                         "[sk-test-refusals-0123456789]}\n  - name: fragments\n"
                      << more_plugins << "providers: {openai: {name: OpenAI}}\n"
                      << "models:\n  - {id: gpt-4o, provider_id: openai, name: GPT-4o}\n";
  return path;
}

/// Runs `e2b-gateway COMMAND --config CONFIG`; a gateway that starts anyway is killed after 20 s.
CommandResult gateway_command(const std::string& command, const std::filesystem::path& config) {
  return run_command(std::string(GATEWAY_BINARY) + " " + command + " --config " + config.string(),
                     std::chrono::seconds(20));
}

}  // namespace

TEST(StartupRefusalTest, PluginBuiltForAnotherAbiIsRefusedNamingThePluginAndBothVersions) {
  TempDir dir;
  const auto config =
      write_config(dir, std::string("  - name: wrong_abi\n    path: ") + WRONG_ABI_PLUGIN + "\n");
  for (const std::string command : {"check-config", "serve"}) {
    const auto result = gateway_command(command, config);
    EXPECT_TRUE(exited_with(result, kAnyFailure)) << command;
    const auto output = result.out + result.err;
    EXPECT_NE(output.find("plugins[3] (wrong_abi)"), std::string::npos) << command << ": " << output;
    EXPECT_NE(output.find("ABI " + std::to_string(gateway::kPluginAbiVersion + 1)), std::string::npos)
        << command << ": the plugin's version: " << output;
    EXPECT_NE(output.find("speaks " + std::to_string(gateway::kPluginAbiVersion)), std::string::npos)
        << command << ": the gateway's version: " << output;
  }
}

TEST(StartupRefusalTest, TheSameConfigWithoutThatPluginIsAccepted) {
  TempDir dir;
  const auto result = gateway_command("check-config", write_config(dir));
  EXPECT_TRUE(exited_with(result, 0));
}

TEST(StartupRefusalTest, DatabaseNewerThanTheBinaryIsRefusedAndLeftUntouched) {
  TempDir dir;
  const auto config = write_config(dir);
  const auto db = (dir.path() / "gateway.db").string();
  ASSERT_TRUE(exited_with(cli(config, "migrate"), 0));
  const int known = std::stoi(sql_column(db, "SELECT MAX(version) FROM schema_migrations").at(0));
  ASSERT_GT(known, 0);
  const int newer = known + 1;
  sql_exec(db, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (" + std::to_string(newer) +
                   ", 'from_a_newer_gateway', 0)");
  const auto rows_before = sql_column(db, "SELECT COUNT(*) FROM schema_migrations").at(0);
  for (const std::string command : {"migrate", "serve"}) {
    const auto result = gateway_command(command, config);
    EXPECT_TRUE(exited_with(result, kAnyFailure)) << command;
    const auto output = result.out + result.err;
    EXPECT_NE(output.find("schema version " + std::to_string(newer)), std::string::npos)
        << command << ": " << output;
    EXPECT_NE(output.find("up to " + std::to_string(known)), std::string::npos) << command << ": " << output;
  }
  EXPECT_EQ(sql_column(db, "SELECT COUNT(*) FROM schema_migrations").at(0), rows_before);
  EXPECT_EQ(sql_column(db, "SELECT MAX(version) FROM schema_migrations").at(0), std::to_string(newer));
}
