// Reading and validating the metrics plugin's configuration (see metrics_config.h).
#include "metrics_config.h"

#include "gateway/config_reader.h"

namespace e2b::metrics {

MetricsSettings parse_metrics_settings(const nlohmann::json& config) {
  gateway::ConfigReader r(config);
  MetricsSettings out;
  out.token = r.get<std::string>("token", "");
  out.tenant_labels = r.get<bool>("tenant_labels", false);
  r.reject_unknown();
  if (!out.token.empty() && out.token.size() < kMinTokenLength) {
    throw gateway::PluginConfigError("token", "must be at least " + std::to_string(kMinTokenLength) +
                                                  " characters (or empty for open scrapes)");
  }
  return out;
}

}  // namespace e2b::metrics
