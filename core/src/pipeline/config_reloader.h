// Configuration reload (SIGHUP or POST /admin/v1/config/reload): reads config.yaml again,
// validates all of it (the checks of `check-config`: the file, then the whole plugin chain) and
// makes the new generation current in one step; on any problem the running one stays.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config_changes.h"
#include "pipeline/generation.h"
#include "pipeline/request_state.h"
#include "storage/storage.h"

namespace gateway {

/// What plugins get from the gateway, for `config`; `keys`, `usage` and `monitor` may be null
/// (check-config runs without them).
PluginHost make_plugin_host(const GatewayConfig& config, const KeyDirectory* keys = nullptr,
                            const UsageHistory* usage = nullptr, const GatewayMonitor* monitor = nullptr);

/// How a reload ended.
struct ReloadResult {
  enum class Status { Applied, Invalid, RestartRequired };
  Status status = Status::Applied;
  std::string field;                   ///< the offending setting when refused
  std::string message;                 ///< why it was refused, or a one-line summary when applied
  std::uint64_t generation = 0;        ///< the generation serving new requests afterwards
  std::vector<std::string> plugins;    ///< the chain of that generation, in order
  std::size_t models = 0;              ///< its catalog size
  std::vector<SettingChange> changes;  ///< applied, or (RestartRequired) the refused ones
};

/// The reload result as the admin API answers it: 200 with a summary, 422 `invalid_config` or
/// 409 `restart_required`, OpenAI-shaped with `param` naming the setting.
LocalResponse reload_response(const ReloadResult& result);

class ConfigReloader {
 public:
  /// Called with the new generation once it is current (on the reloading thread).
  using Applied = std::function<void(const std::shared_ptr<const Generation>&)>;

  /// Reloads `path` (the file the gateway started with) into `services`' generations;
  /// `monitor` is handed to the new plugins.
  ConfigReloader(std::filesystem::path path, std::filesystem::path default_plugin_dir,
                 GatewayServices& services, const GatewayMonitor* monitor);

  /// Adds a step run after every applied reload (the admin API's tokens and catalog).
  void on_applied(Applied applied) { applied_.push_back(std::move(applied)); }

  /// Loads and validates the file, lets the new plugins take over their predecessors' state and
  /// swaps. `store` gives the plugins the stored keys and usage: run it on the storage worker.
  /// One reload at a time; a second caller waits for the first. Logs and counts the result.
  ReloadResult reload(Storage& store);

 private:
  ReloadResult attempt(Storage& store);

  const std::filesystem::path path_;
  const std::filesystem::path default_plugin_dir_;
  GatewayServices& services_;
  const GatewayMonitor* monitor_;
  std::vector<Applied> applied_;
  std::mutex reloading_;
};

}  // namespace gateway
