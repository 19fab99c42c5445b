// The constraint rules' adjustments as `parameter_adjusted` events (see constraint_rules.h).
#include <array>
#include <utility>

#include "constraint_rules.h"

namespace e2b::constraints {

std::string_view adjust_name(Adjust how) {
  switch (how) {
    case Adjust::Default:
      return "default";
    case Adjust::Force:
      return "force";
    case Adjust::Clamp:
      return "clamp";
    case Adjust::Reject:
      return "reject";
  }
  return "clamp";
}

namespace {

gateway::RequestEvent adjustment_event(Param param, Adjust how) {
  return {gateway::kEventParameterAdjusted,
          {{"param", std::string(param_name(param))}, {"policy", std::string(adjust_name(how))}}};
}

}  // namespace

std::vector<gateway::RequestEvent> adjustment_events(const std::vector<Adjustment>& adjustments) {
  std::vector<gateway::RequestEvent> events;
  std::array<bool, kParamCount> reported{};  // indexed like kParams
  for (const auto& adjustment : adjustments) {
    if (std::exchange(reported[static_cast<std::size_t>(adjustment.param)], true)) continue;
    events.push_back(adjustment_event(adjustment.param, adjustment.how));
  }
  return events;
}

std::optional<gateway::RequestEvent> refusal_event(const Refusal& refusal) {
  if (!refusal.rejected) return std::nullopt;
  return adjustment_event(*refusal.rejected, Adjust::Reject);
}

}  // namespace e2b::constraints
