// What reading and applying the constraint rules share: the parameter's index, exact
// comparison of JSON numbers, merging rule specs, and the range a spec allows.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "constraint_rules.h"

namespace e2b::constraints {

/// A `models` entry naming every model of a provider: "provider:<id>".
inline constexpr std::string_view kProviderPrefix = "provider:";

/// The parameter's position in kParams and in per-parameter arrays.
inline std::size_t index_of(Param param) {
  return static_cast<std::size_t>(param);
}

/// Compares JSON numbers of any kind exactly: long double holds every int64, uint64 and double.
long double numeric(const nlohmann::json& value);

/// Which rule last set each field of a merged spec, to name the field a conflict comes from.
struct Origins {
  int min = -1, max = -1, force = -1, default_value = -1, policy = -1;
};

/// Merges `from` (of rule `index`) into `into`: the fields it sets replace earlier ones.
void merge(ParamSpec& into, const ParamSpec& from, Origins* origins = nullptr, int index = -1);

/// The spec's range as text: "[min, max]", "<= max" or ">= min".
std::string range_text(const ParamSpec& spec);

/// Whether `value` lies within the spec's min and max (either may be absent).
bool in_range(const ParamSpec& spec, const nlohmann::json& value);

}  // namespace e2b::constraints
