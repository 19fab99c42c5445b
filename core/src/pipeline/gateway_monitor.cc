// Reads the gateway's live figures from the parts that keep them.
#include "pipeline/gateway_monitor.h"

#include "pipeline/log_worker.h"
#include "pipeline/request_state.h"
#include "storage/storage_worker.h"
#include "upstream/upstream_loops.h"

namespace gateway {

GatewayStats LiveGatewayMonitor::stats() const {
  std::lock_guard lock(mutex_);
  return attached_ ? read_locked() : last_;
}

void LiveGatewayMonitor::attach(Sources sources) {
  std::lock_guard lock(mutex_);
  sources_ = sources;
  attached_ = true;
}

void LiveGatewayMonitor::detach() {
  std::lock_guard lock(mutex_);
  if (!attached_) return;
  last_ = read_locked();
  attached_ = false;
  sources_ = {};
}

GatewayStats LiveGatewayMonitor::read_locked() const {
  GatewayStats stats;
  const auto& services = *sources_.services;
  stats.in_flight_requests = services.in_flight.load();
  stats.open_streams = services.open_streams.load();
  stats.config_reloads_succeeded = services.config_reloads_succeeded.load();
  stats.config_reloads_failed = services.config_reloads_failed.load();
  stats.upstream_connections = sources_.upstream->open_connections();
  // A dropped chat record is a usage row never submitted; a dropped record of another route is not.
  stats.usage_queue_depth = static_cast<std::int64_t>(sources_.log->queued());
  stats.usage_rows_dropped = sources_.log->dropped_chat();
  if (sources_.storage != nullptr) {
    stats.usage_queue_depth += static_cast<std::int64_t>(sources_.storage->usage_pending());
    stats.usage_rows_dropped += sources_.storage->usage_dropped();
  }
  return stats;
}

}  // namespace gateway
