// Gateway configuration: config.yaml (with ${ENV} interpolation), then .env, then environment
// variables, which win.
#pragma once

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/models.h"
#include "gateway/plugin.h"
#include "server/http_server.h"
#include "util/log.h"

namespace gateway {

/// A configuration problem; `field` is the dotted path of the offending key.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string field, const std::string& message)
      : std::runtime_error(field + ": " + message), field_(std::move(field)) {}
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

struct PluginSpec {
  std::string name;
  std::filesystem::path path;  ///< shared object to load
  nlohmann::json config;       ///< the plugin's own settings
};

struct UpstreamSettings {
  std::string base_url = "https://fragments.e2b.dev";  ///< the first target's
  std::vector<UpstreamTarget> targets;                 ///< never empty once parsed
  UpstreamFailover failover;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds first_byte_timeout{300'000};
  std::chrono::milliseconds idle_timeout{120'000};
  long max_connections = 1024;
};

/// An admin bearer token and the label the audit log records for it.
struct AdminToken {
  std::string label;
  std::string token;
};

struct GatewayConfig {
  std::filesystem::path source;  ///< the file it came from
  ServerOptions server;
  UpstreamSettings upstream;
  std::string log_level = "info";
  LogFormat log_format = LogFormat::Text;
  bool log_access = true;  ///< false: no access line per request; the log phase still runs
  std::filesystem::path storage_path = "data/gateway.db";  ///< SQLite file of keys and usage
  ServerOptions admin_server{"127.0.0.1", 8081, 1};        ///< the admin API's own listener
  std::vector<AdminToken> admin_tokens;                    ///< none: the admin API stays off
  std::filesystem::path plugin_dir;
  std::vector<PluginSpec> plugins;
  ModelCatalog models;
};

/// Reads KEY=VALUE lines of a .env file into the environment without overriding variables that
/// are already set. A missing file is fine.
void load_dotenv(const std::filesystem::path& file);

/// Replaces ${VAR} and ${VAR:-default} with environment values.
std::string interpolate_env(const std::string& text);

/// Parses YAML text into JSON, interpolating environment variables in every string scalar.
nlohmann::json yaml_to_json(const std::string& yaml_text);

/// Builds the configuration from parsed settings and applies environment overrides.
/// `default_plugin_dir` is used when the file names none.
GatewayConfig parse_config(const nlohmann::json& document, const std::filesystem::path& default_plugin_dir);

/// Loads `path` (reading .env first).
GatewayConfig load_config(const std::filesystem::path& path, const std::filesystem::path& default_plugin_dir);

}  // namespace gateway
