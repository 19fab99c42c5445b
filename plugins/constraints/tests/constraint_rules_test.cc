// Unit tests of applying the constraint rules: rule matching and merging, every policy, the
// message caps and the X-Gateway-Adjusted header value.
#include "constraint_rules.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "constraint_test_config.h"

namespace e2b::constraints {
namespace {

using namespace testing_support;
using gateway::LocalResponse;

/// What applying `config` to `chat` for model `id` gave: the request as sent upstream and the
/// header value, or the refusal.
struct Applied {
  json chat;
  std::string header;
  std::optional<LocalResponse> refusal;
  json error() const { return refusal ? json::parse(refusal->body)["error"] : json(nullptr); }
};

Applied constrain(const json& config, json chat, const std::string& id = "gpt-4o") {
  if (!chat.contains("messages")) chat["messages"] = {{{"role", "user"}, {"content", "hi"}}};
  chat["model"] = id;
  const auto s = settings(config);
  auto outcome = apply_constraints(s, entry(id), chat);
  Applied applied{chat, "", std::nullopt};
  if (auto* refusal = std::get_if<Refusal>(&outcome)) {
    applied.refusal = refusal->response;
  } else {
    applied.header = adjusted_header(std::get<std::vector<Adjustment>>(outcome));
  }
  return applied;
}

// ---------------------------------------------------------------------------------------------
// Policies

TEST(ConstraintClamp, MovesAValueAboveMaxDownAndShowsIt) {
  const auto a = constrain(everyone({{"temperature", {{"min", 0}, {"max", 2}}}}), {{"temperature", 3.5}});
  EXPECT_FALSE(a.refusal);
  EXPECT_EQ(a.chat["temperature"], 2);
  EXPECT_EQ(a.header, "temperature=2");
}

TEST(ConstraintClamp, MovesAValueBelowMinUp) {
  const auto a = constrain(everyone({{"presence_penalty", {{"min", -2}, {"max", 2}, {"policy", "clamp"}}}}),
                           {{"presence_penalty", -7}});
  EXPECT_EQ(a.chat["presence_penalty"], -2);
  EXPECT_EQ(a.header, "presence_penalty=-2");
}

TEST(ConstraintClamp, LeavesAValueInRangeAndAnOmittedParameterAlone) {
  const auto config = everyone({{"temperature", {{"min", 0}, {"max", 2}}}, {"top_p", {{"max", 1}}}});
  auto a = constrain(config, {{"temperature", 0.7}});
  EXPECT_EQ(a.chat["temperature"], 0.7);
  EXPECT_FALSE(a.chat.contains("top_p"));
  EXPECT_EQ(a.header, "");
  a = constrain(config, {{"temperature", 2}, {"top_p", 1.0}});  // the bounds themselves are allowed
  EXPECT_EQ(a.header, "");
}

TEST(ConstraintReject, AboveMaxIsA400NamingTheParameterRangeAndValue) {
  const auto a = constrain(everyone({{"temperature", {{"min", 0}, {"max", 2}, {"policy", "reject"}}}}),
                           {{"temperature", 2.5}});
  ASSERT_TRUE(a.refusal);
  EXPECT_EQ(a.refusal->status, 400);
  const auto error = a.error();
  EXPECT_EQ(error["type"], "invalid_request_error");
  EXPECT_EQ(error["param"], "temperature");
  EXPECT_EQ(error["code"], "decimal_above_max_value");
  EXPECT_EQ(
      error["message"],
      "Invalid 'temperature': decimal above maximum value. Expected a value between 0 and 2, but got 2.5 "
      "instead.");
}

TEST(ConstraintReject, BelowMinHasItsOwnCode) {
  const auto a = constrain(everyone({{"frequency_penalty", {{"min", -1}, {"policy", "reject"}}}}),
                           {{"frequency_penalty", -1.5}});
  ASSERT_TRUE(a.refusal);
  EXPECT_EQ(a.error()["param"], "frequency_penalty");
  EXPECT_EQ(a.error()["code"], "decimal_below_min_value");
  EXPECT_NE(a.error()["message"].get<std::string>().find(">= -1"), std::string::npos) << a.error();
  EXPECT_NE(a.error()["message"].get<std::string>().find("-1.5"), std::string::npos) << a.error();
}

TEST(ConstraintReject, IntegerParametersUseIntegerCodes) {
  const auto config = everyone({{"top_k", {{"min", 1}, {"max", 40}, {"policy", "reject"}}}});
  auto a = constrain(config, {{"top_k", 41}});
  ASSERT_TRUE(a.refusal);
  EXPECT_EQ(a.error()["code"], "integer_above_max_value");
  EXPECT_EQ(a.error()["param"], "top_k");
  EXPECT_EQ(
      a.error()["message"],
      "Invalid 'top_k': integer above maximum value. Expected a value between 1 and 40, but got 41 instead.");
  a = constrain(config, {{"top_k", 0}});
  ASSERT_TRUE(a.refusal);
  EXPECT_EQ(a.error()["code"], "integer_below_min_value");
  EXPECT_FALSE(constrain(config, {{"top_k", 40}}).refusal);
}

TEST(ConstraintForce, AlwaysSetsTheValueAndShowsItOnlyWhenItChanged) {
  const auto config = everyone({{"top_p", {{"force", 0.9}}}});
  auto a = constrain(config, {{"top_p", 0.5}});
  EXPECT_EQ(a.chat["top_p"], 0.9);
  EXPECT_EQ(a.header, "top_p=0.9");
  a = constrain(config, json::object());
  EXPECT_EQ(a.chat["top_p"], 0.9);
  EXPECT_EQ(a.header, "top_p=0.9");
  a = constrain(config, {{"top_p", 0.9}});
  EXPECT_EQ(a.header, "") << "the client already sent the forced value";
}

TEST(ConstraintForce, ThenTheRangeApplies) {
  const auto a = constrain(everyone({{"temperature", {{"force", 3}, {"max", 2}}}}), {{"temperature", 1}});
  EXPECT_EQ(a.chat["temperature"], 2);
  EXPECT_EQ(a.header, "temperature=2");
}

TEST(ConstraintDefault, FillsAnOmittedOrNullParameterOnly) {
  const auto config = everyone({{"temperature", {{"default", 0.3}}}});
  auto a = constrain(config, json::object());
  EXPECT_EQ(a.chat["temperature"], 0.3);
  EXPECT_EQ(a.header, "temperature=0.3");
  a = constrain(config, {{"temperature", nullptr}});
  EXPECT_EQ(a.chat["temperature"], 0.3);
  EXPECT_EQ(a.header, "temperature=0.3");
  a = constrain(config, {{"temperature", 1.2}});
  EXPECT_EQ(a.chat["temperature"], 1.2);
  EXPECT_EQ(a.header, "");
}

TEST(ConstraintDefault, ThenTheRangeClampsIt) {
  const auto a = constrain(everyone({{"temperature", {{"default", 5}, {"max", 2}}}}), json::object());
  EXPECT_EQ(a.chat["temperature"], 2);
  EXPECT_EQ(a.header, "temperature=2");
}

TEST(ConstraintPolicies, ParametersWithoutASpecAreUntouched) {
  const auto a = constrain(everyone({{"temperature", {{"max", 1}}}}), {{"top_p", 7}, {"seed", 12}});
  EXPECT_EQ(a.chat["top_p"], 7);
  EXPECT_EQ(a.chat["seed"], 12);
  EXPECT_EQ(a.header, "");
}

TEST(ConstraintHeader, ListsEveryChangeInParameterOrderAsJsonNumbers) {
  const auto config = everyone({{"seed", {{"force", 42}}},
                                {"temperature", {{"max", 1}}},
                                {"top_p", {{"default", 0.95}}},
                                {"top_k", {{"max", 40}}},
                                {"max_tokens", {{"max", 100}}},
                                {"presence_penalty", {{"min", 0}}},
                                {"frequency_penalty", {{"max", 0.5}}}});
  const auto a = constrain(config, {{"temperature", 1.5},
                                    {"top_k", 100},
                                    {"max_tokens", 500},
                                    {"presence_penalty", -1},
                                    {"frequency_penalty", 2},
                                    {"seed", 1}});
  EXPECT_EQ(
      a.header,
      "temperature=1,top_p=0.95,top_k=40,max_tokens=100,presence_penalty=0,frequency_penalty=0.5,seed=42");
}

TEST(ConstraintHeader, IsEmptyWithoutAdjustments) {
  EXPECT_EQ(adjusted_header({}), "");
  EXPECT_EQ(adjusted_header({{"temperature", 2}, {"top_p", 0.9}}), "temperature=2,top_p=0.9");
}

// ---------------------------------------------------------------------------------------------
// max_tokens and max_completion_tokens

TEST(ConstraintMaxTokens, GovernsMaxCompletionTokensToo) {
  const auto config = everyone({{"max_tokens", {{"max", 100}}}});
  auto a = constrain(config, {{"max_completion_tokens", 500}});
  EXPECT_EQ(a.chat["max_completion_tokens"], 100);
  EXPECT_FALSE(a.chat.contains("max_tokens"));
  EXPECT_EQ(a.header, "max_completion_tokens=100");
  a = constrain(config, {{"max_tokens", 300}, {"max_completion_tokens", 500}});
  EXPECT_EQ(a.chat["max_tokens"], 100);
  EXPECT_EQ(a.chat["max_completion_tokens"], 100);
  EXPECT_EQ(a.header, "max_tokens=100,max_completion_tokens=100");
}

TEST(ConstraintMaxTokens, RejectNamesTheFieldTheClientSent) {
  const auto config = everyone({{"max_tokens", {{"max", 4096}, {"policy", "reject"}}}});
  const auto a = constrain(config, {{"max_completion_tokens", 5000}});
  ASSERT_TRUE(a.refusal);
  EXPECT_EQ(a.error()["param"], "max_completion_tokens");
  EXPECT_EQ(a.error()["code"], "integer_above_max_value");
  EXPECT_NE(a.error()["message"].get<std::string>().find("<= 4096"), std::string::npos) << a.error();
  EXPECT_FALSE(constrain(config, {{"max_tokens", 4096}}).refusal);
}

TEST(ConstraintMaxTokens, DefaultOnlyWhenNeitherFieldIsSentAndItSetsMaxTokens) {
  const auto config = everyone({{"max_tokens", {{"default", 1000}}}});
  auto a = constrain(config, json::object());
  EXPECT_EQ(a.chat["max_tokens"], 1000);
  EXPECT_EQ(a.header, "max_tokens=1000");
  a = constrain(config, {{"max_completion_tokens", 50}});
  EXPECT_FALSE(a.chat.contains("max_tokens"));
  EXPECT_EQ(a.header, "");
  a = constrain(config, {{"max_tokens", nullptr}, {"max_completion_tokens", nullptr}});
  EXPECT_EQ(a.chat["max_tokens"], 1000);
}

TEST(ConstraintMaxTokens, ForceSetsWhicheverFieldWasSent) {
  const auto config = everyone({{"max_tokens", {{"force", 256}}}});
  auto a = constrain(config, {{"max_completion_tokens", 50}});
  EXPECT_EQ(a.chat["max_completion_tokens"], 256);
  EXPECT_FALSE(a.chat.contains("max_tokens"));
  a = constrain(config, json::object());
  EXPECT_EQ(a.chat["max_tokens"], 256);
}

// ---------------------------------------------------------------------------------------------
// Types

TEST(ConstraintTypes, AWrongTypeIsInvalidTypeNamingTheParameter) {
  const auto a = constrain(everyone({{"temperature", {{"max", 2}}}}), {{"temperature", "hot"}});
  ASSERT_TRUE(a.refusal);
  EXPECT_EQ(a.refusal->status, 400);
  EXPECT_EQ(a.error()["param"], "temperature");
  EXPECT_EQ(a.error()["code"], "invalid_type");
  EXPECT_EQ(a.error()["message"], "'temperature' must be a number");
  EXPECT_TRUE(constrain(everyone({{"top_p", {{"force", 1}}}}), {{"top_p", true}}).refusal);
}

TEST(ConstraintTypes, IntegerParametersRefuseFractions) {
  const auto a = constrain(everyone({{"seed", {{"min", 0}}}}), {{"seed", 1.5}});
  ASSERT_TRUE(a.refusal);
  EXPECT_EQ(a.error()["param"], "seed");
  EXPECT_EQ(a.error()["code"], "invalid_type");
  EXPECT_EQ(a.error()["message"], "'seed' must be an integer");
}

TEST(ConstraintTypes, ClampingAnIntegerKeepsAnInteger) {
  const auto a = constrain(everyone({{"top_k", {{"max", 40.0}}}}), {{"top_k", 500}});
  EXPECT_TRUE(a.chat["top_k"].is_number_integer());
  EXPECT_EQ(a.chat["top_k"], 40);
  EXPECT_EQ(a.header, "top_k=40");
}

TEST(ConstraintTypes, LargeSeedsCompareExactly) {
  const std::int64_t big = 9007199254740993;  // 2^53 + 1: not a double
  const auto a = constrain(everyone({{"seed", {{"max", big}}}}), {{"seed", big}});
  EXPECT_EQ(a.header, "");
  EXPECT_EQ(a.chat["seed"], big);
  EXPECT_EQ(constrain(everyone({{"seed", {{"max", big - 1}}}}), {{"seed", big}}).chat["seed"], big - 1);
}

// ---------------------------------------------------------------------------------------------
// Matching and merging

TEST(ConstraintMatching, StarProviderAndModelId) {
  const auto s = settings(example_config());
  EXPECT_TRUE(rule_matches(s.rules[0], entry("claude")));
  EXPECT_TRUE(rule_matches(s.rules[1], entry("claude")));
  EXPECT_FALSE(rule_matches(s.rules[1], entry("gpt-4o")));
  EXPECT_TRUE(rule_matches(s.rules[2], entry("gpt-4o")));
  EXPECT_FALSE(rule_matches(s.rules[2], entry("gpt-4o-mini")));
}

TEST(ConstraintMatching, ACatalogIdCoversItsAliasesButAnAliasOnlyItself) {
  auto s = settings(example_config());
  EXPECT_TRUE(rule_matches(s.rules[2], entry("4o")));
  EXPECT_TRUE(rule_matches(s.rules[1], entry("claude-latest")));  // aliases keep their provider
  s = settings({{"rules", {{{"models", {"claude-latest"}}, {"params", {{"seed", {{"force", 1}}}}}}}}});
  EXPECT_TRUE(rule_matches(s.rules[0], entry("claude-latest")));
  EXPECT_FALSE(rule_matches(s.rules[0], entry("claude")));
}

TEST(ConstraintMerging, LaterRulesReplaceOnlyTheFieldsTheySet) {
  const auto s = settings(example_config());
  const auto specs = effective_specs(s, entry("gpt-4o"));
  const auto& temperature = specs[static_cast<std::size_t>(Param::Temperature)];
  ASSERT_TRUE(temperature);
  EXPECT_EQ(temperature->min, 0);
  EXPECT_EQ(temperature->max, 2);  // kept from the "*" rule
  EXPECT_EQ(temperature->default_value, 0.3);
  EXPECT_EQ(temperature->policy, Policy::Clamp);
  EXPECT_FALSE(specs[static_cast<std::size_t>(Param::TopK)]);

  const auto claude = effective_specs(s, entry("claude"))[static_cast<std::size_t>(Param::Temperature)];
  ASSERT_TRUE(claude);
  EXPECT_EQ(claude->min, 0);
  EXPECT_EQ(claude->max, 1);  // the provider rule wins over "*"
  EXPECT_TRUE(claude->default_value.is_null());
}

TEST(ConstraintMerging, TheExampleEndToEnd) {
  auto a = constrain(example_config(), json::object(), "gpt-4o");
  EXPECT_EQ(a.chat["temperature"], 0.3);
  EXPECT_EQ(a.chat["top_p"], 0.9);
  EXPECT_EQ(a.header, "temperature=0.3,top_p=0.9");
  a = constrain(example_config(), {{"temperature", 1.7}}, "claude");
  EXPECT_EQ(a.chat["temperature"], 1);
  EXPECT_EQ(a.header, "temperature=1");
  a = constrain(example_config(), {{"temperature", 1.7}, {"max_tokens", 9000}}, "4o");
  ASSERT_TRUE(a.refusal) << "the alias gets the rules of gpt-4o";
  EXPECT_EQ(a.error()["param"], "max_tokens");
  a = constrain(example_config(), {{"temperature", 1.7}, {"max_tokens", 9000}}, "gpt-4o-mini");
  EXPECT_FALSE(a.refusal);
  EXPECT_EQ(a.header, "");
}

TEST(ConstraintMerging, ALaterPolicyTurnsAnEarlierClampIntoAReject) {
  const json config = {
      {"rules",
       {{{"models", {"*"}}, {"params", {{"temperature", {{"max", 2}}}}}},
        {{"models", {"provider:openai"}}, {"params", {{"temperature", {{"policy", "reject"}}}}}}}}};
  EXPECT_TRUE(constrain(config, {{"temperature", 3}}, "gpt-4o").refusal);
  EXPECT_EQ(constrain(config, {{"temperature", 3}}, "claude").chat["temperature"], 2);
}

// ---------------------------------------------------------------------------------------------
// Message caps

json messages_of(std::size_t count) {
  json messages = json::array();
  for (std::size_t i = 0; i < count; ++i) messages.push_back({{"role", "user"}, {"content", "x"}});
  return messages;
}

TEST(ConstraintMaxMessages, MoreThanTheCapIsRefused) {
  const json config = {{"max_messages", 3}};
  EXPECT_FALSE(constrain(config, {{"messages", messages_of(3)}}).refusal);
  const auto a = constrain(config, {{"messages", messages_of(4)}});
  ASSERT_TRUE(a.refusal);
  EXPECT_EQ(a.refusal->status, 400);
  EXPECT_EQ(a.error()["param"], "messages");
  EXPECT_EQ(a.error()["code"], "too_many_messages");
  EXPECT_NE(a.error()["message"].get<std::string>().find("at most 3"), std::string::npos);
}

TEST(ConstraintPromptChars, CountsCodePointsOfStringsAndTextParts) {
  const json messages = {{{"role", "system"}, {"content", "héllo"}},  // 5 code points, 6 bytes
                         {{"role", "user"},
                          {"content",
                           {{{"type", "text"}, {"text", "日本"}},  // 2 code points, 6 bytes
                            {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,AAAA"}}}},
                            {{"type", "text"}, {"text", "🙂"}}}}},  // 1 code point, 4 bytes
                         {{"role", "assistant"}, {"content", nullptr}}};
  EXPECT_EQ(prompt_chars(messages), 8u);
}

TEST(ConstraintPromptChars, OverTheCapIsContextLengthExceeded) {
  const json messages = {{{"role", "user"}, {"content", "日本語です"}}};  // 5 code points, 15 bytes
  EXPECT_FALSE(constrain({{"max_prompt_chars", 5}}, {{"messages", messages}}).refusal);
  const auto a = constrain({{"max_prompt_chars", 4}}, {{"messages", messages}});
  ASSERT_TRUE(a.refusal);
  EXPECT_EQ(a.error()["param"], "messages");
  EXPECT_EQ(a.error()["code"], "context_length_exceeded");
  EXPECT_NE(a.error()["message"].get<std::string>().find("5 characters"), std::string::npos) << a.error();
}

TEST(ConstraintCaps, AbsentMeansNoCap) {
  const auto s = settings(json::object());
  EXPECT_FALSE(s.max_messages);
  EXPECT_FALSE(s.max_prompt_chars);
  EXPECT_FALSE(constrain(nullptr, {{"messages", messages_of(1000)}}).refusal);
}

}  // namespace
}  // namespace e2b::constraints
