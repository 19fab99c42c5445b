// A configuration generation: one loaded config.yaml with its model catalog and plugin chain.
// Every request pins the generation current when it starts and keeps it until its log phase has
// run, so that a reload never changes the plugins or the catalog under a request in flight.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "config/config.h"
#include "pipeline/plugin_chain.h"

namespace gateway {

/// One configuration as the gateway serves it. Immutable once built; destroyed when the last
/// request that pinned it has been logged (plugin libraries stay loaded, see PluginChain).
struct Generation {
  /// Loads the plugin chain of `loaded`, giving each plugin the host `host_for` makes for the
  /// config this generation holds (its catalog pointer stays valid for the generation's life).
  /// Throws ConfigError naming the plugin and field.
  Generation(GatewayConfig loaded, const std::function<PluginHost(const GatewayConfig&)>& host_for)
      : config(std::move(loaded)), chain(PluginChain::load(config, host_for(config))) {}

  const GatewayConfig config;
  const PluginChain chain;
  std::uint64_t number = 1;  ///< 1 at start-up, one more per applied reload
};

/// The generation new requests get. Thread-safe; a reload swaps it in one step.
class CurrentGeneration {
 public:
  explicit CurrentGeneration(std::shared_ptr<const Generation> generation)
      : generation_(std::move(generation)) {}
  std::shared_ptr<const Generation> get() const {
    std::lock_guard lock(mutex_);
    return generation_;
  }
  /// Makes `next` current; returns the one it replaced.
  std::shared_ptr<const Generation> replace(std::shared_ptr<const Generation> next) {
    std::lock_guard lock(mutex_);
    generation_.swap(next);
    return next;
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Generation> generation_;
};

}  // namespace gateway
