// What a configuration reload would change: the settings it applies live and the ones only a
// restart can apply (the listeners, the database, the log format, the upstream pool size).
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace gateway {

/// A setting that differs between the running configuration and the new file.
struct SettingChange {
  std::string field;   ///< dotted config.yaml path, e.g. "listen.port"
  std::string detail;  ///< what changed, without secrets, e.g. "8080 -> 9090"
};

struct ConfigChanges {
  /// Differences a reload applies: the model catalog, the plugin chain, upstream URL and
  /// timeouts, admin tokens, log level and access lines.
  std::vector<SettingChange> applied;
  /// Differences that need a restart; a reload refuses the file while any is present.
  std::vector<SettingChange> restart_required;
};

/// Compares `running` with `next`, field by field. Pure.
ConfigChanges compare_configs(const GatewayConfig& running, const GatewayConfig& next);

}  // namespace gateway
