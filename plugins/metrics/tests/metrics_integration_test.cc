// The metrics plugin end to end: the real gateway with metrics, constraints and rate_limit in its
// chain, a real SQLite file and the fake upstream. Each test scrapes before and after its own
// traffic and checks the differences, polling because counters move on the log worker after the
// client has its answer.
#include <gtest/gtest.h>

#include <fstream>

#include "harness.h"
#include "test_support.h"

using namespace harness;
using e2b::metrics::testing::sample_value;
using nlohmann::json;

namespace {

constexpr const char* kToken = "scrape-token-0123456789abcdef";

/// The harness catalog: gpt-4o, gpt-4o-mini, claude-sonnet-4-5-20250929, llama3.1.
struct MetricsConfig {
  static void apply(GatewayOptions& options) {
    options.extra_plugins_yaml = std::string("  - name: metrics\n    config: {token: ") + kToken + R"(}
  - name: constraints
    config:
      rules: [{models: ["*"], params: {temperature: {min: 0, max: 1, policy: clamp}}}]
  - name: rate_limit
    config: {time_zone: UTC}
)";
  }
};

Response scrape(int port, const std::string& token = kToken) {
  std::map<std::string, std::string> headers;
  if (!token.empty()) headers["Authorization"] = "Bearer " + token;
  return http(port, "GET", "/metrics", headers);
}

/// The current scrape of the main listener (fails the test unless it is served).
std::string metrics_text(const Gateway& gateway) {
  const auto r = scrape(gateway.port());
  EXPECT_EQ(r.status, 200) << r.body;
  return r.body;
}

/// A sample's value, 0 when the series does not exist yet.
double value_of(const std::string& text, const std::string& series) {
  return std::max(0.0, sample_value(text, series));
}

/// Polls the scrape until every series in `expected` grew by its amount over `before`, then
/// checks the exact differences (reported per series on failure).
void expect_growth(const Gateway& gateway, const std::string& before,
                   const std::map<std::string, double>& expected) {
  std::string after;
  eventually(
      [&] {
        after = metrics_text(gateway);
        for (const auto& [series, growth] : expected) {
          if (value_of(after, series) - value_of(before, series) < growth) return false;
        }
        return true;
      },
      10s);
  for (const auto& [series, growth] : expected) {
    EXPECT_DOUBLE_EQ(value_of(after, series) - value_of(before, series), growth) << series << "\n" << after;
  }
}

std::string requests_series(const std::string& model, int status) {
  return R"(gateway_requests_total{model=")" + model + R"(",route="chat_completions",status=")" +
         std::to_string(status) + R"("})";
}

Response admin(const Gateway& gateway, const std::string& method, const std::string& path, const json& body) {
  return http(gateway.admin_port(), method, path,
              {{"Authorization", "Bearer " + gateway.admin_token()}, {"Content-Type", "application/json"}},
              body.dump());
}

/// A key stored through the admin API, of a new tenant.
struct StoredKey {
  std::string secret;
  std::string tenant;
};

/// A stored key of a new tenant, with `limits`.
StoredKey new_key(const Gateway& gateway, const json& limits) {
  const auto tenant = admin(gateway, "POST", "/admin/v1/tenants", {{"name", "Team"}});
  EXPECT_EQ(tenant.status, 201) << tenant.body;
  if (tenant.status != 201) return {};
  const std::string tenant_id = json::parse(tenant.body)["id"];
  const auto key = admin(gateway, "POST", "/admin/v1/keys",
                         {{"tenant", tenant_id}, {"user", "metrics-user@example.com"}, {"limits", limits}});
  EXPECT_EQ(key.status, 201) << key.body;
  if (key.status != 201) return {};
  return {json::parse(key.body)["key"], tenant_id};
}

/// The response header `name` (lower-case), or "" when absent.
std::string header(const Response& r, const std::string& name) {
  const auto found = r.headers.find(name);
  return found == r.headers.end() ? "" : found->second;
}

}  // namespace

class MetricsIntegration : public GatewaySuite<MetricsConfig> {};

TEST_F(MetricsIntegration, CountsRequestsTokensDurationsAndOutcomesPerModel) {
  const int port = gateway_->port();
  const auto before = metrics_text(*gateway_);
  json usage_of_gpt4o = {{"prompt_tokens", 0}, {"completion_tokens", 0}};
  for (int i = 0; i < 3; ++i) {
    const auto r = chat(port, gateway_->key(), scenario_request("ok", false, "gpt-4o"));
    ASSERT_EQ(r.status, 200) << r.body;
    const auto usage = json::parse(r.body)["usage"];
    usage_of_gpt4o["prompt_tokens"] =
        usage_of_gpt4o["prompt_tokens"].get<int>() + usage["prompt_tokens"].get<int>();
    usage_of_gpt4o["completion_tokens"] =
        usage_of_gpt4o["completion_tokens"].get<int>() + usage["completion_tokens"].get<int>();
  }
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(chat(port, gateway_->key(), scenario_request("ok", true, "gpt-4o-mini")).status, 200);
  }
  EXPECT_EQ(chat(port, gateway_->key(), scenario_request("ok", false, "evil-model-xyz")).status, 404);
  EXPECT_EQ(chat(port, "sk-wrong-key-0123456789abcdef", scenario_request("ok", false, "gpt-4o")).status, 401);
  EXPECT_EQ(chat(port, gateway_->key(), scenario_request("status=500", false, "llama3.1")).status, 502);

  expect_growth(
      *gateway_, before,
      {{requests_series("gpt-4o", 200), 3},
       {requests_series("gpt-4o-mini", 200), 2},
       // The gateway records no model for a request naming one outside its catalog.
       {requests_series("none", 404), 1},
       {requests_series("none", 401), 1},
       {requests_series("llama3.1", 502), 1},
       {R"(gateway_request_duration_seconds_count{model="gpt-4o",route="chat_completions",stream="false"})",
        3},
       {R"(gateway_request_duration_seconds_count{model="gpt-4o-mini",route="chat_completions",stream="true"})",
        2},
       {R"(gateway_time_to_first_token_seconds_count{model="gpt-4o"})", 3},
       {R"(gateway_time_to_first_token_seconds_count{model="gpt-4o-mini"})", 2},
       {R"(gateway_overhead_duration_seconds_count{route="chat_completions"})", 8},
       {R"(gateway_tokens_total{model="gpt-4o",type="input"})",
        usage_of_gpt4o["prompt_tokens"].get<double>()},
       {R"(gateway_tokens_total{model="gpt-4o",type="output"})",
        usage_of_gpt4o["completion_tokens"].get<double>()},
       {R"(gateway_outcomes_total{outcome="completed"})", 5},
       {R"(gateway_outcomes_total{outcome="rejected"})", 2},
       {R"(gateway_outcomes_total{outcome="upstream_error"})", 1},
       {R"(gateway_upstream_errors_total{code="upstream_error",model="llama3.1"})", 1}});
}

TEST_F(MetricsIntegration, KeepsLabelsBoundedAndSecretsOut) {
  const auto before = metrics_text(*gateway_);
  const auto stored = new_key(*gateway_, json::object());
  ASSERT_EQ(chat(gateway_->port(), stored.secret, scenario_request("ok", false, "gpt-4o")).status, 200);
  EXPECT_EQ(chat(gateway_->port(), gateway_->key(), scenario_request("ok", false, "evil-model-xyz")).status,
            404);
  expect_growth(*gateway_, before, {{requests_series("gpt-4o", 200), 1}, {requests_series("none", 404), 1}});
  const auto text = metrics_text(*gateway_);
  EXPECT_EQ(text.find("evil-model-xyz"), std::string::npos);
  EXPECT_EQ(text.find("sk-"), std::string::npos);
  EXPECT_EQ(text.find("example.com"), std::string::npos) << "no user names";
  EXPECT_EQ(text.find("key_"), std::string::npos) << "no key ids";
  EXPECT_EQ(text.find(kToken), std::string::npos);
}

TEST_F(MetricsIntegration, CountsRateLimitRefusalsAndConstraintAdjustments) {
  const auto before = metrics_text(*gateway_);
  const auto key = new_key(*gateway_, {{"requests_per_minute", 1}}).secret;
  ASSERT_EQ(chat(gateway_->port(), key, scenario_request("ok", false, "gpt-4o-mini")).status, 200);
  ASSERT_EQ(chat(gateway_->port(), key, scenario_request("ok", false, "gpt-4o-mini")).status, 429);
  auto hot = scenario_request("ok", false, "gpt-4o");
  hot["temperature"] = 1.7;
  ASSERT_EQ(chat(gateway_->port(), gateway_->key(), hot).status, 200);
  expect_growth(*gateway_, before,
                {{requests_series("gpt-4o-mini", 429), 1},
                 {R"(gateway_rate_limited_total{level="key",limit="requests_per_minute"})", 1},
                 {R"(gateway_constraints_adjusted_total{param="temperature",policy="clamp"})", 1}});
}

TEST_F(MetricsIntegration, ExportsGatewayFiguresBuildInfoAndProcessFigures) {
  const auto text = metrics_text(*gateway_);
  for (const char* name : {"gateway_in_flight_requests", "gateway_open_streams", "gateway_usage_queue_depth",
                           "gateway_upstream_connections", "gateway_usage_rows_dropped_total"}) {
    EXPECT_GE(sample_value(text, name), 0) << name << "\n" << text;
  }
  EXPECT_GE(sample_value(text, R"(gateway_config_reloads_total{result="success"})"), 0);
  EXPECT_GE(sample_value(text, R"(gateway_config_reloads_total{result="failure"})"), 0);
  EXPECT_NE(text.find("gateway_build_info{version=\""), std::string::npos);
  EXPECT_GT(sample_value(text, "process_resident_memory_bytes"), 1024 * 1024);
  EXPECT_GE(sample_value(text, "process_open_fds"), 3);
  EXPECT_GE(sample_value(text, "process_max_fds"), sample_value(text, "process_open_fds"));
  EXPECT_GE(sample_value(text, "process_cpu_seconds_total"), 0);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double started = sample_value(text, "process_start_time_seconds");
  EXPECT_LE(started, now + 1);
  EXPECT_GT(started, now - 3600) << "the gateway started with this suite";
}

TEST_F(MetricsIntegration, RequiresTheTokenOnBothListeners) {
  for (const int port : {gateway_->port(), gateway_->admin_port()}) {
    const auto without = scrape(port, "");
    EXPECT_EQ(without.status, 401) << port << ": " << without.body;
    EXPECT_EQ(openai_error_code(without), "invalid_metrics_token");
    EXPECT_EQ(without.body.find("gateway_"), std::string::npos);
    EXPECT_EQ(scrape(port, "scrape-token-0123456789abcdeX").status, 401) << port;
    const auto with = scrape(port);
    EXPECT_EQ(with.status, 200) << port << ": " << with.body;
    EXPECT_EQ(header(with, "content-type"), "text/plain; version=0.0.4; charset=utf-8");
    // Series that exist from the start (a family without series is left out of a scrape).
    EXPECT_NE(with.body.find("gateway_build_info{"), std::string::npos) << port;
    EXPECT_NE(with.body.find("gateway_outcomes_total{"), std::string::npos) << port;
    const auto posted = http(port, "POST", "/metrics", {{"Authorization", std::string("Bearer ") + kToken}});
    EXPECT_EQ(posted.status, 405) << port;
    EXPECT_EQ(openai_error_code(posted), "method_not_allowed");
  }
  EXPECT_EQ(scrape(gateway_->admin_port(), gateway_->admin_token()).status, 401)
      << "the admin token is not it";
}

TEST_F(MetricsIntegration, PromtoolAcceptsARealScrape) {
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/promtool")) << "install the Debian package prometheus";
  const auto before = metrics_text(*gateway_);
  ASSERT_EQ(chat(gateway_->port(), gateway_->key(), scenario_request("ok", true, "gpt-4o")).status, 200);
  ASSERT_EQ(chat(gateway_->port(), gateway_->key(), scenario_request("ok", false, "nope")).status, 404);
  expect_growth(*gateway_, before, {{R"(gateway_outcomes_total{outcome="completed"})", 1}});
  const TempDir dir;
  const auto file = dir.path() / "scrape.txt";
  std::ofstream(file) << metrics_text(*gateway_);
  const auto result = run_command("/usr/bin/promtool check metrics < " + file.string());
  EXPECT_EQ(result.status, 0) << result.out << result.err;
}

/// No token, tenant labels on.
struct OpenTenantConfig {
  static void apply(GatewayOptions& options) {
    options.extra_plugins_yaml = "  - name: metrics\n    config: {tenant_labels: true}\n";
  }
};

class MetricsOpenWithTenants : public GatewaySuite<OpenTenantConfig> {};

TEST_F(MetricsOpenWithTenants, ServesWithoutATokenAndCountsTokensPerTenant) {
  for (const int port : {gateway_->port(), gateway_->admin_port()}) {
    EXPECT_EQ(scrape(port, "").status, 200) << port;
  }
  const auto key = new_key(*gateway_, json::object());
  ASSERT_FALSE(key.tenant.empty());
  const auto before = metrics_text(*gateway_);
  const auto r = chat(gateway_->port(), key.secret, scenario_request("ok", false, "gpt-4o"));
  ASSERT_EQ(r.status, 200) << r.body;
  const auto usage = json::parse(r.body)["usage"];
  const auto tokens = [&](const std::string& type) {
    return R"(gateway_tokens_total{model="gpt-4o",tenant=")" + key.tenant + R"(",type=")" + type + R"("})";
  };
  expect_growth(*gateway_, before,
                {{tokens("input"), usage["prompt_tokens"].get<double>()},
                 {tokens("output"), usage["completion_tokens"].get<double>()}});
}

TEST(MetricsStartup, RefusesAShortTokenNamingTheField) {
  const TempDir dir;
  const auto config = dir.path() / "config.yaml";
  std::ofstream(config) << "listen: {host: 127.0.0.1, port: 0}\nstorage: {path: "
                        << (dir.path() / "g.db").string() << "}\nplugin_dir: " << GATEWAY_PLUGIN_DIR
                        << "\nplugins:\n  - name: metrics\n    config: {token: short, tenant_labels: true}\n"
                        << "models:\n  - {id: gpt-4o, provider_id: openai, name: GPT-4o}\n";
  const auto result = cli(config, "check-config");
  EXPECT_TRUE(exited_with(result, kAnyFailure));
  EXPECT_NE((result.out + result.err).find("token"), std::string::npos) << result.out << result.err;
  EXPECT_NE((result.out + result.err).find("metrics"), std::string::npos) << result.out << result.err;
}
