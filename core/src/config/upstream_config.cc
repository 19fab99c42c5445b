// Parses the `upstream:` section: one base_url or several weighted targets, and failover.
#include "config/upstream_config.h"

#include <map>
#include <set>

#include "gateway/config_reader.h"

namespace gateway {
namespace {

constexpr int kMaxWeight = 1000;

/// `url` without trailing slashes, refused unless it is http(s).
std::string checked_base_url(std::string url, const std::string& field) {
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    throw PluginConfigError(field, "must start with http:// or https://");
  }
  while (url.ends_with('/')) url.pop_back();
  return url;
}

/// An integer setting within [low, high].
int bounded_int(ConfigReader& r, const std::string& key, int fallback, int low, int high,
                const std::string& field) {
  const auto value = r.get<long long>(key, fallback);
  if (value < low || value > high) {
    throw PluginConfigError(field, "must be between " + std::to_string(low) + " and " + std::to_string(high));
  }
  return static_cast<int>(value);
}

UpstreamTarget parse_target(const nlohmann::json& entry, const std::string& prefix) {
  ConfigReader r(entry, prefix);
  UpstreamTarget target;
  const auto base = r.get<std::string>("base_url", "");
  if (base.empty()) throw PluginConfigError(prefix + ".base_url", "is required");
  target.base_url = checked_base_url(base, prefix + ".base_url");
  target.weight = bounded_int(r, "weight", 1, 1, kMaxWeight, prefix + ".weight");
  target.provider_api_keys = r.get<nlohmann::json>("provider_api_keys", nlohmann::json::object());
  if (!target.provider_api_keys.is_object()) {
    throw PluginConfigError(prefix + ".provider_api_keys", "must map provider ids to API keys");
  }
  for (const auto& [name, value] : r.get<std::map<std::string, std::string>>("headers", {})) {
    set_header(target.headers, name, value);
  }
  r.reject_unknown();
  return target;
}

std::vector<UpstreamTarget> parse_targets(const nlohmann::json& list) {
  if (!list.is_array() || list.empty()) {
    throw PluginConfigError("upstream.targets", "must be a non-empty list of {base_url, weight?, …}");
  }
  std::vector<UpstreamTarget> targets;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string prefix = "upstream.targets[" + std::to_string(i) + "]";
    auto target = parse_target(list[i], prefix);
    if (!seen.insert(target.base_url).second) {
      throw PluginConfigError(prefix + ".base_url", "repeats the target " + target.base_url);
    }
    targets.push_back(std::move(target));
  }
  return targets;
}

void parse_failover(ConfigReader& r, UpstreamFailover& failover) {
  failover.max_attempts =
      bounded_int(r, "max_attempts", failover.max_attempts, 1, 10, "upstream.max_attempts");
  failover.retry_budget = r.positive_millis("retry_budget_ms", failover.retry_budget);
  failover.backoff_initial = r.positive_millis("backoff_initial_ms", failover.backoff_initial);
  failover.backoff_max = r.positive_millis("backoff_max_ms", failover.backoff_max);
  if (failover.backoff_max < failover.backoff_initial) {
    throw PluginConfigError("upstream.backoff_max_ms", "must be at least backoff_initial_ms");
  }
  failover.circuit_failures =
      bounded_int(r, "circuit_failures", failover.circuit_failures, 0, 1000, "upstream.circuit_failures");
  failover.circuit_open = r.positive_millis("circuit_open_ms", failover.circuit_open);
}

}  // namespace

void parse_upstream(const nlohmann::json& section, UpstreamSettings& upstream) {
  ConfigReader r(section, "upstream");
  const auto targets = r.get<nlohmann::json>("targets", nullptr);
  const auto base_url = r.get<nlohmann::json>("base_url", nullptr);
  if (!targets.is_null() && !base_url.is_null()) {
    throw PluginConfigError("upstream.targets", "cannot be combined with upstream.base_url: use one of them");
  }
  if (!targets.is_null()) {
    upstream.targets = parse_targets(targets);
  } else {
    const auto base = r.get<std::string>("base_url", upstream.base_url);
    UpstreamTarget only;
    only.base_url = checked_base_url(base, "upstream.base_url");
    upstream.targets = {std::move(only)};
  }
  upstream.base_url = upstream.targets.front().base_url;
  upstream.connect_timeout = r.positive_millis("connect_timeout_ms", upstream.connect_timeout);
  upstream.first_byte_timeout = r.positive_millis("first_byte_timeout_ms", upstream.first_byte_timeout);
  upstream.idle_timeout = r.positive_millis("idle_timeout_ms", upstream.idle_timeout);
  upstream.max_connections = r.get<long>("max_connections", upstream.max_connections);
  if (upstream.max_connections < 1) throw PluginConfigError("upstream.max_connections", "must be at least 1");
  parse_failover(r, upstream.failover);
  r.reject_unknown();
}

}  // namespace gateway
