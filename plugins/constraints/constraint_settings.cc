// The constraints plugin's settings: reading the rules from config.yaml, checked field by field
// and against the model catalog, and refusing rules that only conflict once merged for a model.
#include <cmath>
#include <limits>
#include <tuple>
#include <utility>

#include "constraint_rules.h"
#include "constraint_spec.h"
#include "gateway/config_reader.h"

namespace e2b::constraints {
namespace {

using gateway::ModelCatalog;
using gateway::PluginConfigError;
using nlohmann::json;

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

}  // namespace

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

}  // namespace e2b::constraints
