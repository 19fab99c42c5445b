// A plugin that shows the integration tests what the plugin API gives a monitoring plugin: on
// the admin listener, GET /probe/stats answers host.monitor's figures, GET /probe/records the
// timings and events of the requests its log phase saw, and GET /probe/throw fails (the chain
// must answer 500). Built for the integration tests only; never installed beside the shipped
// plugins, and it checks no credentials.
#include <deque>
#include <mutex>

#include "gateway/plugin.h"

namespace {

using nlohmann::json;

class MonitorProbe : public gateway::Plugin {
 public:
  explicit MonitorProbe(const gateway::GatewayMonitor* monitor) : monitor_(monitor) {}

  void on_log(const gateway::RequestRecord& record) override {
    json events = json::array();
    for (const auto& event : record.events) {
      json labels = json::object();
      for (const auto& [name, value] : event.labels) labels[name] = value;
      events.push_back({{"name", event.name}, {"labels", labels}});
    }
    std::lock_guard lock(mutex_);
    records_.push_back({{"request_id", record.request_id},
                        {"status", record.status},
                        {"elapsed_us", record.elapsed.count()},
                        {"upstream_wait_us", record.upstream_wait.count()},
                        {"events", events}});
    if (records_.size() > kKeptRecords) records_.pop_front();
  }

  std::optional<gateway::LocalResponse> on_admin_request(const gateway::HttpRequest& request) override {
    if (request.method != "GET") return std::nullopt;
    if (request.path == "/probe/stats") return gateway::json_response(200, stats());
    if (request.path == "/probe/throw") throw std::runtime_error("the probe fails on purpose");
    if (request.path == "/probe/records") {
      std::lock_guard lock(mutex_);
      return gateway::json_response(200, json(std::vector<json>(records_.begin(), records_.end())));
    }
    return std::nullopt;
  }

 private:
  static constexpr std::size_t kKeptRecords = 256;

  json stats() const {
    if (monitor_ == nullptr) return nullptr;
    const auto s = monitor_->stats();
    return {{"in_flight_requests", s.in_flight_requests},
            {"open_streams", s.open_streams},
            {"upstream_connections", s.upstream_connections},
            {"usage_queue_depth", s.usage_queue_depth},
            {"usage_rows_dropped", s.usage_rows_dropped},
            {"config_reloads_succeeded", s.config_reloads_succeeded},
            {"config_reloads_failed", s.config_reloads_failed}};
  }

  const gateway::GatewayMonitor* monitor_;
  std::mutex mutex_;
  std::deque<json> records_;
};

std::unique_ptr<gateway::Plugin> make_probe(const gateway::PluginHost& host, const json&) {
  return std::make_unique<MonitorProbe>(host.monitor);
}

}  // namespace

GATEWAY_PLUGIN("monitor_probe", &make_probe)
