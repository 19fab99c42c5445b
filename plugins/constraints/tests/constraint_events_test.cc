// Unit tests of what the constraint rules report for monitoring: each adjustment's parameter and
// policy, and the `parameter_adjusted` events made of them (one per parameter, fixed names only).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "constraint_rules.h"

namespace e2b::constraints {
namespace {

using nlohmann::json;
using Labels = std::vector<std::pair<std::string, std::string>>;

const gateway::ModelCatalog& catalog() {
  static const gateway::ModelCatalog models = [] {
    gateway::ModelInfo m;
    m.id = m.upstream_id = "gpt-4o";
    m.provider_id = "openai";
    gateway::ModelCatalog c;
    c.add(m);
    return c;
  }();
  return models;
}

/// Applies one "*" rule with `params` (and `extra` settings) to a request with the fields of `sent`.
std::variant<std::vector<Adjustment>, Refusal> apply(const json& params, json sent,
                                                     const json& extra = json::object()) {
  json config = extra;
  config["rules"] = {{{"models", {"*"}}, {"params", params}}};
  const auto settings = parse_constraint_settings(config, catalog());
  sent["model"] = "gpt-4o";
  sent["messages"] = {{{"role", "user"}, {"content", "hi"}}};
  return apply_constraints(settings, *catalog().find("gpt-4o"), sent);
}

/// The (param, policy) labels of the events of an accepted request.
std::vector<Labels> event_labels(const std::variant<std::vector<Adjustment>, Refusal>& outcome) {
  std::vector<Labels> out;
  for (const auto& event : adjustment_events(std::get<std::vector<Adjustment>>(outcome))) {
    EXPECT_EQ(event.name, gateway::kEventParameterAdjusted);
    out.push_back(event.labels);
  }
  return out;
}

Labels labels(const char* param, const char* policy) {
  return {{"param", param}, {"policy", policy}};
}

TEST(ConstraintEvents, NameTheParameterAndThePolicyThatChangedIt) {
  const auto outcome = apply({{"temperature", {{"max", 1}}},
                              {"top_p", {{"default", 0.9}}},
                              {"seed", {{"force", 7}}},
                              {"top_k", {{"max", 40}}}},
                             {{"temperature", 1.5}, {"seed", 1}, {"top_k", 10}});
  const auto& adjustments = std::get<std::vector<Adjustment>>(outcome);
  ASSERT_EQ(adjustments.size(), 3u);
  EXPECT_EQ(adjustments[0].param, Param::Temperature);
  EXPECT_EQ(adjustments[0].how, Adjust::Clamp);
  EXPECT_EQ(adjustments[1].how, Adjust::Default);
  EXPECT_EQ(adjustments[2].how, Adjust::Force);
  EXPECT_EQ(event_labels(outcome), (std::vector<Labels>{labels("temperature", "clamp"),
                                                        labels("top_p", "default"), labels("seed", "force")}))
      << "top_k was in range: no event";
}

TEST(ConstraintEvents, AConfiguredValueTheRangeMovesKeepsItsOrigin) {
  // A forced value outside a clamp range is still the rule's force, not a clamp of the client's.
  EXPECT_EQ(event_labels(apply({{"top_k", {{"max", 40}, {"force", 50}}}}, {{"top_k", 10}})),
            std::vector<Labels>{labels("top_k", "force")});
}

TEST(ConstraintEvents, MaxTokensIsOneEventUnderItsOwnNameWhicheverFieldsChanged) {
  const auto outcome =
      apply({{"max_tokens", {{"max", 100}}}}, {{"max_tokens", 500}, {"max_completion_tokens", 400}});
  EXPECT_EQ(std::get<std::vector<Adjustment>>(outcome).size(), 2u) << "the header shows both fields";
  EXPECT_EQ(event_labels(outcome), std::vector<Labels>{labels("max_tokens", "clamp")});
}

TEST(ConstraintEvents, AValueLeftAsTheClientSentItIsNoEvent) {
  EXPECT_TRUE(event_labels(apply({{"temperature", {{"force", 0.5}}}}, {{"temperature", 0.5}})).empty());
}

TEST(ConstraintEvents, ARejectRangeRefusalIsARejectEvent) {
  const auto outcome = apply({{"temperature", {{"max", 1}, {"policy", "reject"}}}}, {{"temperature", 1.5}});
  const auto& refusal = std::get<Refusal>(outcome);
  EXPECT_EQ(refusal.response.status, 400);
  EXPECT_EQ(refusal.rejected, Param::Temperature);
  const auto event = refusal_event(refusal);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->name, gateway::kEventParameterAdjusted);
  EXPECT_EQ(event->labels, labels("temperature", "reject"));
}

TEST(ConstraintEvents, OtherRefusalsAreNoParameterEvent) {
  const auto wrong_type = apply({{"top_k", {{"max", 40}}}}, {{"top_k", "many"}});
  EXPECT_EQ(std::get<Refusal>(wrong_type).response.status, 400);
  EXPECT_FALSE(refusal_event(std::get<Refusal>(wrong_type)));
  const auto too_many = apply({{"top_k", {{"max", 40}}}}, json::object(), {{"max_prompt_chars", 1}});
  EXPECT_FALSE(refusal_event(std::get<Refusal>(too_many)));
}

TEST(ConstraintEvents, AdjustNamesAreTheConfigurationsWords) {
  EXPECT_EQ(adjust_name(Adjust::Default), "default");
  EXPECT_EQ(adjust_name(Adjust::Force), "force");
  EXPECT_EQ(adjust_name(Adjust::Clamp), "clamp");
  EXPECT_EQ(adjust_name(Adjust::Reject), "reject");
}

}  // namespace
}  // namespace e2b::constraints
