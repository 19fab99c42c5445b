// The constraints plugin end to end: the real gateway with the plugin in its chain, against the
// fake Fragments upstream. What a rule changed must be what Fragments received and what the
// X-Gateway-Adjusted header says; a refusal must reach no upstream; check-config must accept the
// shipped rules and refuse caps left in the catalog.
#include <gtest/gtest.h>

#include <fstream>

#include "harness.h"

using namespace harness;
using nlohmann::json;

namespace {

/// The harness catalog: gpt-4o, gpt-4o-mini, claude-sonnet-4-5-20250929 (alias
/// claude-3-7-sonnet-latest), all provider openai, and llama3.1 from ollama.
struct ConstraintRulesConfig {
  static void apply(GatewayOptions& options) {
    options.extra_plugins_yaml = R"(  - name: constraints
    config:
      max_messages: 5
      max_prompt_chars: 50
      rules:
        - models: ["*"]
          params:
            temperature: {min: 0, max: 2, policy: clamp}
            top_p: {min: 0, max: 1}
        - models: ["gpt-4o"]
          params:
            max_tokens: {max: 100, policy: reject}
            top_k: {force: 20}
            presence_penalty: {default: 0.5}
        - models: ["gpt-4o-mini"]
          params: {max_tokens: {max: 50}}
        - models: ["provider:ollama"]
          params: {temperature: {max: 1, policy: reject}}
        - models: ["claude-3-7-sonnet-latest"]
          params: {seed: {force: 7}}
)";
  }
};

/// The fake's plain answer for `model` with `extra` request fields merged in.
json ok_request(const std::string& model, bool stream, const json& extra = json::object()) {
  json body = scenario_request("ok", stream, model);
  for (const auto& [field, value] : extra.items()) body[field] = value;
  return body;
}

constexpr const char* kAbsent = "(no header)";

/// The response's X-Gateway-Adjusted header, or kAbsent.
std::string adjusted(const Response& r) {
  const auto found = r.headers.find("x-gateway-adjusted");
  return found == r.headers.end() ? kAbsent : found->second;
}

}  // namespace

class ConstraintsTest : public GatewaySuite<ConstraintRulesConfig> {
 protected:
  Response ask(const json& body) { return chat(gateway_->port(), gateway_->key(), body); }
  /// The `config` object of the last request Fragments received.
  json upstream_config() const { return upstream_->stats()["last_request"]["config"]; }
  int upstream_requests() const { return upstream_->stats()["requests"].get<int>(); }

  /// Sends `body`, which the gateway must refuse with a 400 naming `param` and `code` without
  /// calling the upstream.
  void expect_refused(const json& body, const std::string& param, const std::string& code) {
    const int before = upstream_requests();
    const auto r = ask(body);
    EXPECT_EQ(r.status, 400) << r.body;
    ASSERT_EQ(r.headers.count("content-type"), 1u);
    EXPECT_EQ(r.headers.at("content-type"), "application/json")
        << "a refusal is plain JSON, even for a stream";
    const auto error = json::parse(r.body)["error"];
    EXPECT_EQ(error["type"], "invalid_request_error");
    EXPECT_EQ(error["param"], param);
    EXPECT_EQ(error["code"], code);
    EXPECT_EQ(adjusted(r), kAbsent);
    EXPECT_EQ(upstream_requests(), before) << "a refused request must not reach the upstream";
  }
};

TEST_F(ConstraintsTest, ClampedValuesGoUpstreamAndAreShown) {
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "stream" : "json");
    const auto r = ask(ok_request("gpt-4o-mini", stream, {{"temperature", 3.5}, {"top_p", -0.5}}));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(adjusted(r), "temperature=2,top_p=0");
    const auto config = upstream_config();
    EXPECT_EQ(config["temperature"], 2);
    EXPECT_EQ(config["topP"], 0);
  }
}

TEST_F(ConstraintsTest, ForcedAndDefaultValuesGoUpstreamAndAreShown) {
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "stream" : "json");
    const auto r = ask(ok_request("gpt-4o", stream, {{"top_k", 5}, {"temperature", 0.4}}));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(adjusted(r), "top_k=20,presence_penalty=0.5");
    const auto config = upstream_config();
    EXPECT_EQ(config["topK"], 20);
    EXPECT_EQ(config["presencePenalty"], 0.5);
    EXPECT_EQ(config["temperature"], 0.4);
    if (stream) {
      EXPECT_NE(streamed_content(r.body), "");
    }
  }
}

TEST_F(ConstraintsTest, AClientValueIsKeptWhereOnlyADefaultApplies) {
  const auto r = ask(ok_request("gpt-4o", false, {{"presence_penalty", -1}, {"top_k", 20}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(adjusted(r), kAbsent);
  EXPECT_EQ(upstream_config()["presencePenalty"], -1);
}

TEST_F(ConstraintsTest, ClampedMaxCompletionTokensSetsTheUpstreamBudget) {
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "stream" : "json");
    const auto r = ask(ok_request("gpt-4o-mini", stream, {{"max_completion_tokens", 80}}));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(adjusted(r), "max_completion_tokens=50");
    EXPECT_EQ(upstream_config()["maxTokens"], 50 + 256) << "the clamped budget plus envelope_tokens";
  }
}

TEST_F(ConstraintsTest, AnAliasGetsItsOwnRulesAndItsTargetDoesNot) {
  auto r = ask(ok_request("claude-3-7-sonnet-latest", true, {{"seed", 1}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(adjusted(r), "seed=7");
  EXPECT_EQ(upstream_config()["seed"], 7);
  r = ask(ok_request("claude-sonnet-4-5-20250929", false, {{"seed", 1}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(adjusted(r), kAbsent);
  EXPECT_EQ(upstream_config()["seed"], 1);
}

TEST_F(ConstraintsTest, ARequestNeedingNoChangeHasNoHeader) {
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "stream" : "json");
    const auto r = ask(ok_request("gpt-4o-mini", stream, {{"temperature", 0.7}, {"top_p", 1}}));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(adjusted(r), kAbsent);
    EXPECT_EQ(upstream_config()["temperature"], 0.7);
  }
  const auto models =
      http(gateway_->port(), "GET", "/v1/models", {{"Authorization", "Bearer " + gateway_->key()}});
  EXPECT_EQ(models.status, 200);
  EXPECT_EQ(adjusted(models), kAbsent);
}

TEST_F(ConstraintsTest, AnUpstreamErrorStillShowsTheAdjustment) {
  json body = scenario_request("status=503", false, "gpt-4o-mini");
  body["temperature"] = 9;
  const auto r = ask(body);
  EXPECT_NE(r.status, 200);
  EXPECT_EQ(adjusted(r), "temperature=2");
  EXPECT_EQ(upstream_config()["temperature"], 2);
}

TEST_F(ConstraintsTest, RejectAnswers400WithoutCallingTheUpstream) {
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "stream" : "json");
    expect_refused(ok_request("gpt-4o", stream, {{"max_tokens", 101}}), "max_tokens",
                   "integer_above_max_value");
    expect_refused(ok_request("gpt-4o", stream, {{"max_completion_tokens", 500}}), "max_completion_tokens",
                   "integer_above_max_value");
    expect_refused(ok_request("llama3.1", stream, {{"temperature", 1.5}}), "temperature",
                   "decimal_above_max_value");
  }
  const auto r = ask(ok_request("llama3.1", false, {{"temperature", 1.5}}));
  EXPECT_EQ(
      json::parse(r.body)["error"]["message"],
      "Invalid 'temperature': decimal above maximum value. Expected a value between 0 and 1, but got 1.5 "
      "instead.");
  const auto within = ask(ok_request("gpt-4o", false, {{"max_tokens", 100}}));
  EXPECT_EQ(within.status, 200) << within.body;
  EXPECT_EQ(upstream_config()["maxTokens"], 100 + 256);
}

TEST_F(ConstraintsTest, AWrongTypeIsRefusedNamingTheParameter) {
  expect_refused(ok_request("gpt-4o-mini", false, {{"temperature", "hot"}}), "temperature", "invalid_type");
  expect_refused(ok_request("gpt-4o", true, {{"top_k", 2.5}}), "top_k", "invalid_type");
}

TEST_F(ConstraintsTest, TooManyMessagesAreRefused) {
  json body = ok_request("gpt-4o-mini", false);
  json messages = json::array();
  for (int i = 0; i < 5; ++i) messages.push_back({{"role", "system"}, {"content", "s"}});
  messages.push_back(body["messages"][0]);
  body["messages"] = messages;
  expect_refused(body, "messages", "too_many_messages");
  body["messages"].erase(0);  // five messages: allowed
  EXPECT_EQ(ask(body).status, 200);
}

TEST_F(ConstraintsTest, APromptOverTheCharacterCapIsRefusedCountingCodePoints) {
  json body = ok_request("gpt-4o-mini", true);
  const auto user = body["messages"][0];  // "scenario:ok": 11 characters
  std::string accents;
  for (int i = 0; i < 39; ++i) accents += "é";  // 39 characters, 78 bytes
  body["messages"] = {{{"role", "system"}, {"content", accents}}, user};
  auto r = ask(body);
  EXPECT_EQ(r.status, 200) << "50 characters are allowed, however many bytes they take: " << r.body;
  body["messages"][0]["content"] = accents + "é";
  expect_refused(body, "messages", "context_length_exceeded");
}

TEST(ConstraintsCheckConfig, TheShippedConfigIsValidWithConstraintsInTheChain) {
  const auto result = run_command(
      std::string(GATEWAY_BINARY) + " check-config --config " + (source_dir() / "config.yaml").string(),
      std::chrono::seconds(20));
  EXPECT_TRUE(exited_with(result, 0)) << result.out << result.err;
  EXPECT_NE(result.out.find("constraints"), std::string::npos) << result.out;
}

/// Runs `e2b-gateway check-config` on a file holding `yaml` and the built plugins.
CommandResult check_config(const std::string& yaml) {
  TempDir dir;
  const auto path = dir.path() / "config.yaml";
  std::ofstream(path) << "plugin_dir: " << GATEWAY_PLUGIN_DIR << "\n" << yaml;
  return run_command(std::string(GATEWAY_BINARY) + " check-config --config " + path.string(),
                     std::chrono::seconds(20));
}

TEST(ConstraintsCheckConfig, CapsLeftInTheCatalogAreRefusedNamingTheField) {
  auto result = check_config("providers:\n  openai: {name: OpenAI, limits: {temperature: 2, top_p: 1}}\n");
  EXPECT_TRUE(exited_with(result, kAnyFailure));
  EXPECT_NE(result.err.find("providers.openai.limits"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("constraints"), std::string::npos) << result.err;
  result = check_config("models:\n  - {id: m, provider_id: openai, limits: {max_tokens: 100}}\n");
  EXPECT_TRUE(exited_with(result, kAnyFailure));
  EXPECT_NE(result.err.find("models[0].limits"), std::string::npos) << result.err;
}

TEST(ConstraintsCheckConfig, ABadRuleNamesThePluginAndTheField) {
  const auto result = check_config(
      "plugins:\n  - name: constraints\n    config:\n      rules:\n"
      "        - {models: [\"*\"], params: {top_p: {max: 1}}}\n"
      "        - {models: [m], params: {top_p: {max: 1, policy: cap}}}\n"
      "models:\n  - {id: m, provider_id: openai}\n");
  EXPECT_TRUE(exited_with(result, kAnyFailure));
  EXPECT_NE(result.err.find("plugins[0] (constraints).config.rules[1].params.top_p.policy"),
            std::string::npos)
      << result.err;
  const auto unknown = check_config(
      "plugins:\n  - name: constraints\n    config:\n      rules:\n"
      "        - {models: [gpt-9], params: {top_p: {max: 1}}}\n"
      "models:\n  - {id: m, provider_id: openai}\n");
  EXPECT_TRUE(exited_with(unknown, kAnyFailure));
  EXPECT_NE(unknown.err.find("plugins[0] (constraints).config.rules[0].models[0]"), std::string::npos)
      << unknown.err;
}
