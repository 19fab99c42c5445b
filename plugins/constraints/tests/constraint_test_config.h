// What the constraint tests share: a small model catalog, reading settings against it, and
// the configurations the tests start from.
#pragma once

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "constraint_rules.h"
#include "gateway/models.h"

namespace e2b::constraints::testing_support {

using gateway::ModelCatalog;
using gateway::ModelInfo;
using nlohmann::json;

inline ModelInfo model(std::string id, std::string provider_id, std::string alias_of = "") {
  ModelInfo m;
  m.id = std::move(id);
  m.upstream_id = m.id;
  m.provider_id = std::move(provider_id);
  m.alias_of = std::move(alias_of);
  return m;
}

/// gpt-4o (alias 4o) and gpt-4o-mini from openai, claude (alias claude-latest) from anthropic.
inline const ModelCatalog& catalog() {
  static const ModelCatalog models = [] {
    ModelCatalog c;
    c.add(model("gpt-4o", "openai"));
    c.add(model("gpt-4o-mini", "openai"));
    c.add(model("claude", "anthropic"));
    c.add(model("4o", "openai", "gpt-4o"));
    c.add(model("claude-latest", "anthropic", "claude"));
    return c;
  }();
  return models;
}

inline const ModelInfo& entry(const std::string& id) {
  return *catalog().find(id);
}

inline ConstraintSettings settings(const json& config) {
  return parse_constraint_settings(config, catalog());
}

/// A configuration of one "*" rule with `params`.
inline json everyone(const json& params) {
  return {{"rules", {{{"models", {"*"}}, {"params", params}}}}};
}

/// The gpt-4o example of config.yaml.
inline json example_config() {
  return {{"rules",
           {{{"models", {"*"}}, {"params", {{"temperature", {{"min", 0}, {"max", 2}, {"policy", "clamp"}}}}}},
            {{"models", {"provider:anthropic"}},
             {"params", {{"temperature", {{"max", 1}, {"policy", "clamp"}}}}}},
            {{"models", {"gpt-4o"}},
             {"params",
              {{"max_tokens", {{"max", 4096}, {"policy", "reject"}}},
               {"top_p", {{"force", 0.9}}},
               {"temperature", {{"default", 0.3}}}}}}}}};
}

}  // namespace e2b::constraints::testing_support
