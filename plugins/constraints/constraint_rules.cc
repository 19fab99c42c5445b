// Parameter constraints as data in, data out: reading and checking the rules, merging the ones
// that match a model, and applying them to a chat request.
#include "constraint_rules.h"

#include <cmath>
#include <limits>
#include <tuple>
#include <utility>

#include "gateway/config_reader.h"

namespace e2b::constraints {
namespace {

using gateway::LocalResponse;
using gateway::ModelCatalog;
using gateway::ModelInfo;
using gateway::PluginConfigError;
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

constexpr std::string_view kProviderPrefix = "provider:";

std::size_t index_of(Param param) {
  return static_cast<std::size_t>(param);
}

std::optional<Param> param_named(std::string_view name) {
  for (const Param param : kParams) {
    if (param_name(param) == name) return param;
  }
  return std::nullopt;
}

std::string param_list() {
  std::string out;
  for (const Param param : kParams) out += (out.empty() ? "" : ", ") + std::string(param_name(param));
  return out;
}

/// Compares JSON numbers of any kind exactly: long double holds every int64, uint64 and double.
long double numeric(const json& value) {
  if (value.is_number_unsigned()) return static_cast<long double>(value.get<std::uint64_t>());
  if (value.is_number_integer()) return static_cast<long double>(value.get<std::int64_t>());
  return static_cast<long double>(value.get<double>());
}

// ---------------------------------------------------------------------------------------------
// Reading the configuration

/// max_messages / max_prompt_chars: a whole number of at least 1, or absent for no cap.
std::optional<std::int64_t> read_cap(const json& value, const std::string& field) {
  if (value.is_null()) return std::nullopt;
  if (!value.is_number_integer())
    throw PluginConfigError(field, "must be a whole number (leave it out for no cap)");
  constexpr auto kLargest = std::numeric_limits<std::int64_t>::max();
  const std::int64_t cap = value.is_number_unsigned() && value.get<std::uint64_t>() > kLargest
                               ? kLargest
                               : value.get<std::int64_t>();
  if (cap < 1) throw PluginConfigError(field, "must be at least 1 (leave it out for no cap)");
  return cap;
}

/// One number of a parameter spec, as the parameter takes it (integers stay exact).
json read_number(const json& value, const std::string& field, Param param) {
  if (!value.is_number()) throw PluginConfigError(field, "must be a number");
  if (value.is_number_float() && !std::isfinite(value.get<double>()))
    throw PluginConfigError(field, "must be a finite number");
  if (!is_integer_param(param) || value.is_number_integer()) return value;
  const double d = value.get<double>();
  if (std::trunc(d) != d || std::fabs(d) >= 9.2e18) {
    throw PluginConfigError(field, "must be an integer: " + std::string(param_name(param)) +
                                       " takes whole numbers, got " + value.dump());
  }
  return static_cast<std::int64_t>(d);
}

ParamSpec read_spec(const json& value, const std::string& prefix, Param param) {
  if (!value.is_object())
    throw PluginConfigError(prefix, "must be a mapping of min, max, policy, force and default");
  gateway::ConfigReader r(value, prefix);
  ParamSpec spec;
  const auto number = [&](const char* key) {
    const auto found = r.get<json>(key, nullptr);
    return found.is_null() ? found : read_number(found, r.path(key), param);
  };
  spec.min = number("min");
  spec.max = number("max");
  spec.force = number("force");
  spec.default_value = number("default");
  const auto policy = r.get<json>("policy", nullptr);
  r.reject_unknown();
  if (!policy.is_null()) {
    if (policy == "clamp") {
      spec.policy = Policy::Clamp;
    } else if (policy == "reject") {
      spec.policy = Policy::Reject;
    } else {
      throw PluginConfigError(r.path("policy"), "must be clamp or reject");
    }
  }
  if (!spec.min.is_null() && !spec.max.is_null() && numeric(spec.min) > numeric(spec.max)) {
    throw PluginConfigError(r.path("min"), "must not be greater than max (" + spec.max.dump() + ")");
  }
  if (param == Param::MaxTokens) {
    // The gateway refuses a budget below 1 token, so these could only produce invalid requests.
    for (const auto& [key, value] : {std::pair<const char*, const json&>{"max", spec.max},
                                     {"force", spec.force},
                                     {"default", spec.default_value}}) {
      if (!value.is_null() && numeric(value) < 1)
        throw PluginConfigError(r.path(key), "must be at least 1: max_tokens is a number of tokens");
    }
  }
  return spec;
}

std::vector<std::string> read_models(const json& value, const std::string& prefix,
                                     const ModelCatalog& catalog) {
  if (value.is_null()) throw PluginConfigError(prefix, "is required: \"*\", model ids or \"provider:<id>\"");
  if (!value.is_array())
    throw PluginConfigError(prefix, "must be a list of \"*\", model ids or \"provider:<id>\"");
  if (value.empty())
    throw PluginConfigError(prefix, "must list at least one entry: \"*\", a model id or \"provider:<id>\"");
  std::vector<std::string> models;
  for (std::size_t j = 0; j < value.size(); ++j) {
    const std::string field = prefix + "[" + std::to_string(j) + "]";
    if (!value[j].is_string()) throw PluginConfigError(field, "must be a string");
    const auto entry = value[j].get<std::string>();
    if (entry.starts_with(kProviderPrefix)) {
      const auto provider = entry.substr(kProviderPrefix.size());
      bool used = false;
      for (const auto& model : catalog.all()) used = used || model.provider_id == provider;
      if (!used) {
        throw PluginConfigError(field, "no model in the catalog has provider_id '" + provider +
                                           "' (a rule for it would never apply)");
      }
    } else if (entry != "*" && catalog.find(entry) == nullptr) {
      throw PluginConfigError(field, "'" + entry + "' is not a model id or alias of the catalog");
    }
    models.push_back(entry);
  }
  return models;
}

Rule read_rule(const json& value, const std::string& prefix, const ModelCatalog& catalog) {
  gateway::ConfigReader r(value, prefix);
  const auto models = r.get<json>("models", nullptr);
  const auto params = r.get<json>("params", nullptr);
  r.reject_unknown();
  Rule rule;
  rule.models = read_models(models, r.path("models"), catalog);
  if (params.is_null())
    throw PluginConfigError(r.path("params"), "is required: the parameters this rule sets");
  if (!params.is_object()) throw PluginConfigError(r.path("params"), "must be a mapping of parameter specs");
  for (const auto& [name, spec] : params.items()) {
    const std::string field = r.path("params") + "." + name;
    const auto param = param_named(name);
    if (!param) throw PluginConfigError(field, "is not a parameter rules may govern (" + param_list() + ")");
    rule.params[index_of(*param)] = read_spec(spec, field, *param);
  }
  return rule;
}

/// Which rule last set each field of a merged spec, to name the field a conflict comes from.
struct Origins {
  int min = -1, max = -1, force = -1, default_value = -1, policy = -1;
};

/// Merges `from` (of rule `index`) into `into`: the fields it sets replace earlier ones.
void merge(ParamSpec& into, const ParamSpec& from, Origins* origins = nullptr, int index = -1) {
  const auto take = [&](json& slot, const json& value, int Origins::*origin) {
    if (value.is_null()) return;
    slot = value;
    if (origins) origins->*origin = index;
  };
  take(into.min, from.min, &Origins::min);
  take(into.max, from.max, &Origins::max);
  take(into.force, from.force, &Origins::force);
  take(into.default_value, from.default_value, &Origins::default_value);
  if (from.policy) {
    into.policy = from.policy;
    if (origins) origins->policy = index;
  }
}

std::string range_text(const ParamSpec& spec) {
  if (!spec.min.is_null() && !spec.max.is_null()) return "[" + spec.min.dump() + ", " + spec.max.dump() + "]";
  if (!spec.max.is_null()) return "<= " + spec.max.dump();
  return ">= " + spec.min.dump();
}

bool in_range(const ParamSpec& spec, const json& value) {
  return (spec.min.is_null() || numeric(value) >= numeric(spec.min)) &&
         (spec.max.is_null() || numeric(value) <= numeric(spec.max));
}

/// Refuses rules that only conflict once merged for some model: a range whose min is above its
/// max, or a forced or default value a reject range would refuse on every request.
void check_merged(const std::vector<Rule>& rules, const ModelCatalog& catalog) {
  for (const auto& model : catalog.all()) {
    for (const Param param : kParams) {
      ParamSpec spec;
      Origins origins;
      for (std::size_t i = 0; i < rules.size(); ++i) {
        const auto& from = rules[i].params[index_of(param)];
        if (from && rule_matches(rules[i], model)) merge(spec, *from, &origins, static_cast<int>(i));
      }
      const auto field = [&](int rule, const char* key) {
        return "rules[" + std::to_string(rule) + "].params." + std::string(param_name(param)) + "." + key;
      };
      if (!spec.min.is_null() && !spec.max.is_null() && numeric(spec.min) > numeric(spec.max)) {
        const bool max_later = origins.max > origins.min;
        throw PluginConfigError(field(max_later ? origins.max : origins.min, max_later ? "max" : "min"),
                                "gives model " + model.id + " min " + spec.min.dump() + " above max " +
                                    spec.max.dump() + " (min from rules[" + std::to_string(origins.min) +
                                    "], max from rules[" + std::to_string(origins.max) + "])");
      }
      if (spec.policy != Policy::Reject) continue;
      for (const auto& [value, origin, key] :
           {std::tuple{spec.force, origins.force, "force"},
            std::tuple{spec.default_value, origins.default_value, "default"}}) {
        if (value.is_null() || in_range(spec, value)) continue;
        if (key == std::string_view("default") && !spec.force.is_null()) continue;  // force wins
        // Name whichever field came last: the value, the bound it breaks, or the reject policy.
        const bool above = !spec.max.is_null() && numeric(value) > numeric(spec.max);
        std::pair<int, const char*> last{origin, key};
        for (const auto& candidate :
             {std::pair<int, const char*>{above ? origins.max : origins.min, above ? "max" : "min"},
              std::pair<int, const char*>{origins.policy, "policy"}}) {
          if (candidate.first > last.first) last = candidate;
        }
        throw PluginConfigError(field(last.first, last.second),
                                std::string(key) + " " + value.dump() + " is outside the range " +
                                    range_text(spec) + " with policy reject for model " + model.id +
                                    ": requests would be refused for a value the gateway set");
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Applying the rules

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

ConstraintSettings parse_constraint_settings(const json& config, const ModelCatalog& catalog) {
  gateway::ConfigReader r(config);
  const auto max_messages = r.get<json>("max_messages", nullptr);
  const auto max_prompt_chars = r.get<json>("max_prompt_chars", nullptr);
  const auto rules = r.get<json>("rules", nullptr);
  r.reject_unknown();
  ConstraintSettings settings;
  settings.max_messages = read_cap(max_messages, "max_messages");
  settings.max_prompt_chars = read_cap(max_prompt_chars, "max_prompt_chars");
  if (!rules.is_null() && !rules.is_array()) throw PluginConfigError("rules", "must be a list of rules");
  for (std::size_t i = 0; !rules.is_null() && i < rules.size(); ++i) {
    settings.rules.push_back(read_rule(rules[i], "rules[" + std::to_string(i) + "]", catalog));
  }
  check_merged(settings.rules, catalog);
  return settings;
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
