// Configuration reload: validate everything, take over plugin state, swap, report.
#include "pipeline/config_reloader.h"

#include "storage/usage_store.h"
#include "util/log.h"

#ifndef GATEWAY_VERSION
#define GATEWAY_VERSION "0.0.0"
#endif

namespace gateway {

PluginHost make_plugin_host(const GatewayConfig& config, const KeyDirectory* keys, const UsageHistory* usage,
                            const GatewayMonitor* monitor) {
  PluginHost host;
  host.models = &config.models;
  host.keys = keys;
  host.usage = usage;
  host.monitor = monitor;
  host.gateway_version = GATEWAY_VERSION;
  host.upstream_defaults.url = config.upstream.base_url;
  host.upstream_defaults.connect_timeout = config.upstream.connect_timeout;
  host.upstream_defaults.first_byte_timeout = config.upstream.first_byte_timeout;
  host.upstream_defaults.idle_timeout = config.upstream.idle_timeout;
  host.upstream_targets = config.upstream.targets;
  host.upstream_failover = config.upstream.failover;
  host.log = [](LogLevel level, const std::string& message) { log_message(level, message); };
  return host;
}

LocalResponse reload_response(const ReloadResult& result) {
  if (result.status != ReloadResult::Status::Applied) {
    const bool restart = result.status == ReloadResult::Status::RestartRequired;
    return json_response(restart ? 409 : 422,
                         {{"error",
                           {{"message", result.message},
                            {"type", "invalid_request_error"},
                            {"param", result.field},
                            {"code", restart ? "restart_required" : "invalid_config"}}}});
  }
  auto changes = nlohmann::json::array();
  for (const auto& change : result.changes)
    changes.push_back({{"field", change.field}, {"detail", change.detail}});
  return json_response(200, {{"object", "config.reload"},
                             {"status", "applied"},
                             {"generation", result.generation},
                             {"plugins", result.plugins},
                             {"models", result.models},
                             {"changes", changes}});
}

ConfigReloader::ConfigReloader(std::filesystem::path path, std::filesystem::path default_plugin_dir,
                               GatewayServices& services, const GatewayMonitor* monitor)
    : path_(std::move(path)),
      default_plugin_dir_(std::move(default_plugin_dir)),
      services_(services),
      monitor_(monitor) {}

ReloadResult ConfigReloader::reload(Storage& store) {
  std::lock_guard lock(reloading_);
  ReloadResult result = attempt(store);
  if (result.status == ReloadResult::Status::Applied) {
    services_.config_reloads_succeeded.fetch_add(1);
    log_message(LogLevel::Info, "configuration " + path_.string() + " reloaded: " + result.message);
  } else {
    services_.config_reloads_failed.fetch_add(1);
    log_message(LogLevel::Error, "configuration reload refused, the running configuration (generation " +
                                     std::to_string(result.generation) + ") stays: " + result.message);
  }
  return result;
}

ReloadResult ConfigReloader::attempt(Storage& store) {
  const auto running = services_.generations->get();
  ReloadResult result;
  result.generation = running->number;
  std::shared_ptr<Generation> next;
  try {
    auto config = load_config(path_, default_plugin_dir_);
    auto changes = compare_configs(running->config, config);
    if (!changes.restart_required.empty()) {
      result.status = ReloadResult::Status::RestartRequired;
      result.field = changes.restart_required.front().field;
      result.message = result.field + ": cannot change without a restart (" +
                       changes.restart_required.front().detail + ")";
      result.changes = std::move(changes.restart_required);
      return result;
    }
    const StoredUsageHistory usage(store.database());
    next = std::make_shared<Generation>(std::move(config), [&](const GatewayConfig& c) {
      return make_plugin_host(c, &store.index(), &usage, monitor_);
    });
    next->number = running->number + 1;
    result.changes = std::move(changes.applied);
  } catch (const ConfigError& e) {
    result.status = ReloadResult::Status::Invalid;
    result.field = e.field();
    result.message = e.what();
    return result;
  } catch (const std::exception& e) {  // not the file's fault (memory, the file system)
    result.status = ReloadResult::Status::Invalid;
    result.field = "config";
    result.message = std::string("config: ") + e.what();
    return result;
  }
  next->chain.take_over(running->chain);
  init_logging(next->config.log_level, next->config.log_format);  // the level only: the format stays
  services_.generations->replace(next);
  for (const auto& applied : applied_) applied(next);

  result.generation = next->number;
  result.plugins = next->chain.names();
  result.models = next->config.models.all().size();
  result.message = "generation " + std::to_string(next->number) + ", " +
                   std::to_string(result.plugins.size()) + " plugins, " + std::to_string(result.models) +
                   " models, " + std::to_string(result.changes.size()) + " settings changed";
  for (const auto& change : result.changes) result.message += "; " + change.field + ": " + change.detail;
  return result;
}

}  // namespace gateway
