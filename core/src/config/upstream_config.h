// The `upstream:` section of config.yaml: its targets (or the one base_url), timeouts and the
// failover settings.
#pragma once

#include <nlohmann/json.hpp>

#include "config/config.h"

namespace gateway {

/// Reads `section` (null: all defaults) into `upstream`, refusing unknown keys, `base_url` and
/// `targets` together, bad URLs or weights and duplicate targets (PluginConfigError naming the
/// setting).
void parse_upstream(const nlohmann::json& section, UpstreamSettings& upstream);

}  // namespace gateway
