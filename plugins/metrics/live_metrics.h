// Metrics read at scrape time rather than counted per request: the gateway's live figures
// (host.monitor) and the process figures from /proc. Each is a prometheus::Collectable, so a
// scrape reads them on its own thread and no polling thread is needed.
#pragma once

#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "gateway/plugin.h"
#include "proc_stats.h"

namespace e2b::metrics {

/// The gateway_* gauges and counters of one reading of the gateway's figures.
std::vector<prometheus::MetricFamily> gateway_stats_families(const gateway::GatewayStats& stats);

/// The process_* metrics of `figures` (those that could be read).
std::vector<prometheus::MetricFamily> process_families(const ProcessFigures& figures);

/// Reads host.monitor at each scrape. `monitor` must outlive the collector.
class GatewayStatsCollector : public prometheus::Collectable {
 public:
  explicit GatewayStatsCollector(const gateway::GatewayMonitor& monitor) : monitor_(monitor) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    return gateway_stats_families(monitor_.stats());
  }

 private:
  const gateway::GatewayMonitor& monitor_;
};

/// Reads /proc/self at each scrape.
class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    return process_families(read_process_figures());
  }
};

}  // namespace e2b::metrics
