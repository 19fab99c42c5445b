// Parameter constraints applied: which rules a model gets, merged, and what they change in or
// refuse of a chat request. Reading the rules is in constraint_settings.cc.
#include "constraint_rules.h"

#include <utility>

#include "constraint_spec.h"

namespace e2b::constraints {
namespace {

using gateway::LocalResponse;
using gateway::ModelInfo;
using nlohmann::json;

struct ParamInfo {
  const char* name;
  bool integer;
};

constexpr ParamInfo kInfo[kParamCount] = {{"temperature", false},
                                          {"top_p", false},
                                          {"top_k", true},
                                          {"max_tokens", true},
                                          {"presence_penalty", false},
                                          {"frequency_penalty", false},
                                          {"seed", true}};

LocalResponse refuse(const std::string& param, const std::string& code, const std::string& message) {
  return gateway::openai_error(400, "invalid_request_error", code, message, param);
}

LocalResponse out_of_range(const std::string& field, bool integer, bool above, const ParamSpec& spec,
                           const json& value) {
  const std::string kind = integer ? "integer" : "decimal";
  const std::string expected = !spec.min.is_null() && !spec.max.is_null()
                                   ? "between " + spec.min.dump() + " and " + spec.max.dump()
                                   : range_text(spec);
  return refuse(field, kind + (above ? "_above_max_value" : "_below_min_value"),
                "Invalid '" + field + "': " + kind + (above ? " above maximum" : " below minimum") +
                    " value. Expected a value " + expected + ", but got " + value.dump() + " instead.");
}

/// Applies `spec` to the request field `field`; `use_default` says whether its default may be
/// added when the client left the field out.
std::optional<Refusal> apply_field(Param param, const std::string& field, const ParamSpec& spec,
                                   bool use_default, json& chat, std::vector<Adjustment>& adjustments) {
  const bool integer = is_integer_param(param);
  const auto found = chat.find(field);
  const json sent = found == chat.end() ? json(nullptr) : *found;
  if (!sent.is_null() && !(integer ? sent.is_number_integer() : sent.is_number())) {
    return Refusal{
        refuse(field, "invalid_type", "'" + field + "' must be " + (integer ? "an integer" : "a number")),
        std::nullopt};
  }
  json value = sent;
  // Named after where the value came from; a configured value the range moves stays default or force.
  Adjust how = Adjust::Clamp;
  if (value.is_null() && use_default && !spec.default_value.is_null()) {
    value = spec.default_value;
    how = Adjust::Default;
  }
  if (!spec.force.is_null()) {
    value = spec.force;
    how = Adjust::Force;
  }
  if (value.is_null()) return std::nullopt;
  const bool above = !spec.max.is_null() && numeric(value) > numeric(spec.max);
  const bool below = !spec.min.is_null() && numeric(value) < numeric(spec.min);
  if (above || below) {
    if (spec.policy == Policy::Reject)
      return Refusal{out_of_range(field, integer, above, spec, value), param};
    value = above ? spec.max : spec.min;
  }
  if (sent.is_null() || numeric(sent) != numeric(value)) {
    chat[field] = value;
    adjustments.push_back({field, value, param, how});
  }
  return std::nullopt;
}

/// max_tokens governs whichever budget fields the client sent (both if both); a default or a
/// forced value for a request without either goes to max_tokens.
std::optional<Refusal> apply_max_tokens(const ParamSpec& spec, json& chat,
                                        std::vector<Adjustment>& adjustments) {
  bool any = false;
  for (const char* field : {"max_tokens", "max_completion_tokens"}) {
    const auto found = chat.find(field);
    if (found == chat.end() || found->is_null()) continue;
    any = true;
    if (auto refusal = apply_field(Param::MaxTokens, field, spec, false, chat, adjustments)) return refusal;
  }
  if (any) return std::nullopt;
  return apply_field(Param::MaxTokens, "max_tokens", spec, true, chat, adjustments);
}

std::size_t code_points(std::string_view text) {
  std::size_t count = 0;
  for (const unsigned char c : text) count += (c & 0xC0) != 0x80;  // continuation bytes do not count
  return count;
}

}  // namespace

std::string_view param_name(Param param) {
  return kInfo[index_of(param)].name;
}

bool is_integer_param(Param param) {
  return kInfo[index_of(param)].integer;
}

bool rule_matches(const Rule& rule, const ModelInfo& model) {
  for (const auto& entry : rule.models) {
    if (entry == "*" || entry == model.id || (!model.alias_of.empty() && entry == model.alias_of))
      return true;
    if (entry.starts_with(kProviderPrefix) && entry.substr(kProviderPrefix.size()) == model.provider_id)
      return true;
  }
  return false;
}

std::array<std::optional<ParamSpec>, kParamCount> effective_specs(const ConstraintSettings& settings,
                                                                  const ModelInfo& model) {
  std::array<std::optional<ParamSpec>, kParamCount> specs;
  for (const auto& rule : settings.rules) {
    if (!rule_matches(rule, model)) continue;
    for (std::size_t p = 0; p < kParamCount; ++p) {
      if (!rule.params[p]) continue;
      if (!specs[p]) specs[p].emplace();
      merge(*specs[p], *rule.params[p]);
    }
  }
  return specs;
}

std::size_t prompt_chars(const json& messages) {
  std::size_t total = 0;
  if (!messages.is_array()) return total;
  for (const auto& message : messages) {
    if (!message.is_object()) continue;
    const auto content = message.find("content");
    if (content == message.end()) continue;
    if (content->is_string()) total += code_points(content->get_ref<const std::string&>());
    if (!content->is_array()) continue;
    for (const auto& part : *content) {
      if (!part.is_object() || part.value("type", json()) != "text") continue;
      const auto text = part.find("text");
      if (text != part.end() && text->is_string()) total += code_points(text->get_ref<const std::string&>());
    }
  }
  return total;
}

std::variant<std::vector<Adjustment>, Refusal> apply_constraints(const ConstraintSettings& settings,
                                                                 const ModelInfo& model, json& chat) {
  const auto& messages = chat["messages"];
  if (settings.max_messages && messages.size() > static_cast<std::uint64_t>(*settings.max_messages)) {
    return Refusal{refuse("messages", "too_many_messages",
                          "The request has " + std::to_string(messages.size()) + " messages; at most " +
                              std::to_string(*settings.max_messages) + " are allowed."),
                   std::nullopt};
  }
  if (settings.max_prompt_chars) {
    const auto chars = prompt_chars(messages);
    if (chars > static_cast<std::uint64_t>(*settings.max_prompt_chars)) {
      return Refusal{
          refuse("messages", "context_length_exceeded",
                 "The prompt has " + std::to_string(chars) + " characters; at most " +
                     std::to_string(*settings.max_prompt_chars) + " are allowed. Shorten the messages."),
          std::nullopt};
    }
  }
  std::vector<Adjustment> adjustments;
  const auto specs = effective_specs(settings, model);
  for (const Param param : kParams) {
    const auto& spec = specs[index_of(param)];
    if (!spec) continue;
    auto refusal = param == Param::MaxTokens
                       ? apply_max_tokens(*spec, chat, adjustments)
                       : apply_field(param, std::string(param_name(param)), *spec, true, chat, adjustments);
    if (refusal) return std::move(*refusal);
  }
  return adjustments;
}

std::string adjusted_header(const std::vector<Adjustment>& adjustments) {
  std::string out;
  for (const auto& adjustment : adjustments) {
    out += (out.empty() ? "" : ",") + adjustment.field + "=" + adjustment.value.dump();
  }
  return out;
}

}  // namespace e2b::constraints
