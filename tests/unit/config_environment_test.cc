// Unit tests of what overrides config.yaml: the E2B_* environment variables and the .env file.
#include "config/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "config_test_support.h"

namespace gateway {
namespace {

using namespace config_testing;
using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Environment overrides

TEST_F(ConfigTest, EnvironmentPortWinsOverFile) {
  env_.set("E2B_PORT", "9999");
  EXPECT_EQ(parse("listen:\n  port: 8000\n").server.port, 9999);
}

TEST_F(ConfigTest, EmptyEnvironmentPortIsIgnored) {
  env_.set("E2B_PORT", "");
  EXPECT_EQ(parse("listen:\n  port: 8000\n").server.port, 8000);
}

TEST_F(ConfigTest, InvalidEnvironmentPortIsAConfigError) {
  for (const char* value : {"70000", "-1", "abc"}) {
    SCOPED_TRACE(value);
    env_.set("E2B_PORT", value);
    EXPECT_EQ(error_field("listen:\n  port: 8000\n"), "E2B_PORT");
  }
}

TEST_F(ConfigTest, EnvironmentHostWinsOverFile) {
  env_.set("E2B_HOST", "::1");
  EXPECT_EQ(parse("listen:\n  host: 127.0.0.1\n").server.host, "::1");
}

TEST_F(ConfigTest, EnvironmentBaseUrlWinsAndKeepsOtherUpstreamSettings) {
  env_.set("E2B_BASE_URL", "http://fake-fragments:3000/");
  const GatewayConfig c =
      parse("upstream:\n  base_url: https://fragments.e2b.dev\n  connect_timeout_ms: 1234\n");
  EXPECT_EQ(c.upstream.base_url, "http://fake-fragments:3000");
  EXPECT_EQ(c.upstream.connect_timeout, std::chrono::milliseconds(1234));
}

TEST_F(ConfigTest, EnvironmentBaseUrlAppliesWithoutUpstreamSection) {
  env_.set("E2B_BASE_URL", "http://127.0.0.1:4000");
  EXPECT_EQ(parse("{}").upstream.base_url, "http://127.0.0.1:4000");
}

TEST_F(ConfigTest, EnvironmentBaseUrlIsValidated) {
  env_.set("E2B_BASE_URL", "fake-fragments:3000");
  EXPECT_EQ(error_field("{}"), "upstream.base_url");
}

TEST_F(ConfigTest, EnvironmentLogLevelWinsAndIsValidated) {
  env_.set("E2B_LOG_LEVEL", "warn");
  EXPECT_EQ(parse("log:\n  level: debug\n").log_level, "warn");
  env_.set("E2B_LOG_LEVEL", "loud");
  EXPECT_EQ(error_field("log:\n  level: debug\n"), "log.level");
}

TEST_F(ConfigTest, ReadsLogFormatAndAccessSwitch) {
  const GatewayConfig json_quiet = parse("log:\n  level: warn\n  format: json\n  access: false\n");
  EXPECT_EQ(json_quiet.log_level, "warn");
  EXPECT_EQ(json_quiet.log_format, LogFormat::Json);
  EXPECT_FALSE(json_quiet.log_access);
  const GatewayConfig text_loud = parse("log:\n  format: text\n  access: true\n");
  EXPECT_EQ(text_loud.log_format, LogFormat::Text);
  EXPECT_TRUE(text_loud.log_access);
  const GatewayConfig unset = parse("log:\n  format:\n  access:\n");  // null keeps the defaults
  EXPECT_EQ(unset.log_format, LogFormat::Text);
  EXPECT_TRUE(unset.log_access);
}

TEST_F(ConfigTest, EnvironmentLogFormatAndAccessWinAndAreValidated) {
  env_.set("E2B_LOG_FORMAT", "json");
  env_.set("E2B_LOG_ACCESS", "false");
  const GatewayConfig c = parse("log:\n  format: text\n  access: true\n");
  EXPECT_EQ(c.log_format, LogFormat::Json);
  EXPECT_FALSE(c.log_access);
  env_.set("E2B_LOG_ACCESS", "true");
  EXPECT_TRUE(parse("log:\n  access: false\n").log_access);
  env_.set("E2B_LOG_ACCESS", "");  // empty: the file's value
  EXPECT_FALSE(parse("log:\n  access: false\n").log_access);
  env_.set("E2B_LOG_ACCESS", "off");
  EXPECT_EQ(error_field("log:\n  access: false\n"), "E2B_LOG_ACCESS");
  env_.unset("E2B_LOG_ACCESS");
  env_.set("E2B_LOG_FORMAT", "logfmt");
  EXPECT_EQ(error_field("log:\n  format: json\n"), "log.format");
}

TEST_F(ConfigTest, UnsetOverridesLeaveTheFileValues) {
  const GatewayConfig c = parse(
      "listen:\n  port: 8000\n  host: 10.0.0.1\nupstream:\n  base_url: http://up:1\nlog:\n  level: error\n");
  EXPECT_EQ(c.server.port, 8000);
  EXPECT_EQ(c.server.host, "10.0.0.1");
  EXPECT_EQ(c.upstream.base_url, "http://up:1");
  EXPECT_EQ(c.log_level, "error");
}

// ---------------------------------------------------------------------------------------------
// load_dotenv and load_config

TEST_F(ConfigTest, DotenvSetsVariablesWithoutOverridingExistingOnes) {
  const std::vector<std::string> names{"GW_DOTENV_PLAIN",     "GW_DOTENV_EXPORTED", "GW_DOTENV_DQ",
                                       "GW_DOTENV_SQ",        "GW_DOTENV_SPACED",   "GW_DOTENV_EXISTING",
                                       "GW_DOTENV_COMMENTED", "GW_DOTENV_URL",      "GW_DOTENV_MISMATCH"};
  for (const auto& name : names) env_.unset(name);
  env_.set("GW_DOTENV_EXISTING", "from-environment");
  const TempDir dir;
  const auto file = dir.write(".env", R"(# a comment line
GW_DOTENV_PLAIN=plain
export GW_DOTENV_EXPORTED=exported
GW_DOTENV_DQ="double quoted # kept"
GW_DOTENV_SQ='single quoted'
   GW_DOTENV_SPACED  =  spaced value   
GW_DOTENV_EXISTING=from-file
  # GW_DOTENV_COMMENTED=should-not-be-set
#GW_DOTENV_COMMENTED=should-not-be-set
not a variable line

GW_DOTENV_URL=http://host:1/p?a=b
GW_DOTENV_MISMATCH="unbalanced'
)");
  load_dotenv(file);
  EXPECT_EQ(env("GW_DOTENV_PLAIN"), "plain");
  EXPECT_EQ(env("GW_DOTENV_EXPORTED"), "exported");
  EXPECT_EQ(env("GW_DOTENV_DQ"), "double quoted # kept");
  EXPECT_EQ(env("GW_DOTENV_SQ"), "single quoted");
  EXPECT_EQ(env("GW_DOTENV_SPACED"), "spaced value");
  EXPECT_EQ(env("GW_DOTENV_EXISTING"), "from-environment");
  EXPECT_EQ(env("GW_DOTENV_COMMENTED"), std::nullopt);
  EXPECT_EQ(env("GW_DOTENV_URL"), "http://host:1/p?a=b");  // only the first '=' splits
  EXPECT_EQ(env("GW_DOTENV_MISMATCH"), "\"unbalanced'");
}

TEST_F(ConfigTest, DotenvHandlesCrlfLineEndings) {
  env_.unset("GW_DOTENV_CRLF");
  const TempDir dir;
  load_dotenv(dir.write(".env", "GW_DOTENV_CRLF=\"value\"\r\n"));
  EXPECT_EQ(env("GW_DOTENV_CRLF"), "value");
}

TEST_F(ConfigTest, MissingDotenvFileIsFine) {
  EXPECT_NO_THROW(load_dotenv("/nonexistent/dir/.env"));
}

TEST_F(ConfigTest, LoadConfigReadsDotenvFromTheWorkingDirectoryFirst) {
  env_.unset("GW_TEST_DOTENV_PORT");
  env_.remember("GW_TEST_DOTENV_PORT");
  const TempDir dir;
  dir.write(".env", "GW_TEST_DOTENV_PORT=8124\n");
  const auto file = dir.write("config.yaml", "listen:\n  port: ${GW_TEST_DOTENV_PORT:-1}\n");
  const ScopedCwd cwd(dir.path());
  const GatewayConfig c = load_config(file, "/opt/gw/plugins");
  EXPECT_EQ(c.server.port, 8124);
  EXPECT_EQ(c.source, file);
}

TEST_F(ConfigTest, LoadConfigOfMissingFileIsAConfigError) {
  try {
    load_config("/nonexistent/config.yaml", "/opt/gw/plugins");
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.field(), "config");
  }
}

}  // namespace
}  // namespace gateway
