// Wiring the metric sources together (see gateway_metrics.h).
#include "gateway_metrics.h"

#include <prometheus/gauge.h>

#include "live_metrics.h"

namespace e2b::metrics {
namespace {

std::vector<std::shared_ptr<const prometheus::Collectable>> sources(
    const std::shared_ptr<prometheus::Registry>& registry, const gateway::PluginHost& host) {
  std::vector<std::shared_ptr<const prometheus::Collectable>> out{registry};
  if (host.monitor != nullptr) out.push_back(std::make_shared<GatewayStatsCollector>(*host.monitor));
  out.push_back(std::make_shared<ProcessCollector>());
  return out;
}

/// `registry` (a new one when null) with gateway_build_info set. Registering a family the registry
/// already holds returns the existing one, so a taken-over registry keeps its series.
std::shared_ptr<prometheus::Registry> registry_with_build_info(std::shared_ptr<prometheus::Registry> registry,
                                                               const std::string& version) {
  if (!registry) registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildGauge()
      .Name("gateway_build_info")
      .Help("Always 1; the label names the running gateway's version.")
      .Register(*registry)
      .Add({{"version", version.empty() ? kNoneLabel : version}})
      .Set(1);
  return registry;
}

}  // namespace

GatewayMetrics::GatewayMetrics(const MetricsSettings& settings, const gateway::PluginHost& host,
                               std::shared_ptr<prometheus::Registry> registry)
    : registry_(registry_with_build_info(std::move(registry), host.gateway_version)),
      requests_(*registry_, host.models, settings.tenant_labels),
      endpoint_(settings.token, sources(registry_, host)) {}

}  // namespace e2b::metrics
