// Field-by-field comparison of two configurations, for a reload.
#include "config/config_changes.h"

namespace gateway {
namespace {

/// Collects the differences of one side (applied or restart-required).
class ChangeList {
 public:
  explicit ChangeList(std::vector<SettingChange>& out) : out_(out) {}

  /// Records `field` when the values differ, showing both.
  template <typename T>
  void value(const std::string& field, const T& before, const T& after) {
    if (before != after) out_.push_back({field, show(before) + " -> " + show(after)});
  }
  /// Records `field` when `changed`, with a detail that reveals nothing of the values.
  void flag(const std::string& field, bool changed, const std::string& detail) {
    if (changed) out_.push_back({field, detail});
  }

 private:
  static std::string show(const std::string& v) { return v; }
  static std::string show(bool v) { return v ? "true" : "false"; }
  static std::string show(std::chrono::milliseconds v) { return std::to_string(v.count()); }
  template <typename Number>
  static std::string show(Number v) {
    return std::to_string(v);
  }

  std::vector<SettingChange>& out_;
};

const char* format_name(LogFormat format) {
  return format == LogFormat::Json ? "json" : "text";
}

/// Everything about a model a client or plugin can see, as one comparable value.
nlohmann::json model_json(const ModelInfo& m) {
  return {m.id,         m.upstream_id,  m.provider, m.provider_id, m.name,
          m.multimodal, m.instructions, m.alias_of, m.extra};
}

/// "added a, b; removed c; changed d" for two model catalogs; empty when equal.
std::string catalog_difference(const ModelCatalog& before, const ModelCatalog& after) {
  std::vector<std::string> added, removed, changed;
  for (const auto& m : after.all()) {
    const ModelInfo* old = before.find(m.id);
    if (old == nullptr) {
      added.push_back(m.id);
    } else if (model_json(*old) != model_json(m)) {
      changed.push_back(m.id);
    }
  }
  for (const auto& m : before.all()) {
    if (after.find(m.id) == nullptr) removed.push_back(m.id);
  }
  std::string out;
  const auto list = [&out](const char* what, const std::vector<std::string>& ids) {
    if (ids.empty()) return;
    if (!out.empty()) out += "; ";
    out += what;
    for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : " ") + ids[i];
  };
  list("added", added);
  list("removed", removed);
  list("changed", changed);
  return out;
}

std::vector<std::string> plugin_names(const std::vector<PluginSpec>& plugins) {
  std::vector<std::string> names;
  for (const auto& p : plugins) names.push_back(p.name + "@" + p.path.string());
  return names;
}

std::string joined(const std::vector<PluginSpec>& plugins) {
  std::string out;
  for (const auto& p : plugins) out += (out.empty() ? "" : ", ") + p.name;
  return "[" + out + "]";
}

bool same_tokens(const std::vector<AdminToken>& a, const std::vector<AdminToken>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].label != b[i].label || a[i].token != b[i].token) return false;
  }
  return true;
}

void compare_listen(ChangeList& restart, const ServerOptions& a, const ServerOptions& b) {
  restart.value("listen.host", a.host, b.host);
  restart.value("listen.port", a.port, b.port);
  restart.value("listen.threads", a.threads, b.threads);
  restart.value("listen.max_request_bytes", a.max_request_size, b.max_request_size);
  restart.value("listen.max_request_line_bytes", a.max_request_line_bytes, b.max_request_line_bytes);
  restart.value("listen.max_header_line_bytes", a.max_header_line_bytes, b.max_header_line_bytes);
  restart.value("listen.max_header_count", a.max_header_count, b.max_header_count);
  restart.value("listen.max_head_bytes", a.max_head_bytes, b.max_head_bytes);
  restart.value("listen.header_timeout_ms", a.header_timeout, b.header_timeout);
  restart.value("listen.keepalive_timeout_ms", a.keepalive_timeout, b.keepalive_timeout);
  restart.value("listen.write_timeout_ms", a.write_timeout, b.write_timeout);
  restart.value("listen.shutdown_grace_ms", a.shutdown_grace, b.shutdown_grace);
}

/// "[url (weight w), …]": what a target list looks like without its keys and headers.
std::string shown_targets(const std::vector<UpstreamTarget>& targets) {
  std::string out;
  for (const auto& t : targets) {
    out += (out.empty() ? "" : ", ") + t.base_url + " (weight " + std::to_string(t.weight) + ")";
  }
  return "[" + out + "]";
}

/// Whether the targets' provider keys or headers differ (secrets: only the fact is shown).
bool target_secrets_differ(const std::vector<UpstreamTarget>& a, const std::vector<UpstreamTarget>& b) {
  if (a.size() != b.size()) return true;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].provider_api_keys != b[i].provider_api_keys || a[i].headers != b[i].headers) return true;
  }
  return false;
}

void compare_failover(ChangeList& applied, const UpstreamFailover& a, const UpstreamFailover& b) {
  applied.value("upstream.max_attempts", a.max_attempts, b.max_attempts);
  applied.value("upstream.retry_budget_ms", a.retry_budget, b.retry_budget);
  applied.value("upstream.backoff_initial_ms", a.backoff_initial, b.backoff_initial);
  applied.value("upstream.backoff_max_ms", a.backoff_max, b.backoff_max);
  applied.value("upstream.circuit_failures", a.circuit_failures, b.circuit_failures);
  applied.value("upstream.circuit_open_ms", a.circuit_open, b.circuit_open);
}

}  // namespace

ConfigChanges compare_configs(const GatewayConfig& running, const GatewayConfig& next) {
  ConfigChanges changes;
  ChangeList restart(changes.restart_required);
  ChangeList applied(changes.applied);

  compare_listen(restart, running.server, next.server);
  restart.value("admin.listen", running.admin_server.host + ":" + std::to_string(running.admin_server.port),
                next.admin_server.host + ":" + std::to_string(next.admin_server.port));
  restart.flag("admin.token", running.admin_tokens.empty() != next.admin_tokens.empty(),
               next.admin_tokens.empty() ? "no admin token left: turning the admin API off"
                                         : "admin token added: turning the admin API on");
  restart.value("storage.path", running.storage_path.string(), next.storage_path.string());
  restart.value("log.format", std::string(format_name(running.log_format)),
                std::string(format_name(next.log_format)));
  restart.value("upstream.max_connections", running.upstream.max_connections, next.upstream.max_connections);

  applied.value("upstream.targets", shown_targets(running.upstream.targets),
                shown_targets(next.upstream.targets));
  applied.flag("upstream.targets", target_secrets_differ(running.upstream.targets, next.upstream.targets),
               "provider keys or headers changed");
  compare_failover(applied, running.upstream.failover, next.upstream.failover);
  applied.value("upstream.connect_timeout_ms", running.upstream.connect_timeout,
                next.upstream.connect_timeout);
  applied.value("upstream.first_byte_timeout_ms", running.upstream.first_byte_timeout,
                next.upstream.first_byte_timeout);
  applied.value("upstream.idle_timeout_ms", running.upstream.idle_timeout, next.upstream.idle_timeout);
  applied.value("log.level", running.log_level, next.log_level);
  applied.value("log.access", running.log_access, next.log_access);
  applied.flag("admin.tokens", !same_tokens(running.admin_tokens, next.admin_tokens),
               std::to_string(running.admin_tokens.size()) + " -> " +
                   std::to_string(next.admin_tokens.size()) + " tokens, changed");
  applied.value("plugin_dir", running.plugin_dir.string(), next.plugin_dir.string());
  if (plugin_names(running.plugins) != plugin_names(next.plugins)) {
    applied.flag("plugins", true, joined(running.plugins) + " -> " + joined(next.plugins));
  } else {
    for (std::size_t i = 0; i < next.plugins.size(); ++i) {
      applied.flag("plugins[" + std::to_string(i) + "].config",
                   running.plugins[i].config != next.plugins[i].config,
                   next.plugins[i].name + " reconfigured");
    }
  }
  const auto models = catalog_difference(running.models, next.models);
  applied.flag("models", !models.empty(), models);
  return changes;
}

}  // namespace gateway
