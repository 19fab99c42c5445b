// Unit tests of the constraints plugin's settings: the documented shape is read, and every bad
// field is refused by name, including rules that only conflict once merged for a model.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "constraint_rules.h"
#include "constraint_test_config.h"

namespace e2b::constraints {
namespace {

using namespace testing_support;
using gateway::PluginConfigError;

/// The field a PluginConfigError names when `config` is read ("" when it is accepted).
std::string refused_field(const json& config) {
  try {
    settings(config);
  } catch (const PluginConfigError& e) {
    return e.field();
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Configuration

TEST(ConstraintConfig, ReadsTheDocumentedShape) {
  const auto s =
      settings({{"max_messages", 200}, {"max_prompt_chars", 400000}, {"rules", example_config()["rules"]}});
  EXPECT_EQ(s.max_messages, 200);
  EXPECT_EQ(s.max_prompt_chars, 400000);
  ASSERT_EQ(s.rules.size(), 3u);
  EXPECT_EQ(s.rules[1].models, std::vector<std::string>{"provider:anthropic"});
  const auto& max_tokens = s.rules[2].params[static_cast<std::size_t>(Param::MaxTokens)];
  ASSERT_TRUE(max_tokens);
  EXPECT_EQ(max_tokens->policy, Policy::Reject);
  EXPECT_EQ(max_tokens->max, 4096);
}

TEST(ConstraintConfig, ForceWithARangeIsFine) {
  EXPECT_EQ(refused_field(everyone({{"temperature", {{"force", 1}, {"min", 0}, {"max", 2}}}})), "");
}

TEST(ConstraintConfig, IntegralFloatsAreIntegersForIntegerParameters) {
  const auto s = settings(everyone({{"top_k", {{"max", 40.0}}}}));
  EXPECT_TRUE(s.rules[0].params[static_cast<std::size_t>(Param::TopK)]->max.is_number_integer());
}

struct BadSettings {
  const char* name;
  json config;
  const char* field;
};

void PrintTo(const BadSettings& bad, std::ostream* os) {
  *os << bad.name;
}

class ConstraintConfigRefuses : public testing::TestWithParam<BadSettings> {};

TEST_P(ConstraintConfigRefuses, NamingTheField) {
  EXPECT_EQ(refused_field(GetParam().config), GetParam().field);
}

json rule(const json& models, const json& params) {
  return {{"models", models}, {"params", params}};
}

/// A configuration whose rules[2] is `bad`, after two good rules.
json third_rule(const json& bad) {
  return {{"rules", {rule({"*"}, {{"temperature", {{"max", 2}}}}), rule({"gpt-4o"}, json::object()), bad}}};
}

INSTANTIATE_TEST_SUITE_P(
    Fields, ConstraintConfigRefuses,
    testing::Values(
        BadSettings{"NotAMapping", json::array(), "config"},
        BadSettings{"UnknownKey", {{"max_message", 5}}, "max_message"},
        BadSettings{"NegativeMaxMessages", {{"max_messages", -1}}, "max_messages"},
        BadSettings{"ZeroMaxMessages", {{"max_messages", 0}}, "max_messages"},
        BadSettings{"ParsedZeroMaxPromptChars", json::parse(R"({"max_prompt_chars": 0})"),
                    "max_prompt_chars"},
        BadSettings{"FractionalMaxMessages", {{"max_messages", 2.5}}, "max_messages"},
        BadSettings{"NegativeMaxPromptChars", {{"max_prompt_chars", -5}}, "max_prompt_chars"},
        BadSettings{"TextMaxPromptChars", {{"max_prompt_chars", "lots"}}, "max_prompt_chars"},
        BadSettings{"RulesNotAList", {{"rules", {{"models", {"*"}}}}}, "rules"},
        BadSettings{"RuleNotAMapping", {{"rules", {"*"}}}, "rules[0]"},
        BadSettings{"UnknownRuleKey",
                    third_rule({{"models", {"*"}}, {"params", json::object()}, {"model", 1}}),
                    "rules[2].model"},
        BadSettings{"MissingModels", third_rule({{"params", json::object()}}), "rules[2].models"},
        BadSettings{"EmptyModels", third_rule(rule(json::array(), json::object())), "rules[2].models"},
        BadSettings{"ModelsNotAList", third_rule(rule("*", json::object())), "rules[2].models"},
        BadSettings{"ModelNotAString", third_rule(rule({"*", 5}, json::object())), "rules[2].models[1]"},
        BadSettings{"UnknownModel", third_rule(rule({"gpt-4o", "gpt-9"}, json::object())),
                    "rules[2].models[1]"},
        BadSettings{"UnusedProvider", third_rule(rule({"provider:mistral"}, json::object())),
                    "rules[2].models[0]"},
        BadSettings{"EmptyProvider", third_rule(rule({"provider:"}, json::object())), "rules[2].models[0]"},
        BadSettings{"MissingParams", third_rule({{"models", {"*"}}}), "rules[2].params"},
        BadSettings{"ParamsNotAMapping", third_rule(rule({"*"}, json::array())), "rules[2].params"},
        BadSettings{"UnknownParam", third_rule(rule({"*"}, {{"tempreature", {{"max", 1}}}})),
                    "rules[2].params.tempreature"},
        BadSettings{"SpecNotAMapping", third_rule(rule({"*"}, {{"top_p", 1}})), "rules[2].params.top_p"},
        BadSettings{"UnknownSpecKey", third_rule(rule({"*"}, {{"top_p", {{"maximum", 1}}}})),
                    "rules[2].params.top_p.maximum"},
        BadSettings{"UnknownPolicy", third_rule(rule({"*"}, {{"top_p", {{"max", 1}, {"policy", "cap"}}}})),
                    "rules[2].params.top_p.policy"},
        BadSettings{"NonNumericMax", third_rule(rule({"*"}, {{"top_p", {{"max", "one"}}}})),
                    "rules[2].params.top_p.max"},
        BadSettings{"NonNumericForce", third_rule(rule({"*"}, {{"seed", {{"force", true}}}})),
                    "rules[2].params.seed.force"},
        BadSettings{"NonNumericDefault", third_rule(rule({"*"}, {{"temperature", {{"default", "warm"}}}})),
                    "rules[2].params.temperature.default"},
        BadSettings{"NullMinIsAbsent", third_rule(rule({"*"}, {{"top_k", {{"min", nullptr}, {"max", "x"}}}})),
                    "rules[2].params.top_k.max"},
        BadSettings{"MinAboveMax", third_rule(rule({"*"}, {{"top_p", {{"min", 0.9}, {"max", 0.5}}}})),
                    "rules[2].params.top_p.min"},
        BadSettings{"FractionalTopK", third_rule(rule({"*"}, {{"top_k", {{"max", 40.5}}}})),
                    "rules[2].params.top_k.max"},
        BadSettings{"FractionalSeed", third_rule(rule({"*"}, {{"seed", {{"force", 0.1}}}})),
                    "rules[2].params.seed.force"},
        BadSettings{"FractionalMaxTokens", third_rule(rule({"*"}, {{"max_tokens", {{"default", 99.9}}}})),
                    "rules[2].params.max_tokens.default"},
        BadSettings{"ZeroMaxTokens", third_rule(rule({"*"}, {{"max_tokens", {{"max", 0}}}})),
                    "rules[2].params.max_tokens.max"},
        BadSettings{"MergedMinAboveMax",
                    third_rule(rule({"provider:openai"}, {{"temperature", {{"min", 3}}}})),
                    "rules[2].params.temperature.min"},
        BadSettings{"ForceOutsideARejectRange",
                    third_rule(rule({"gpt-4o"}, {{"temperature", {{"force", 3}, {"policy", "reject"}}}})),
                    "rules[2].params.temperature.force"},
        BadSettings{"RejectPolicyLaterThanADefault",
                    {{"rules",
                      {rule({"*"}, {{"top_p", {{"default", 1.5}}}}),
                       rule({"claude"}, {{"top_p", {{"max", 1}, {"policy", "reject"}}}})}}},
                    "rules[1].params.top_p.max"},
        BadSettings{"ALaterDefaultOutsideARejectRange",
                    {{"rules",
                      {rule({"*"}, {{"top_p", {{"min", 0.5}, {"policy", "reject"}}}}),
                       rule({"provider:anthropic"}, {{"temperature", {{"max", 1}}}}),
                       rule({"claude"}, {{"top_p", {{"default", 0.1}}}})}}},
                    "rules[2].params.top_p.default"},
        BadSettings{"ALaterRejectPolicy",
                    {{"rules",
                      {rule({"*"}, {{"top_k", {{"max", 40}, {"force", 50}}}}),
                       rule({"gpt-4o"}, {{"top_k", {{"policy", "reject"}}}})}}},
                    "rules[1].params.top_k.policy"}),
    [](const testing::TestParamInfo<BadSettings>& info) { return std::string(info.param.name); });

TEST(ConstraintConfig, ErrorsSayWhatIsWrong) {
  try {
    settings(third_rule(rule({"provider:mistral"}, json::object())));
    FAIL() << "accepted";
  } catch (const PluginConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("mistral"), std::string::npos) << e.what();
  }
  try {
    settings(third_rule(rule({"*"}, {{"top_p", {{"max", 1}, {"policy", "cap"}}}})));
    FAIL() << "accepted";
  } catch (const PluginConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "must be clamp or reject");
  }
}

}  // namespace
}  // namespace e2b::constraints
