// What reading and applying the constraint rules share (see constraint_spec.h).
#include "constraint_spec.h"

#include <cstdint>

namespace e2b::constraints {

using nlohmann::json;

long double numeric(const json& value) {
  if (value.is_number_unsigned()) return static_cast<long double>(value.get<std::uint64_t>());
  if (value.is_number_integer()) return static_cast<long double>(value.get<std::int64_t>());
  return static_cast<long double>(value.get<double>());
}

void merge(ParamSpec& into, const ParamSpec& from, Origins* origins, int index) {
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

}  // namespace e2b::constraints
