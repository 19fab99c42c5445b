// Unit tests of config.yaml loading and validation: variable interpolation, YAML typing, every
// setting read and every bad value refused by its dotted field. The environment overrides and
// .env are in config_environment_test.cc, the model catalog and plugins in config_catalog_test.cc.
#include "config/config.h"
#include "gateway/config_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config_test_support.h"

namespace gateway {
namespace {

using namespace config_testing;
using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// interpolate_env

TEST_F(ConfigTest, InterpolateReplacesVariables) {
  env_.set("GW_TEST_A", "alpha");
  env_.set("GW_TEST_B", "beta");
  EXPECT_EQ(interpolate_env("x${GW_TEST_A}y"), "xalphay");
  EXPECT_EQ(interpolate_env("${GW_TEST_A}/${GW_TEST_B}"), "alpha/beta");
  EXPECT_EQ(interpolate_env("no variables here"), "no variables here");
  EXPECT_EQ(interpolate_env(""), "");
}

TEST_F(ConfigTest, InterpolateUnsetVariableIsEmpty) {
  env_.unset("GW_TEST_UNSET");
  EXPECT_EQ(interpolate_env("[${GW_TEST_UNSET}]"), "[]");
}

TEST_F(ConfigTest, InterpolateUsesDefaultOnlyWhenUnsetOrEmpty) {
  env_.unset("GW_TEST_UNSET");
  env_.set("GW_TEST_A", "alpha");
  env_.set("GW_TEST_EMPTY", "");
  EXPECT_EQ(interpolate_env("${GW_TEST_UNSET:-fallback}"), "fallback");
  EXPECT_EQ(interpolate_env("${GW_TEST_A:-fallback}"), "alpha");
  EXPECT_EQ(interpolate_env("${GW_TEST_EMPTY:-fallback}"), "fallback");
  EXPECT_EQ(interpolate_env("${GW_TEST_UNSET:-http://h:1/p}"), "http://h:1/p");
  EXPECT_EQ(interpolate_env("${GW_TEST_UNSET:-}"), "");
}

TEST_F(ConfigTest, InterpolateLeavesUnterminatedReferenceAlone) {
  env_.set("GW_TEST_A", "alpha");
  EXPECT_EQ(interpolate_env("${GW_TEST_A} ${GW_TEST_A"), "alpha ${GW_TEST_A");
}

// ---------------------------------------------------------------------------------------------
// yaml_to_json

TEST_F(ConfigTest, YamlScalarsAreTypedLikeYaml12) {
  const json j = yaml_to_json(R"(
quoted_int: "123"
single_quoted: '45'
int: 123
negative: -7
float: 1.5
exp: 1e3
yes_bool: true
no_bool: false
quoted_bool: "true"
null_word: null
tilde: ~
empty:
text: hello world
)");
  EXPECT_EQ(j["quoted_int"], json("123"));
  EXPECT_EQ(j["single_quoted"], json("45"));
  EXPECT_TRUE(j["int"].is_number_integer());
  EXPECT_EQ(j["int"], 123);
  EXPECT_EQ(j["negative"], -7);
  EXPECT_TRUE(j["float"].is_number_float());
  EXPECT_DOUBLE_EQ(j["float"].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(j["exp"].get<double>(), 1000.0);
  EXPECT_EQ(j["yes_bool"], true);
  EXPECT_EQ(j["no_bool"], false);
  EXPECT_EQ(j["quoted_bool"], json("true"));
  EXPECT_TRUE(j.contains("null_word") && j["null_word"].is_null());
  EXPECT_TRUE(j.contains("tilde") && j["tilde"].is_null());
  EXPECT_TRUE(j.contains("empty") && j["empty"].is_null());
  EXPECT_EQ(j["text"], "hello world");
}

TEST_F(ConfigTest, YamlSequencesAndMappingsNest) {
  const json j = yaml_to_json("list: [1, two, {k: v}]\nmap:\n  inner:\n    - a\n");
  EXPECT_EQ(j, (json{{"list", {1, "two", {{"k", "v"}}}}, {"map", {{"inner", {"a"}}}}}));
}

TEST_F(ConfigTest, YamlPlainScalarIsTypedAfterInterpolation) {
  env_.set("GW_TEST_PORT", "9090");
  env_.unset("GW_TEST_UNSET");
  const json j = yaml_to_json(R"(
port: ${GW_TEST_PORT}
quoted_port: "${GW_TEST_PORT}"
flag: ${GW_TEST_UNSET:-true}
ratio: ${GW_TEST_UNSET:-0.25}
missing: ${GW_TEST_UNSET}
url: ${GW_TEST_UNSET:-http://localhost:3000}
)");
  EXPECT_TRUE(j["port"].is_number_integer()) << j.dump();
  EXPECT_EQ(j["port"], 9090);
  EXPECT_EQ(j["quoted_port"], json("9090"));
  EXPECT_EQ(j["flag"], true);
  EXPECT_DOUBLE_EQ(j["ratio"].get<double>(), 0.25);
  EXPECT_TRUE(j["missing"].is_null()) << j.dump();
  EXPECT_EQ(j["url"], "http://localhost:3000");
}

TEST_F(ConfigTest, InvalidYamlIsAConfigError) {
  try {
    yaml_to_json("listen: [unclosed");
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.field(), "yaml");
  }
}

// ---------------------------------------------------------------------------------------------
// parse_config

TEST_F(ConfigTest, EmptyDocumentGivesDefaults) {
  for (const json& document : {json::object(), json(nullptr)}) {
    const GatewayConfig c = parse_config(document, "/opt/gw/plugins");
    EXPECT_EQ(c.server.host, "0.0.0.0");
    EXPECT_EQ(c.server.port, 8080);
    EXPECT_EQ(c.server.threads, 2u);
    EXPECT_EQ(c.server.max_request_size, 8u * 1024 * 1024);
    EXPECT_EQ(c.server.max_request_line_bytes, 8192u);
    EXPECT_EQ(c.server.max_header_line_bytes, 8192u);
    EXPECT_EQ(c.server.max_header_count, 100u);
    EXPECT_EQ(c.server.max_head_bytes, 32768u);
    EXPECT_EQ(c.upstream.base_url, "https://fragments.e2b.dev");
    EXPECT_EQ(c.upstream.connect_timeout, std::chrono::milliseconds(10'000));
    EXPECT_EQ(c.upstream.first_byte_timeout, std::chrono::milliseconds(300'000));
    EXPECT_EQ(c.upstream.idle_timeout, std::chrono::milliseconds(120'000));
    EXPECT_EQ(c.upstream.max_connections, 1024);
    EXPECT_EQ(c.log_level, "info");
    EXPECT_EQ(c.log_format, LogFormat::Text);
    EXPECT_TRUE(c.log_access);
    EXPECT_EQ(c.plugin_dir, std::filesystem::path("/opt/gw/plugins"));
    EXPECT_TRUE(c.plugins.empty());
    EXPECT_TRUE(c.models.all().empty());
  }
}

TEST_F(ConfigTest, ReadsListenUpstreamAndLogSettings) {
  const GatewayConfig c = parse(R"(
listen:
  host: 127.0.0.1
  port: 9000
  threads: 4
  max_request_bytes: 2048
  max_request_line_bytes: 1000
  max_header_line_bytes: 2000
  max_header_count: 30
  max_head_bytes: 4000
  header_timeout_ms: 1000
  keepalive_timeout_ms: 2000
  write_timeout_ms: 3000
upstream:
  base_url: http://localhost:3000//
  connect_timeout_ms: 500
  first_byte_timeout_ms: 6000
  idle_timeout_ms: 7000
  max_connections: 16
log:
  level: debug
)");
  EXPECT_EQ(c.server.host, "127.0.0.1");
  EXPECT_EQ(c.server.port, 9000);
  EXPECT_EQ(c.server.threads, 4u);
  EXPECT_EQ(c.server.max_request_size, 2048u);
  EXPECT_EQ(c.server.max_request_line_bytes, 1000u);
  EXPECT_EQ(c.server.max_header_line_bytes, 2000u);
  EXPECT_EQ(c.server.max_header_count, 30u);
  EXPECT_EQ(c.server.max_head_bytes, 4000u);
  const auto limits = c.server.request_limits();
  EXPECT_EQ(limits.max_body_bytes, 2048u);
  EXPECT_EQ(limits.max_head_bytes, 4000u);
  // The admin listener refuses oversized heads with the same limits.
  EXPECT_EQ(c.admin_server.max_request_line_bytes, 1000u);
  EXPECT_EQ(c.admin_server.max_header_line_bytes, 2000u);
  EXPECT_EQ(c.admin_server.max_header_count, 30u);
  EXPECT_EQ(c.admin_server.max_head_bytes, 4000u);
  EXPECT_EQ(c.server.header_timeout, std::chrono::milliseconds(1000));
  EXPECT_EQ(c.server.keepalive_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(c.server.write_timeout, std::chrono::milliseconds(3000));
  EXPECT_EQ(c.upstream.base_url, "http://localhost:3000");  // trailing slashes dropped
  EXPECT_EQ(c.upstream.connect_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(c.upstream.first_byte_timeout, std::chrono::milliseconds(6000));
  EXPECT_EQ(c.upstream.idle_timeout, std::chrono::milliseconds(7000));
  EXPECT_EQ(c.upstream.max_connections, 16);
  EXPECT_EQ(c.log_level, "debug");
}

struct BadConfig {
  const char* name;
  const char* yaml;
  const char* field;
};

void PrintTo(const BadConfig& c, std::ostream* os) {
  *os << c.name;
}

class ConfigRejects : public ConfigTest, public testing::WithParamInterface<BadConfig> {};

TEST_P(ConfigRejects, NamingTheDottedField) {
  EXPECT_EQ(error_field(GetParam().yaml), GetParam().field);
}

INSTANTIATE_TEST_SUITE_P(
    UnknownKeys, ConfigRejects,
    testing::Values(BadConfig{"TopLevel", "lisen:\n  port: 80\n", "lisen"},
                    BadConfig{"Listen", "listen:\n  prot: 80\n", "listen.prot"},
                    BadConfig{"Upstream", "upstream:\n  base_ur: http://x\n", "upstream.base_ur"},
                    BadConfig{"Log", "log:\n  levle: debug\n", "log.levle"},
                    BadConfig{"Model",
                              "models:\n  - id: m\n    provider_id: openai\n    provder_id: openai\n",
                              "models[0].provder_id"},
                    BadConfig{"SecondModel",
                              "models:\n  - id: a\n    provider_id: openai\n  - id: b\n    provider_id: "
                              "openai\n    mutlimodal: true\n",
                              "models[1].mutlimodal"},
                    BadConfig{"Provider", "providers:\n  openai:\n    nme: OpenAI\n", "providers.openai.nme"},
                    BadConfig{"Plugin", "plugins:\n  - name: auth\n    cofig: {}\n", "plugins[0].cofig"}),
    [](const testing::TestParamInfo<BadConfig>& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    BadValues, ConfigRejects,
    testing::Values(
        BadConfig{"PortTooHigh", "listen:\n  port: 65536\n", "listen.port"},
        BadConfig{"PortNegative", "listen:\n  port: -1\n", "listen.port"},
        BadConfig{"PortQuoted", "listen:\n  port: \"8080\"\n", "listen.port"},
        BadConfig{"PortText", "listen:\n  port: eighty\n", "listen.port"},
        BadConfig{"NoThreads", "listen:\n  threads: 0\n", "listen.threads"},
        BadConfig{"TinyRequestLimit", "listen:\n  max_request_bytes: 100\n", "listen.max_request_bytes"},
        BadConfig{"TinyRequestLine", "listen:\n  max_request_line_bytes: 10\n",
                  "listen.max_request_line_bytes"},
        BadConfig{"HugeHeaderLine", "listen:\n  max_header_line_bytes: 100000000\n",
                  "listen.max_header_line_bytes"},
        BadConfig{"NoHeaders", "listen:\n  max_header_count: 0\n", "listen.max_header_count"},
        BadConfig{"HeadCountText", "listen:\n  max_header_count: many\n", "listen.max_header_count"},
        BadConfig{"HeadSmallerThanALine", "listen:\n  max_head_bytes: 4096\n", "listen.max_head_bytes"},
        BadConfig{"ZeroTimeout", "listen:\n  header_timeout_ms: 0\n", "listen.header_timeout_ms"},
        BadConfig{"NegativeUpstreamTimeout", "upstream:\n  idle_timeout_ms: -5\n",
                  "upstream.idle_timeout_ms"},
        BadConfig{"BaseUrlWithoutScheme", "upstream:\n  base_url: fragments.e2b.dev\n", "upstream.base_url"},
        BadConfig{"BaseUrlOtherScheme", "upstream:\n  base_url: ftp://fragments.e2b.dev\n",
                  "upstream.base_url"},
        BadConfig{"NoConnections", "upstream:\n  max_connections: 0\n", "upstream.max_connections"},
        BadConfig{"LogLevel", "log:\n  level: verbose\n", "log.level"},
        BadConfig{"LogFormat", "log:\n  format: xml\n", "log.format"},
        BadConfig{"LogFormatCapitalised", "log:\n  format: JSON\n", "log.format"},
        BadConfig{"LogFormatNotText", "log:\n  format: 1\n", "log.format"},
        BadConfig{"LogAccessWord", "log:\n  access: yes\n", "log.access"},
        BadConfig{"LogAccessNumber", "log:\n  access: 0\n", "log.access"},
        BadConfig{"DocumentNotAMapping", "- listen\n- upstream\n", "config"},
        BadConfig{"ListenNotAMapping", "listen: 8080\n", "listen"},
        BadConfig{"ModelsNotAList", "models:\n  id: m\n", "models"},
        BadConfig{"ModelWithoutId", "models:\n  - provider_id: openai\n", "models[0].id"},
        BadConfig{"ModelWithEmptyId", "models:\n  - id: \"\"\n    provider_id: openai\n", "models[0].id"},
        BadConfig{"ModelWithoutProvider", "models:\n  - id: m\n", "models[0].provider_id"},
        BadConfig{"DuplicateModel",
                  "models:\n  - id: m\n    provider_id: openai\n  - id: m\n    provider_id: ollama\n",
                  "models[1].id"},
        BadConfig{"AliasOfExistingModel",
                  "models:\n  - id: a\n    provider_id: openai\n    aliases: [b]\n  - id: b\n    "
                  "provider_id: openai\n",
                  "models"},
        BadConfig{"AliasTwice", "models:\n  - id: a\n    provider_id: openai\n    aliases: [x, x]\n",
                  "models"},
        BadConfig{"AliasesNotStrings", "models:\n  - id: a\n    provider_id: openai\n    aliases: [{x: 1}]\n",
                  "models[0].aliases"},
        BadConfig{"PluginWithoutName", "plugins:\n  - path: /x.so\n", "plugins[0].name"},
        BadConfig{"PluginsNotAList", "plugins: auth\n", "plugins"},
        BadConfig{"ShortAdminToken", "admin:\n  token: short\n", "admin.token"},
        BadConfig{"AdminTokensNotAList", "admin:\n  tokens: x\n", "admin.tokens"},
        BadConfig{"AdminTokenWithoutLabel", "admin:\n  tokens: [{token: 0123456789abcdefg}]\n",
                  "admin.tokens[0].label"},
        BadConfig{"ShortLabelledAdminToken", "admin:\n  tokens: [{label: ops, token: short}]\n",
                  "admin.tokens[0].token"},
        BadConfig{"AdminTokenUnknownKey",
                  "admin:\n  tokens: [{label: ops, token: 0123456789abcdefg, role: x}]\n",
                  "admin.tokens[0].role"}),
    [](const testing::TestParamInfo<BadConfig>& info) { return std::string(info.param.name); });

TEST_F(ConfigTest, AdminTokensCarryTheirAuditLabels) {
  env_.unset("E2B_ADMIN_TOKEN");
  EXPECT_TRUE(parse("").admin_tokens.empty()) << "no token: the admin API stays off";
  const auto config = parse(
      "admin:\n  token: main-token-0123456789\n  tokens:\n    - {label: ops, token: ops-token-0123456789}\n");
  ASSERT_EQ(config.admin_tokens.size(), 2u);
  EXPECT_EQ(config.admin_tokens[0].label, "admin");
  EXPECT_EQ(config.admin_tokens[0].token, "main-token-0123456789");
  EXPECT_EQ(config.admin_tokens[1].label, "ops");
  env_.set("E2B_ADMIN_TOKEN", "env-token-0123456789");
  EXPECT_EQ(parse("admin:\n  token: main-token-0123456789\n").admin_tokens.at(0).token,
            "env-token-0123456789");
}

TEST_F(ConfigTest, PortBoundsAreAccepted) {
  EXPECT_EQ(parse("listen:\n  port: 0\n").server.port, 0);
  EXPECT_EQ(parse("listen:\n  port: 65535\n").server.port, 65535);
}

// Found by fuzz/config_fuzzer.cc: converting such numbers to an integer setting was undefined
// behaviour (a value silently wrapped or became garbage before the range checks saw it).
TEST_F(ConfigTest, NumbersNoIntegerSettingCanHoldAreOutOfRange) {
  for (const char* yaml : {"listen:\n  max_request_bytes: 87777777777777388608\n",
                           "listen:\n  header_timeout_ms: 1.0e300\n", "listen:\n  port: -1.0e300\n"}) {
    try {
      parse(yaml);
      ADD_FAILURE() << "no ConfigError for:\n" << yaml;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("is out of range"), std::string::npos) << e.what();
    }
  }
}

TEST_F(ConfigTest, ReaderRefusesIntegersTheSettingTypeCannotHold) {
  // 2^32 + 80 would wrap to 80 in an int.
  ConfigReader reader(nlohmann::json{{"port", 4294967376LL}, {"small", 80}, {"fraction", 2.5}});
  EXPECT_THROW(reader.get<int>("port", 0), PluginConfigError);
  EXPECT_EQ(reader.get<int>("small", 0), 80);
  EXPECT_EQ(reader.get<int>("fraction", 0), 2);  // fractions are truncated, as before
  ConfigReader negative(nlohmann::json{{"bytes", -1}});
  EXPECT_THROW(negative.get<std::uint64_t>("bytes", 0), PluginConfigError);
}

}  // namespace
}  // namespace gateway
