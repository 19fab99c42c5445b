// Everything the metrics plugin exports, wired together: one registry with the per-request
// families and gateway_build_info, plus the scrape-time sources, behind one endpoint.
#pragma once

#include <memory>

#include <prometheus/registry.h>

#include "gateway/plugin.h"
#include "metrics_config.h"
#include "metrics_endpoint.h"
#include "request_metrics.h"

namespace e2b::metrics {

class GatewayMetrics {
 public:
  /// Uses host.models to bound the model label, host.gateway_version for gateway_build_info and
  /// host.monitor (when not null) for the live gateway figures; `host`'s pointers must outlive this.
  /// `registry`: the registry of the instance this one replaces on a configuration reload, whose
  /// series it goes on counting (Prometheus sees no reset); null = a new one.
  GatewayMetrics(const MetricsSettings& settings, const gateway::PluginHost& host,
                 std::shared_ptr<prometheus::Registry> registry = nullptr);

  /// Counts one finished request (log worker thread).
  void observe(const gateway::RequestRecord& record) { requests_.observe(record); }

  const MetricsEndpoint& endpoint() const { return endpoint_; }

  /// The counted series, for the instance that replaces this one on a reload.
  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  RequestMetrics requests_;
  MetricsEndpoint endpoint_;
};

}  // namespace e2b::metrics
