// Parameter constraints: per-model rules that default, force, clamp or refuse sampling parameters
// and cap the prompt, and the X-Gateway-Adjusted header that shows what was changed. The rules
// themselves live in constraint_rules.h. Each parameter it sets or refuses is reported as a
// `parameter_adjusted` event for monitoring.
#include "constraint_rules.h"
#include "gateway/plugin.h"

namespace e2b::constraints {
namespace {

using namespace gateway;

/// The attribute that carries the header value from the request-body phase to the response head.
constexpr const char* kAdjustedAttribute = "constraints_adjusted";

class ConstraintsPlugin : public Plugin {
 public:
  explicit ConstraintsPlugin(ConstraintSettings settings) : settings_(std::move(settings)) {}

  std::optional<LocalResponse> on_request_body(RequestContext& ctx) override {
    const ModelInfo* model = ctx.model();
    if (model == nullptr) return std::nullopt;
    auto outcome = apply_constraints(settings_, *model, ctx.chat_request());
    if (auto* refusal = std::get_if<Refusal>(&outcome)) {
      if (auto event = refusal_event(*refusal)) ctx.add_event(std::move(*event));
      return std::move(refusal->response);
    }
    const auto& adjustments = std::get<std::vector<Adjustment>>(outcome);
    if (!adjustments.empty()) ctx.attributes()[kAdjustedAttribute] = adjusted_header(adjustments);
    for (auto& event : adjustment_events(adjustments)) ctx.add_event(std::move(event));
    return std::nullopt;
  }

  void on_response_head(RequestContext& ctx, int /*status*/, Headers& headers) override {
    const auto& attributes = ctx.attributes();
    if (!attributes.is_object()) return;
    const auto adjusted = attributes.find(kAdjustedAttribute);
    if (adjusted != attributes.end() && adjusted->is_string())
      headers.emplace_back("X-Gateway-Adjusted", adjusted->get<std::string>());
  }

 private:
  ConstraintSettings settings_;
};

std::unique_ptr<Plugin> make_constraints_plugin(const PluginHost& host, const nlohmann::json& config) {
  static const ModelCatalog kEmpty;
  return std::make_unique<ConstraintsPlugin>(
      parse_constraint_settings(config, host.models != nullptr ? *host.models : kEmpty));
}

}  // namespace
}  // namespace e2b::constraints

GATEWAY_PLUGIN("constraints", &e2b::constraints::make_constraints_plugin)
