// Prometheus metrics: counts every finished request in the log phase (off the request path) and
// serves GET /metrics on the main listener (before authentication: it has its own optional
// token) and on the admin listener. The logic lives in gateway_metrics.h.
#include <memory>

#include "gateway/plugin.h"
#include "gateway_metrics.h"
#include "metrics_config.h"

namespace e2b::metrics {
namespace {

using namespace gateway;

constexpr const char* kMetricsPath = "/metrics";

class MetricsPlugin : public Plugin {
 public:
  MetricsPlugin(const MetricsSettings& settings, const PluginHost& host)
      : settings_(settings), host_(host), metrics_(std::make_unique<GatewayMetrics>(settings, host)) {}

  std::optional<LocalResponse> on_request_headers(RequestContext& ctx) override {
    if (ctx.route() != Route::Metrics) return std::nullopt;
    return metrics_->endpoint().serve(ctx.request());
  }

  std::optional<LocalResponse> on_admin_request(const HttpRequest& request) override {
    if (request.path != kMetricsPath) return std::nullopt;
    return metrics_->endpoint().serve(request);
  }

  void on_log(const RequestRecord& record) override { metrics_->observe(record); }

  /// A reload goes on counting in the running instance's series, so Prometheus sees no counter
  /// reset and the requests still finishing on the old configuration count in the same series.
  /// Only switching tenant_labels starts afresh: the label sets of the families change.
  void take_over(Plugin& previous) override {
    const auto* old = dynamic_cast<const MetricsPlugin*>(&previous);
    if (old == nullptr || old->settings_.tenant_labels != settings_.tenant_labels) return;
    metrics_ = std::make_unique<GatewayMetrics>(settings_, host_, old->metrics_->registry());
  }

 private:
  MetricsSettings settings_;
  PluginHost host_;  ///< its pointers outlive the plugin (the configuration it belongs to)
  std::unique_ptr<GatewayMetrics> metrics_;
};

std::unique_ptr<Plugin> make_metrics_plugin(const PluginHost& host, const nlohmann::json& config) {
  const auto settings = parse_metrics_settings(config);
  if (host.log) {
    host.log(LogLevel::Info, std::string("metrics: serving ") + kMetricsPath + " on both listeners, " +
                                 (settings.token.empty() ? "without a token" : "with a bearer token") +
                                 (settings.tenant_labels ? ", tenant labels on" : ""));
  }
  return std::make_unique<MetricsPlugin>(settings, host);
}

}  // namespace
}  // namespace e2b::metrics

GATEWAY_PLUGIN("metrics", &e2b::metrics::make_metrics_plugin)
