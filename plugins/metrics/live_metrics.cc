// The scrape-time metric families (see live_metrics.h).
#include "live_metrics.h"

#include <optional>
#include <string>

namespace e2b::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

/// A family of one unlabelled series holding `value`.
MetricFamily single(std::string name, std::string help, MetricType type, double value) {
  ClientMetric metric;
  if (type == MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return MetricFamily{std::move(name), std::move(help), type, {metric}};
}

void add_if(std::vector<MetricFamily>& out, const std::optional<double>& value, const char* name,
            const char* help, MetricType type) {
  if (value) out.push_back(single(name, help, type, *value));
}

}  // namespace

std::vector<MetricFamily> gateway_stats_families(const gateway::GatewayStats& stats) {
  std::vector<MetricFamily> out;
  out.push_back(single("gateway_in_flight_requests", "Chat requests being answered now.", MetricType::Gauge,
                       static_cast<double>(stats.in_flight_requests)));
  out.push_back(single("gateway_open_streams", "Streamed (SSE) answers open to clients now.",
                       MetricType::Gauge, static_cast<double>(stats.open_streams)));
  out.push_back(single("gateway_usage_queue_depth", "Usage rows and log records waiting to be stored.",
                       MetricType::Gauge, static_cast<double>(stats.usage_queue_depth)));
  out.push_back(single("gateway_upstream_connections",
                       "TCP connections to upstreams open now, pooled ones too.", MetricType::Gauge,
                       static_cast<double>(stats.upstream_connections)));
  out.push_back(single("gateway_usage_rows_dropped_total",
                       "Usage rows lost because a queue was full or stopped.", MetricType::Counter,
                       static_cast<double>(stats.usage_rows_dropped)));
  MetricFamily reloads{
      "gateway_config_reloads_total", "Configuration reloads, by result.", MetricType::Counter, {}};
  for (const auto& [result, count] : {std::pair{"success", stats.config_reloads_succeeded},
                                      std::pair{"failure", stats.config_reloads_failed}}) {
    ClientMetric metric;
    metric.label.push_back({"result", result});
    metric.counter.value = static_cast<double>(count);
    reloads.metric.push_back(std::move(metric));
  }
  out.push_back(std::move(reloads));
  return out;
}

std::vector<MetricFamily> process_families(const ProcessFigures& figures) {
  std::vector<MetricFamily> out;
  add_if(out, figures.cpu_seconds, "process_cpu_seconds_total",
         "Total user and system CPU time spent in seconds.", MetricType::Counter);
  add_if(out, figures.open_fds, "process_open_fds", "Number of open file descriptors.", MetricType::Gauge);
  add_if(out, figures.max_fds, "process_max_fds", "Maximum number of open file descriptors.",
         MetricType::Gauge);
  add_if(out, figures.resident_memory_bytes, "process_resident_memory_bytes",
         "Resident memory size in bytes.", MetricType::Gauge);
  add_if(out, figures.start_time_seconds, "process_start_time_seconds",
         "Start time of the process since unix epoch in seconds.", MetricType::Gauge);
  return out;
}

}  // namespace e2b::metrics
