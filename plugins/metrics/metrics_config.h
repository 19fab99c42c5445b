// The metrics plugin's configuration: its fields, defaults and validation.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace e2b::metrics {

/// Shortest scrape token accepted, as for admin tokens.
inline constexpr std::size_t kMinTokenLength = 16;

struct MetricsSettings {
  /// Bearer token a scrape must present on both listeners; empty = scrapes are open.
  std::string token;
  /// Whether gateway_tokens_total carries a `tenant` label (one series per tenant and model).
  bool tenant_labels = false;
};

/// Reads the plugin's `config` object. Throws gateway::PluginConfigError naming the field for
/// unknown settings, wrong types and a token shorter than kMinTokenLength.
MetricsSettings parse_metrics_settings(const nlohmann::json& config);

}  // namespace e2b::metrics
