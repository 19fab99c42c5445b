// The constraints plugin's rules as plain functions: its settings (validated against the model
// catalog), which rules a model gets, and how they change or refuse a chat request.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gateway/plugin.h"

namespace e2b::constraints {

/// The chat parameters a rule may govern, in the order the x-gateway-adjusted header lists them.
enum class Param { Temperature, TopP, TopK, MaxTokens, PresencePenalty, FrequencyPenalty, Seed };

inline constexpr std::size_t kParamCount = 7;
inline constexpr Param kParams[kParamCount] = {
    Param::Temperature,      Param::TopP, Param::TopK, Param::MaxTokens, Param::PresencePenalty,
    Param::FrequencyPenalty, Param::Seed};

/// The parameter's name in config.yaml and in the chat request.
std::string_view param_name(Param param);
/// top_k, max_tokens and seed take integers only.
bool is_integer_param(Param param);

/// What happens to a value outside [min, max].
enum class Policy { Clamp, Reject };

/// What the rules say about one parameter. Every field is optional so that a later rule can
/// replace some fields of an earlier one and keep the rest; values are JSON numbers as
/// configured (integers for integer parameters).
struct ParamSpec {
  nlohmann::json min;            ///< null = no lower bound
  nlohmann::json max;            ///< null = no upper bound
  nlohmann::json force;          ///< null = the client's value stands
  nlohmann::json default_value;  ///< null = nothing is added when the client omits it
  std::optional<Policy> policy;  ///< nullopt = clamp
};

/// One entry of `rules`: the models it applies to and its parameter specs.
struct Rule {
  std::vector<std::string> models;  ///< "*", model ids or aliases, "provider:<id>"
  std::array<std::optional<ParamSpec>, kParamCount> params;
};

/// The plugin's configuration.
struct ConstraintSettings {
  std::optional<std::int64_t> max_messages;      ///< nullopt = no cap
  std::optional<std::int64_t> max_prompt_chars;  ///< in Unicode code points; nullopt = no cap
  std::vector<Rule> rules;                       ///< in order; later ones override earlier ones
};

/// Reads the plugin's configuration, checking model ids and providers against `models`;
/// throws PluginConfigError naming the exact field (e.g. "rules[2].params.top_p.policy").
ConstraintSettings parse_constraint_settings(const nlohmann::json& config,
                                             const gateway::ModelCatalog& models);

/// Whether `rule` applies to the catalog entry `model` (the entry of the id the client sent).
bool rule_matches(const Rule& rule, const gateway::ModelInfo& model);

/// The specs of every parameter for `model`: the matching rules merged in order, field by field.
std::array<std::optional<ParamSpec>, kParamCount> effective_specs(const ConstraintSettings& settings,
                                                                  const gateway::ModelInfo& model);

/// How a parameter's value came to change, in the configuration's words: its `default` was added,
/// its `force` value replaced the client's, its range moved the client's value (`clamp`), or its
/// range refused the request (`reject`).
enum class Adjust { Default, Force, Clamp, Reject };

/// The word for `how`: "default", "force", "clamp" or "reject".
std::string_view adjust_name(Adjust how);

/// One value the gateway changed or added: the request field, the value sent upstream, the
/// parameter that governs the field and why it changed.
struct Adjustment {
  std::string field;
  nlohmann::json value;
  Param param = Param::Temperature;
  Adjust how = Adjust::Clamp;
};

/// A refused request: the 400, and the parameter whose `reject` range refused it (nullopt for the
/// message caps and for a parameter of the wrong type).
struct Refusal {
  gateway::LocalResponse response;
  std::optional<Param> rejected;
};

/// Applies `settings` to the chat request `chat` for `model`: checks the message caps, then each
/// governed parameter (default, force, then the range). Edits `chat` in place and returns what it
/// changed, or the refusal (then `chat` may be partly edited).
std::variant<std::vector<Adjustment>, Refusal> apply_constraints(const ConstraintSettings& settings,
                                                                 const gateway::ModelInfo& model,
                                                                 nlohmann::json& chat);

/// The `parameter_adjusted` events for monitoring: one per parameter adjusted (max_tokens once,
/// even when both budget fields changed), labelled {param: its configuration name, policy:
/// adjust_name}. Label values come from the fixed parameter and policy names only.
std::vector<gateway::RequestEvent> adjustment_events(const std::vector<Adjustment>& adjustments);

/// The `parameter_adjusted` event of a refusal by a `reject` range, if it was one.
std::optional<gateway::RequestEvent> refusal_event(const Refusal& refusal);

/// The x-gateway-adjusted header value: "temperature=2,top_p=0.9" (numbers as JSON writes them).
std::string adjusted_header(const std::vector<Adjustment>& adjustments);

/// Unicode code points of the prompt text: string contents and text parts of every message.
std::size_t prompt_chars(const nlohmann::json& messages);

}  // namespace e2b::constraints
