// Loads plugin shared objects in configured order and runs their phases.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "gateway/plugin.h"

namespace gateway {

class PluginChain {
 public:
  /// Loads and configures every plugin of `config`; throws ConfigError naming the plugin and field.
  static PluginChain load(const GatewayConfig& config, const PluginHost& host);

  PluginChain(PluginChain&&) noexcept;
  PluginChain& operator=(PluginChain&&) noexcept;
  ~PluginChain();

  /// Lets every plugin take over the state of its namesake in `previous` (Plugin::take_over):
  /// the n-th plugin of a name here from the n-th of that name there. Before this chain serves.
  void take_over(const PluginChain& previous) const;

  // The phases. The chain itself never changes once loaded (a reload builds a new one), so they
  // are const; the plugins they run keep their own thread-safe state.

  /// Runs the request-headers phase; the first local answer stops the chain.
  std::optional<LocalResponse> on_request_headers(RequestContext& ctx) const;
  /// Runs the request-body phase; the first local answer stops the chain.
  std::optional<LocalResponse> on_request_body(RequestContext& ctx) const;
  /// The plugin that talks to the upstream, or null when none is configured.
  Plugin* upstream() const { return upstream_; }
  void on_response_head(RequestContext& ctx, int status, Headers& headers) const;
  void on_delta(RequestContext& ctx, Delta& delta) const;
  void on_log(const RequestRecord& record) const;
  /// The first plugin's report of the limits that apply to `principal`; null when none has one.
  nlohmann::json limit_status(const Principal& principal) const;
  /// Runs the admin-listener phase for a request the admin API has no route for: the first
  /// plugin's answer wins; a plugin that throws answers a 500 `internal_error`. nullopt when no
  /// plugin answers. Any thread.
  std::optional<LocalResponse> on_admin_request(const HttpRequest& request) const;
  /// GET /healthz/upstream and GET /admin/v1/upstream: the upstream plugin's upstream_status(),
  /// 200 when it says a target is available, else 503 (also without a plugin or a report).
  LocalResponse upstream_health() const;
  /// "name (path)" per plugin, in order.
  std::vector<std::string> describe() const;
  /// The plugins' names, in order.
  std::vector<std::string> names() const;

 private:
  struct Loaded;
  PluginChain() = default;
  std::vector<std::unique_ptr<Loaded>> plugins_;
  Plugin* upstream_ = nullptr;
};

}  // namespace gateway
