// Unit tests of the Fragments request body built from an OpenAI chat request: parameters,
// refused and accepted fields, the stable user id and the whole body. The messages are in
// map_messages_test.cc.
#include "request_builder.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <variant>
#include <vector>

#include "request_builder_test_support.h"

namespace e2b::fragments {
namespace {

using namespace request_testing;
using gateway::LocalResponse;
using nlohmann::json;
// ---------------------------------------------------------------------------------------------
// map_parameters

TEST(MapParameters, SamplingParametersBecomeCamelCase) {
  const json config = ok(map_parameters(chat_with({{"temperature", 0.7},
                                                   {"top_p", 0.9},
                                                   {"top_k", 40},
                                                   {"presence_penalty", 0.5},
                                                   {"frequency_penalty", -0.25},
                                                   {"seed", 42}}),
                                        0));
  EXPECT_EQ(config, (json{{"temperature", 0.7},
                          {"topP", 0.9},
                          {"topK", 40},
                          {"presencePenalty", 0.5},
                          {"frequencyPenalty", -0.25},
                          {"seed", 42}}));
}

TEST(MapParameters, OmittedParametersStayOmitted) {
  EXPECT_EQ(ok(map_parameters(chat_with({}), 0)), json::object());
}

TEST(MapParameters, NullParametersAreTreatedAsOmitted) {
  const json config = ok(map_parameters(chat_with({{"temperature", nullptr},
                                                   {"top_p", nullptr},
                                                   {"max_tokens", nullptr},
                                                   {"stop", nullptr},
                                                   {"seed", nullptr}}),
                                        0));
  EXPECT_EQ(config, json::object());
}

TEST(MapParameters, ZeroTemperatureIsKept) {
  EXPECT_EQ(ok(map_parameters(chat_with({{"temperature", 0}}), 0)), (json{{"temperature", 0}}));
}

TEST(MapParameters, MaxTokensGetsTheEnvelopeAllowanceOnTop) {
  EXPECT_EQ(ok(map_parameters(chat_with({{"max_tokens", 256}}), 100)), (json{{"maxTokens", 356}}));
  EXPECT_EQ(ok(map_parameters(chat_with({{"max_tokens", 256}}), 0)), (json{{"maxTokens", 256}}));
}

TEST(MapParameters, MaxCompletionTokensBecomesMaxTokens) {
  EXPECT_EQ(ok(map_parameters(chat_with({{"max_completion_tokens", 300}}), 10)), (json{{"maxTokens", 310}}));
}

TEST(MapParameters, MaxCompletionTokensWinsOverMaxTokens) {
  EXPECT_EQ(ok(map_parameters(chat_with({{"max_tokens", 100}, {"max_completion_tokens", 300}}), 0)),
            (json{{"maxTokens", 300}}));
}

TEST(MapParameters, NullMaxCompletionTokensFallsBackToMaxTokens) {
  EXPECT_EQ(ok(map_parameters(chat_with({{"max_tokens", 100}, {"max_completion_tokens", nullptr}}), 0)),
            (json{{"maxTokens", 100}}));
}

TEST(MapParameters, AHugeBudgetDoesNotOverflowWithTheAllowance) {
  const auto most = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(ok(map_parameters(chat_with({{"max_tokens", most - 5}}), 256)), (json{{"maxTokens", most}}));
}

TEST(MapParameters, StopIsNotSentUpstream) {
  // The model's raw output is the JSON envelope: the gateway applies stop to the answer itself.
  EXPECT_EQ(ok(map_parameters(chat_with({{"stop", "END"}}), 0)), json::object());
  EXPECT_EQ(ok(map_parameters(chat_with({{"stop", {"b", "a"}}}), 0)), json::object());
}

class MapParametersWrongType : public testing::TestWithParam<const char*> {};

TEST_P(MapParametersWrongType, IsRejectedNamingTheParameter) {
  const std::string param = GetParam();
  for (const json& bad : {json("0.7"), json(true), json::array({1}), json::object()}) {
    SCOPED_TRACE(bad.dump());
    const json error = expect_400(map_parameters(chat_with({{param, bad}}), 0), "invalid_type", param);
    EXPECT_NE(error.value("message", "").find(param), std::string::npos) << error.dump();
  }
}

INSTANTIATE_TEST_SUITE_P(Numeric, MapParametersWrongType,
                         testing::Values("temperature", "top_p", "top_k", "presence_penalty",
                                         "frequency_penalty", "seed"));

// ---------------------------------------------------------------------------------------------
// reject_unsupported

struct Rejection {
  json extra;
  std::string param;
};

void PrintTo(const Rejection& r, std::ostream* os) {
  *os << r.extra.dump();
}

class RejectUnsupported : public testing::TestWithParam<Rejection> {};

TEST_P(RejectUnsupported, Returns400NamingTheParameter) {
  const auto response = reject_unsupported(chat_with(GetParam().extra));
  ASSERT_TRUE(response.has_value()) << GetParam().extra.dump();
  expect_400(*response, "unsupported_parameter", GetParam().param);
}

const json kTool = {{"type", "function"},
                    {"function", {{"name", "get_weather"}, {"parameters", json::object()}}}};

Rejection rejects(json extra, std::string param) {
  return Rejection{std::move(extra), std::move(param)};
}

INSTANTIATE_TEST_SUITE_P(
    Parameters, RejectUnsupported,
    testing::Values(
        rejects({{"n", 2}}, "n"), rejects({{"n", 0}}, "n"), rejects({{"n", "1"}}, "n"),
        rejects({{"tools", json::array({kTool})}}, "tools"),
        rejects({{"functions", json::array({{{"name", "f"}, {"parameters", json::object()}}})}}, "functions"),
        rejects({{"tool_choice", "required"}}, "tool_choice"),
        rejects({{"tool_choice", {{"type", "function"}, {"function", {{"name", "get_weather"}}}}}},
                "tool_choice"),
        rejects({{"function_call", {{"name", "f"}}}}, "function_call"),
        rejects({{"logprobs", true}}, "logprobs"), rejects({{"top_logprobs", 3}}, "top_logprobs"),
        rejects({{"audio", {{"voice", "alloy"}, {"format", "wav"}}}}, "audio"),
        rejects({{"modalities", {"text", "audio"}}}, "modalities"),
        rejects({{"response_format", {{"type", "json_object"}}}}, "response_format"),
        rejects({{"response_format",
                  {{"type", "json_schema"},
                   {"json_schema", {{"name", "r"}, {"schema", {{"type", "object"}}}}}}}},
                "response_format")),
    [](const testing::TestParamInfo<Rejection>& info) {
      return info.param.param + "_" + std::to_string(info.index);
    });

class AcceptSupported : public testing::TestWithParam<json> {};

TEST_P(AcceptSupported, ReturnsNothing) {
  const auto response = reject_unsupported(chat_with(GetParam()));
  EXPECT_FALSE(response.has_value()) << GetParam().dump() << " -> " << response->body;
}

INSTANTIATE_TEST_SUITE_P(Parameters, AcceptSupported,
                         testing::Values(json::object(), json{{"n", 1}}, json{{"n", nullptr}},
                                         json{{"tools", json::array()}}, json{{"functions", json::array()}},
                                         json{{"tools", nullptr}}, json{{"tool_choice", "none"}},
                                         json{{"tool_choice", "auto"}}, json{{"logprobs", false}},
                                         json{{"top_logprobs", nullptr}}, json{{"audio", nullptr}},
                                         json{{"modalities", {"text"}}},
                                         json{{"response_format", {{"type", "text"}}}}));

// ---------------------------------------------------------------------------------------------
// stable_user_id

TEST(StableUserId, IsDeterministic) {
  EXPECT_EQ(stable_user_id("key_123"), stable_user_id("key_123"));
}

TEST(StableUserId, IsUuidShaped) {
  static const std::regex uuid("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
  for (const std::string& seed :
       std::vector<std::string>{"", "key_123", "another key", std::string(1000, 'x')}) {
    const std::string id = stable_user_id(seed);
    EXPECT_TRUE(std::regex_match(id, uuid)) << '"' << seed.substr(0, 20) << "\" -> " << id;
  }
}

TEST(StableUserId, CarriesVersion5AndRfcVariant) {
  for (int i = 0; i < 32; ++i) {
    const std::string id = stable_user_id("key_" + std::to_string(i));
    ASSERT_EQ(id.size(), 36u);
    EXPECT_EQ(id[14], '5') << id;
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
  }
}

TEST(StableUserId, DiffersForDifferentSeeds) {
  EXPECT_NE(stable_user_id("key_a"), stable_user_id("key_b"));
  EXPECT_NE(stable_user_id(""), stable_user_id(" "));
  EXPECT_NE(stable_user_id("key_1"), stable_user_id("key_10"));
}

// ---------------------------------------------------------------------------------------------
// build_fragments_request

class BuildFragmentsRequest : public testing::Test {
 protected:
  BuildFragmentsRequest() {
    model.id = "gpt-4o-mini";
    model.upstream_id = "gpt-4o-mini-2024-07-18";
    model.provider = "OpenAI";
    model.provider_id = "openai";
    model.name = "GPT-4o mini";
    model.multimodal = false;
    model.instructions = "Use short sentences.";
    settings.chat_instructions = "Reply with plain text in the code field.";
  }

  /// The body built from `chat` as sent to a target with `keys`.
  json built_with_keys(const json& chat, const json& keys) {
    const auto built = build_fragments_request(chat, model, settings, "u");
    if (const auto* error = std::get_if<LocalResponse>(&built)) {
      ADD_FAILURE() << "unexpected error " << error->status << ": " << error->body;
      return nullptr;
    }
    return json::parse(std::get<FragmentsBody>(built).with_provider_key(keys, model.provider_id));
  }

  gateway::ModelInfo model;
  RequestSettings settings;
};

TEST_F(BuildFragmentsRequest, ProducesTheFullBody) {
  const std::string user_id = stable_user_id("key_1");
  const json chat = chat_with(
      {{"messages", {{{"role", "system"}, {"content", "Be kind."}}, {{"role", "user"}, {"content", "hi"}}}},
       {"temperature", 0.3},
       {"max_tokens", 50},
       {"stream", true}});
  const auto built = build_fragments_request(chat, model, settings, user_id);
  ASSERT_TRUE(std::holds_alternative<FragmentsBody>(built));
  EXPECT_EQ(std::get<FragmentsBody>(built).max_tokens, 50 + settings.envelope_tokens);
  const json body =
      json::parse(std::get<FragmentsBody>(built).with_provider_key({{"openai", "sk-provider"}}, "openai"));
  ASSERT_TRUE(body.is_object());

  EXPECT_EQ(body.size(), 5u) << body.dump();
  EXPECT_EQ(body["userID"], user_id);
  EXPECT_EQ(body["messages"],
            (json::array({{{"role", "system"}, {"content", "Be kind."}}, user_text("hi")})));

  ASSERT_TRUE(body["template"].is_object());
  ASSERT_EQ(body["template"].size(), 1u);
  const json& tmpl = body["template"]["text"];
  EXPECT_EQ(tmpl.size(), 5u) << tmpl.dump();
  EXPECT_TRUE(tmpl["name"].is_string());
  EXPECT_TRUE(tmpl["lib"].is_array());
  EXPECT_EQ(tmpl["file"], "pages/ChatWithUsers.txt");
  EXPECT_EQ(tmpl["instructions"], "Reply with plain text in the code field.\nUse short sentences.");
  EXPECT_TRUE(tmpl.contains("port"));
  EXPECT_TRUE(tmpl["port"].is_null());

  EXPECT_EQ(body["model"], (json{{"id", "gpt-4o-mini-2024-07-18"},
                                 {"provider", "OpenAI"},
                                 {"providerId", "openai"},
                                 {"name", "GPT-4o mini"},
                                 {"multiModal", false}}));
  EXPECT_EQ(body["config"], (json{{"model", "gpt-4o-mini-2024-07-18"},
                                  {"apiKey", "sk-provider"},
                                  {"temperature", 0.3},
                                  {"maxTokens", 50 + settings.envelope_tokens}}));
}

TEST_F(BuildFragmentsRequest, UsesTheConfiguredTemplate) {
  settings.template_id = "code-interpreter-v1";
  settings.template_file = "script.py";
  const json body = ok(build_fragments_request(chat_with({}), model, settings, "u"));
  ASSERT_EQ(body["template"].size(), 1u);
  ASSERT_TRUE(body["template"].contains("code-interpreter-v1")) << body["template"].dump();
  EXPECT_EQ(body["template"]["code-interpreter-v1"]["file"], "script.py");
}

TEST_F(BuildFragmentsRequest, NoApiKeyWithoutAKeyForTheProvider) {
  const json body = built_with_keys(chat_with({}), {{"anthropic", "sk-ant"}});
  EXPECT_EQ(body["config"], (json{{"model", "gpt-4o-mini-2024-07-18"}}));
}

TEST_F(BuildFragmentsRequest, NoApiKeyWhenTheKeyIsEmptyOrNotAString) {
  for (const json& key : {json(""), json(nullptr), json(12)}) {
    SCOPED_TRACE(key.dump());
    const json body = built_with_keys(chat_with({}), {{"openai", key}});
    EXPECT_FALSE(body["config"].contains("apiKey")) << body["config"].dump();
  }
  EXPECT_FALSE(built_with_keys(chat_with({}), json::array({"sk"}))["config"].contains("apiKey"));
}

TEST_F(BuildFragmentsRequest, InstructionsWithOnlyOneSourceHaveNoNewline) {
  model.instructions.clear();
  EXPECT_EQ(
      ok(build_fragments_request(chat_with({}), model, settings, "u"))["template"]["text"]["instructions"],
      "Reply with plain text in the code field.");
  model.instructions = "Use short sentences.";
  settings.chat_instructions.clear();
  EXPECT_EQ(
      ok(build_fragments_request(chat_with({}), model, settings, "u"))["template"]["text"]["instructions"],
      "Use short sentences.");
  model.instructions.clear();
  EXPECT_EQ(
      ok(build_fragments_request(chat_with({}), model, settings, "u"))["template"]["text"]["instructions"],
      "");
}

TEST_F(BuildFragmentsRequest, PassesTheMultimodalFlagAndImages) {
  model.multimodal = true;
  const json body = ok(build_fragments_request(
      chat_with({{"messages", {{{"role", "user"}, {"content", {text_part("see"), image_part(kDataUrl)}}}}}}),
      model, settings, "u"));
  EXPECT_EQ(body["model"]["multiModal"], true);
  EXPECT_EQ(body["messages"][0]["content"][1], (json{{"type", "image"}, {"image", kDataUrl}}));
}

TEST_F(BuildFragmentsRequest, SnakeCaseParametersNeverReachTheConfig) {
  const json body = ok(build_fragments_request(
      chat_with({{"top_p", 0.5}, {"max_completion_tokens", 10}, {"frequency_penalty", 1}}), model, settings,
      "u"));
  const json& config = body["config"];
  for (const char* snake : {"top_p", "max_tokens", "max_completion_tokens", "frequency_penalty"}) {
    EXPECT_FALSE(config.contains(snake)) << snake;
  }
  EXPECT_EQ(config["topP"], 0.5);
  EXPECT_EQ(config["maxTokens"], 10 + settings.envelope_tokens);
  EXPECT_EQ(config["frequencyPenalty"], 1);
}

TEST_F(BuildFragmentsRequest, RejectsUnsupportedParameters) {
  expect_400(build_fragments_request(chat_with({{"n", 3}}), model, settings, "u"), "unsupported_parameter",
             "n");
}

TEST_F(BuildFragmentsRequest, RejectsImagesForTextOnlyModel) {
  expect_400(build_fragments_request(
                 chat_with({{"messages", {{{"role", "user"}, {"content", {image_part(kDataUrl)}}}}}}), model,
                 settings, "u"),
             "image_not_supported", "messages[0].content[0]");
}

TEST_F(BuildFragmentsRequest, RejectsParametersOfTheWrongType) {
  expect_400(build_fragments_request(chat_with({{"temperature", "hot"}}), model, settings, "u"),
             "invalid_type", "temperature");
}

}  // namespace
}  // namespace e2b::fragments
