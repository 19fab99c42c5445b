// Configuration reload over real HTTP: the gateway binary rewrites nothing itself; each test
// rewrites its config.yaml in place, asks for a reload (POST /admin/v1/config/reload or SIGHUP)
// and checks what the next requests see. Every test runs its own gateway, since it changes it.
#include <gtest/gtest.h>
#include <signal.h>

#include "harness.h"

using namespace harness;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr const char* kNewModelYaml = "  - {id: reloaded-model, provider_id: openai, name: Reloaded}\n";

Response reload(const Gateway& gateway, const std::string& token) {
  return http(gateway.admin_port(), "POST", "/admin/v1/config/reload",
              {{"Authorization", "Bearer " + token}});
}

Response reload(const Gateway& gateway) {
  return reload(gateway, gateway.admin_token());
}

/// `error.param` of an OpenAI-shaped error body.
std::string error_param(const Response& response) {
  const auto body = json::parse(response.body, nullptr, false);
  return body.is_object() && body.contains("error") ? body["error"].value("param", "") : "";
}

bool lists_model(const Gateway& gateway, const std::string& id) {
  const auto r = http(gateway.port(), "GET", "/v1/models", {{"Authorization", "Bearer " + gateway.key()}});
  if (r.status != 200) return false;
  const auto body = json::parse(r.body);
  for (const auto& model : body["data"]) {
    if (model["id"] == id) return true;
  }
  return false;
}

/// A two-message chat request (the constraints tests cap the message count).
json two_messages() {
  auto body = scenario_request("ok", false);
  body["messages"].insert(body["messages"].begin(), json{{"role", "system"}, {"content", "Be brief."}});
  return body;
}

/// The number on the line `series value` of a Prometheus scrape, or -1.
double scraped(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 2));
}

class ReloadTest : public ::testing::Test {
 protected:
  GatewayOptions base_options() const {
    GatewayOptions options;
    options.upstream_base = upstream_.base_url();
    return options;
  }
  FakeUpstream upstream_;
};

TEST_F(ReloadTest, AddedModelIsListedAfterReload) {
  auto options = base_options();
  Gateway gateway(options);
  EXPECT_FALSE(lists_model(gateway, "reloaded-model"));
  options.extra_models_yaml = kNewModelYaml;
  gateway.rewrite_config(options);
  const auto r = reload(gateway);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto body = json::parse(r.body);
  EXPECT_EQ(body["status"], "applied");
  EXPECT_EQ(body["generation"], 2);
  EXPECT_EQ(body["models"], 6);  // the alias claude-3-7-sonnet-latest is one more
  EXPECT_EQ(body["plugins"], json::array({"cors", "auth", "fragments"}));
  EXPECT_NE(body["changes"].dump().find("added reloaded-model"), std::string::npos) << r.body;
  EXPECT_TRUE(lists_model(gateway, "reloaded-model"));
  EXPECT_EQ(chat(gateway.port(), gateway.key(), scenario_request("ok", false, "reloaded-model")).status, 200);
}

TEST_F(ReloadTest, ChangedStaticKeyReplacesTheOldOne) {
  auto options = base_options();
  Gateway gateway(options);
  const std::string old_key = options.api_key;
  options.api_key = "sk-test-reloaded-key-0123456789abcdef";
  gateway.rewrite_config(options);
  ASSERT_EQ(reload(gateway).status, 200);
  EXPECT_EQ(chat(gateway.port(), old_key, scenario_request("ok", false)).status, 401);
  EXPECT_EQ(chat(gateway.port(), options.api_key, scenario_request("ok", false)).status, 200);
}

TEST_F(ReloadTest, PluginsAreReconfiguredAndRemoved) {
  auto options = base_options();
  const auto constraints = [](int max_messages) {
    return "  - name: constraints\n    config: {max_messages: " + std::to_string(max_messages) + "}\n";
  };
  options.extra_plugins_yaml = constraints(1);
  Gateway gateway(options);
  EXPECT_EQ(chat(gateway.port(), gateway.key(), two_messages()).status, 400);

  options.extra_plugins_yaml = constraints(5);
  gateway.rewrite_config(options);
  const auto reconfigured = reload(gateway);
  ASSERT_EQ(reconfigured.status, 200) << reconfigured.body;
  EXPECT_NE(reconfigured.body.find("constraints reconfigured"), std::string::npos) << reconfigured.body;
  EXPECT_EQ(chat(gateway.port(), gateway.key(), two_messages()).status, 200);

  options.extra_plugins_yaml = constraints(1);
  gateway.rewrite_config(options);
  ASSERT_EQ(reload(gateway).status, 200);
  EXPECT_EQ(chat(gateway.port(), gateway.key(), two_messages()).status, 400);

  options.extra_plugins_yaml.clear();  // constraints dropped from the chain
  gateway.rewrite_config(options);
  const auto removed = reload(gateway);
  ASSERT_EQ(removed.status, 200) << removed.body;
  EXPECT_EQ(json::parse(removed.body)["plugins"], json::array({"cors", "auth", "fragments"}));
  EXPECT_EQ(chat(gateway.port(), gateway.key(), two_messages()).status, 200);
}

TEST_F(ReloadTest, InvalidFileIsRefusedAndTheRunningConfigStays) {
  auto options = base_options();
  Gateway gateway(options);
  options.upstream_base = "ftp://nowhere.invalid";
  options.extra_models_yaml = kNewModelYaml;
  gateway.rewrite_config(options);
  const auto r = reload(gateway);
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(openai_error_code(r), "invalid_config");
  EXPECT_EQ(error_param(r), "upstream.base_url");
  EXPECT_TRUE(
      eventually([&] { return gateway.log().find("configuration reload refused") != std::string::npos; }));
  EXPECT_NE(gateway.log().find("upstream.base_url"), std::string::npos);
  EXPECT_FALSE(lists_model(gateway, "reloaded-model"));
  EXPECT_EQ(chat(gateway.port(), gateway.key(), scenario_request("ok", false)).status, 200);

  gateway.write_config_text("listen: [not, a, mapping\n");
  const auto broken = reload(gateway);
  EXPECT_EQ(broken.status, 422) << broken.body;
  EXPECT_EQ(chat(gateway.port(), gateway.key(), scenario_request("ok", false)).status, 200);
}

TEST_F(ReloadTest, ListenPortChangeIsRefusedNamingTheSetting) {
  auto options = base_options();
  Gateway gateway(options);
  options.port = 1;  // never bound: the reload is refused before anything changes
  options.extra_models_yaml = kNewModelYaml;
  gateway.rewrite_config(options);
  const auto r = reload(gateway);
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(openai_error_code(r), "restart_required");
  EXPECT_EQ(error_param(r), "listen.port");
  EXPECT_FALSE(lists_model(gateway, "reloaded-model"));
  EXPECT_EQ(chat(gateway.port(), gateway.key(), scenario_request("ok", false)).status, 200);
}

TEST_F(ReloadTest, StreamInFlightFinishesOnTheConfigItStartedWith) {
  FakeUpstream second;
  auto options = base_options();
  Gateway gateway(options);
  Connection client(gateway.port());
  client.send_raw(
      chat_request_text(gateway.key(), scenario_request("long=4000,chunk=40-60,delay_ms=20,tag=old", true)));
  ASSERT_TRUE(eventually([&] { return upstream_.stats()["active"] == 1; })) << upstream_.stats().dump();

  options.upstream_base = second.base_url();
  gateway.rewrite_config(options);
  const auto r = reload(gateway);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("upstream.targets"), std::string::npos) << r.body;

  const auto streamed = client.read_response();
  EXPECT_EQ(streamed.status, 200);
  EXPECT_TRUE(streamed.complete);
  EXPECT_EQ(streamed_content(streamed.body), long_reply("old", 4000));
  EXPECT_EQ(upstream_.stats()["completed"], 1);

  EXPECT_EQ(chat(gateway.port(), gateway.key(), scenario_request("ok", false)).status, 200);
  EXPECT_EQ(second.stats()["requests"], 1);
  EXPECT_EQ(upstream_.stats()["requests"], 1);
}

TEST_F(ReloadTest, SighupReloadsInsteadOfStopping) {
  auto options = base_options();
  Gateway gateway(options);
  options.extra_models_yaml = kNewModelYaml;
  gateway.rewrite_config(options);
  gateway.signal(SIGHUP);
  EXPECT_TRUE(eventually([&] { return gateway.log().find("reloaded: generation 2") != std::string::npos; }))
      << gateway.log();
  EXPECT_EQ(::kill(gateway.pid(), 0), 0);
  EXPECT_TRUE(lists_model(gateway, "reloaded-model"));
  EXPECT_EQ(chat(gateway.port(), gateway.key(), scenario_request("ok", false)).status, 200);
}

TEST_F(ReloadTest, RateLimitCountersAndSlotsSurviveAReload) {
  auto options = base_options();
  options.extra_plugins_yaml =
      "  - name: rate_limit\n    config: {time_zone: UTC, key_defaults: {requests_per_minute: 2, "
      "max_concurrent: 1}}\n";
  Gateway gateway(options);
  Connection client(gateway.port());
  client.send_raw(
      chat_request_text(gateway.key(), scenario_request("long=4000,chunk=40-60,delay_ms=20,tag=held", true)));
  ASSERT_TRUE(eventually([&] { return upstream_.stats()["active"] == 1; })) << upstream_.stats().dump();

  options.extra_models_yaml = kNewModelYaml;  // anything: the rate_limit plugin is a new instance
  gateway.rewrite_config(options);
  ASSERT_EQ(reload(gateway).status, 200);
  // The slot the stream took before the reload still counts.
  EXPECT_EQ(chat(gateway.port(), gateway.key(), scenario_request("ok", false)).status, 429);
  const auto streamed = client.read_response();
  EXPECT_TRUE(streamed.complete);
  // It was given back when the stream ended: a second request of this minute passes.
  EXPECT_TRUE(eventually(
      [&] { return chat(gateway.port(), gateway.key(), scenario_request("ok", false)).status == 200; }));
  // Two requests this minute (a refusal costs none): the limit holds across another reload.
  ASSERT_EQ(reload(gateway).status, 200);
  const auto limited = chat(gateway.port(), gateway.key(), scenario_request("ok", false));
  EXPECT_EQ(limited.status, 429) << limited.body;
}

TEST_F(ReloadTest, AdminTokenRotatesAndReloadsAreCounted) {
  auto options = base_options();
  const std::string scrape_token = "scrape-token-0123456789abcdef";
  options.extra_plugins_yaml = "  - name: metrics\n    config: {token: " + scrape_token + "}\n";
  Gateway gateway(options);
  const std::string old_token = options.admin_token;
  EXPECT_EQ(http(gateway.admin_port(), "POST", "/admin/v1/config/reload").status, 401);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(http(gateway.port(), "GET", "/health").status, 200);

  options.admin_token = "rotated-admin-token-0123456789";
  gateway.rewrite_config(options);
  ASSERT_EQ(reload(gateway, old_token).status, 200);
  EXPECT_EQ(reload(gateway, old_token).status, 401);
  const auto audit = http(gateway.admin_port(), "GET", "/admin/v1/audit",
                          {{"Authorization", "Bearer " + options.admin_token}});
  ASSERT_EQ(audit.status, 200) << audit.body;
  const auto entry = json::parse(audit.body)["data"][0];
  EXPECT_EQ(entry["action"], "config.reload") << audit.body;
  EXPECT_EQ(entry["actor"], "admin");
  EXPECT_EQ(entry["details"]["generation"], 2) << audit.body;

  options.port = 1;
  gateway.rewrite_config(options);
  EXPECT_EQ(reload(gateway, options.admin_token).status, 409);

  const auto metrics = http(gateway.port(), "GET", "/metrics", {{"Authorization", "Bearer " + scrape_token}});
  ASSERT_EQ(metrics.status, 200) << metrics.body;
  EXPECT_EQ(scraped(metrics.body, R"(gateway_config_reloads_total{result="success"})"), 1) << metrics.body;
  EXPECT_EQ(scraped(metrics.body, R"(gateway_config_reloads_total{result="failure"})"), 1) << metrics.body;
  EXPECT_EQ(scraped(metrics.body, R"(gateway_requests_total{model="none",route="health",status="200"})"), 3)
      << "the reloaded metrics plugin goes on counting in the same series: " << metrics.body;
}

}  // namespace
