// Loads config.yaml into the gateway's settings: listen, upstream, models and the plugin chain.
#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/upstream_config.h"
#include "gateway/config_reader.h"

namespace gateway {
namespace {

std::string trim(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

/// Types a plain (unquoted) YAML scalar the way YAML 1.2's core schema does.
nlohmann::json typed_scalar(const std::string& text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") return nullptr;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  long long integer = 0;
  const char* end = text.data() + text.size();
  const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
  if (auto [ptr, ec] = std::from_chars(begin, end, integer); ec == std::errc() && ptr == end) return integer;
  const bool numeric_chars = text.find_first_not_of("+-.0123456789eE") == std::string::npos &&
                             text.find_first_of("0123456789") != std::string::npos;
  if (numeric_chars) {
    char* parsed_end = nullptr;
    const double value = std::strtod(text.c_str(), &parsed_end);
    if (parsed_end == text.c_str() + text.size()) return value;
  }
  return text;
}

nlohmann::json convert(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar: {
      const std::string value = interpolate_env(node.Scalar());
      if (node.Tag() == "!") return value;  // quoted: always a string
      return typed_scalar(value);
    }
    case YAML::NodeType::Sequence: {
      auto out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(convert(item));
      return out;
    }
    case YAML::NodeType::Map: {
      auto out = nlohmann::json::object();
      for (const auto& item : node) out[item.first.as<std::string>()] = convert(item.second);
      return out;
    }
  }
  return nullptr;
}

/// Runs a ConfigReader-based parse and reports failures as ConfigError.
template <typename Fn>
auto with_field_errors(Fn&& fn) {
  try {
    return fn();
  } catch (const PluginConfigError& e) {
    throw ConfigError(e.field(), e.what());
  }
}

void parse_listen(const nlohmann::json& section, ServerOptions& server) {
  ConfigReader r(section, "listen");
  server.host = r.get<std::string>("host", server.host);
  const auto port = r.get<long long>("port", server.port);
  if (port < 0 || port > 65535) throw PluginConfigError("listen.port", "must be between 0 and 65535");
  server.port = static_cast<std::uint16_t>(port);
  const auto threads = r.get<long long>("threads", static_cast<long long>(server.threads));
  if (threads < 1 || threads > 64) throw PluginConfigError("listen.threads", "must be between 1 and 64");
  server.threads = static_cast<std::size_t>(threads);
  const auto max_request =
      r.get<long long>("max_request_bytes", static_cast<long long>(server.max_request_size));
  if (max_request < 1024) throw PluginConfigError("listen.max_request_bytes", "must be at least 1024");
  server.max_request_size = static_cast<std::size_t>(max_request);
  const auto size_setting = [&r](const std::string& key, std::size_t fallback, long long min, long long max) {
    const auto value = r.get<long long>(key, static_cast<long long>(fallback));
    if (value < min || value > max) {
      throw PluginConfigError(r.path(key),
                              "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    return static_cast<std::size_t>(value);
  };
  constexpr long long kMaxHead = 1024 * 1024;
  server.max_request_line_bytes =
      size_setting("max_request_line_bytes", server.max_request_line_bytes, 256, kMaxHead);
  server.max_header_line_bytes =
      size_setting("max_header_line_bytes", server.max_header_line_bytes, 256, kMaxHead);
  server.max_header_count = size_setting("max_header_count", server.max_header_count, 1, 10'000);
  server.max_head_bytes = size_setting("max_head_bytes", server.max_head_bytes, 1024, kMaxHead);
  if (server.max_head_bytes < server.max_request_line_bytes ||
      server.max_head_bytes < server.max_header_line_bytes) {
    throw PluginConfigError("listen.max_head_bytes",
                            "must be at least max_request_line_bytes and max_header_line_bytes");
  }
  server.header_timeout = r.positive_millis("header_timeout_ms", server.header_timeout);
  server.keepalive_timeout = r.positive_millis("keepalive_timeout_ms", server.keepalive_timeout);
  server.write_timeout = r.positive_millis("write_timeout_ms", server.write_timeout);
  server.shutdown_grace = r.positive_millis("shutdown_grace_ms", server.shutdown_grace);
  r.reject_unknown();
}

/// Parameter caps used to sit in the catalog; they are `constraints` plugin rules now, and a
/// config that still has them is refused rather than silently unenforced.
void refuse_limits(const nlohmann::json& entry, const std::string& prefix) {
  if (entry.is_object() && entry.contains("limits")) {
    throw PluginConfigError(prefix + ".limits",
                            "parameter caps are now rules of the constraints plugin: move them to "
                            "its config.rules (see README, Parameter constraints)");
  }
}

struct ProviderDefaults {
  std::string name;
  std::string instructions;
};

std::map<std::string, ProviderDefaults> parse_providers(const nlohmann::json& section) {
  std::map<std::string, ProviderDefaults> providers;
  if (section.is_null()) return providers;
  if (!section.is_object()) throw PluginConfigError("providers", "must be a mapping");
  for (const auto& [id, value] : section.items()) {
    const std::string prefix = "providers." + id;
    ConfigReader r(value, prefix);
    refuse_limits(value, prefix);
    ProviderDefaults p;
    p.name = r.get<std::string>("name", id);
    p.instructions = r.get<std::string>("instructions", "");
    r.reject_unknown();
    providers[id] = p;
  }
  return providers;
}

ModelCatalog parse_models(const nlohmann::json& section,
                          const std::map<std::string, ProviderDefaults>& providers) {
  ModelCatalog catalog;
  if (section.is_null()) return catalog;
  if (!section.is_array()) throw PluginConfigError("models", "must be a list");
  std::vector<std::pair<std::string, std::vector<std::string>>> aliases;
  for (std::size_t i = 0; i < section.size(); ++i) {
    const std::string prefix = "models[" + std::to_string(i) + "]";
    ConfigReader r(section[i], prefix);
    refuse_limits(section[i], prefix);
    ModelInfo m;
    m.id = r.get<std::string>("id", "");
    m.provider_id = r.get<std::string>("provider_id", "");
    auto provider = providers.find(m.provider_id);
    const ProviderDefaults defaults =
        provider == providers.end() ? ProviderDefaults{m.provider_id, ""} : provider->second;
    m.upstream_id = r.get<std::string>("upstream_id", m.id);
    m.provider = r.get<std::string>("provider", defaults.name);
    m.name = r.get<std::string>("name", m.id);
    m.multimodal = r.get<bool>("multimodal", false);
    m.instructions = r.get<std::string>("instructions", defaults.instructions);
    m.extra = r.get<nlohmann::json>("extra", nlohmann::json::object());
    aliases.emplace_back(m.id, r.get<std::vector<std::string>>("aliases", {}));
    r.reject_unknown();  // first, so a misspelt key is named rather than reported missing
    if (m.id.empty()) throw PluginConfigError(prefix + ".id", "is required");
    if (m.provider_id.empty()) throw PluginConfigError(prefix + ".provider_id", "is required");
    if (catalog.find(m.id)) throw PluginConfigError(prefix + ".id", "duplicate model id " + m.id);
    catalog.add(std::move(m));
  }
  for (const auto& [target, names] : aliases) {
    for (const auto& alias : names) {
      if (catalog.find(alias)) throw PluginConfigError("models", "alias " + alias + " is already a model id");
      ModelInfo copy = *catalog.find(target);
      copy.id = alias;
      copy.alias_of = target;
      catalog.add(std::move(copy));
    }
  }
  return catalog;
}

std::vector<PluginSpec> parse_plugins(const nlohmann::json& section, const std::filesystem::path& dir) {
  std::vector<PluginSpec> plugins;
  if (section.is_null()) return plugins;
  if (!section.is_array()) throw PluginConfigError("plugins", "must be a list");
  for (std::size_t i = 0; i < section.size(); ++i) {
    const std::string prefix = "plugins[" + std::to_string(i) + "]";
    ConfigReader r(section[i], prefix);
    PluginSpec spec;
    spec.name = r.get<std::string>("name", "");
    const auto path = r.get<std::string>("path", "");
    spec.config = r.get<nlohmann::json>("config", nlohmann::json::object());
    r.reject_unknown();
    if (spec.name.empty()) throw PluginConfigError(prefix + ".name", "is required");
    spec.path = path.empty() ? dir / (spec.name + ".so") : std::filesystem::path(path);
    plugins.push_back(std::move(spec));
  }
  return plugins;
}

LogFormat parse_log_format(const std::string& name) {
  if (name == "text") return LogFormat::Text;
  if (name == "json") return LogFormat::Json;
  throw PluginConfigError("log.format", "must be text or json");
}

/// A true/false environment variable, spelt as YAML spells booleans in config.yaml.
bool parse_env_switch(const std::string& value, const std::string& variable) {
  const auto typed = typed_scalar(value);
  if (!typed.is_boolean()) throw PluginConfigError(variable, "must be true or false");
  return typed.get<bool>();
}

}  // namespace

void load_dotenv(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    if (line.starts_with("export ")) line = trim(line.substr(7));
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = trim(line.substr(0, eq));
    std::string value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    if (!key.empty()) ::setenv(key.c_str(), value.c_str(), 0);
  }
}

std::string interpolate_env(const std::string& text) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto start = text.find("${", pos);
    if (start == std::string::npos) break;
    const auto end = text.find('}', start);
    if (end == std::string::npos) break;
    out.append(text, pos, start - pos);
    const std::string expr = text.substr(start + 2, end - start - 2);
    const auto dash = expr.find(":-");
    const std::string name = dash == std::string::npos ? expr : expr.substr(0, dash);
    const char* value = std::getenv(name.c_str());
    if (value != nullptr && *value != '\0') {
      out += value;
    } else if (dash != std::string::npos) {
      out += expr.substr(dash + 2);
    }
    pos = end + 1;
  }
  out.append(text, pos, std::string::npos);
  return out;
}

nlohmann::json yaml_to_json(const std::string& yaml_text) {
  try {
    return convert(YAML::Load(yaml_text));
  } catch (const YAML::Exception& e) {
    throw ConfigError("yaml", e.what());
  }
}

GatewayConfig parse_config(const nlohmann::json& document, const std::filesystem::path& default_plugin_dir) {
  return with_field_errors([&] {
    GatewayConfig config;
    ConfigReader root(document);
    parse_listen(root.get<nlohmann::json>("listen", nullptr), config.server);
    parse_upstream(root.get<nlohmann::json>("upstream", nullptr), config.upstream);
    ConfigReader log(root.get<nlohmann::json>("log", nullptr), "log");
    config.log_level = log.get<std::string>("level", config.log_level);
    auto log_format = log.get<std::string>("format", "text");
    config.log_access = log.get<bool>("access", config.log_access);
    log.reject_unknown();
    ConfigReader storage(root.get<nlohmann::json>("storage", nullptr), "storage");
    config.storage_path = storage.get<std::string>("path", config.storage_path.string());
    storage.reject_unknown();
    if (const char* db = std::getenv("E2B_DB_PATH"); db && *db) config.storage_path = db;
    if (config.storage_path.empty()) throw PluginConfigError("storage.path", "must not be empty");
    ConfigReader admin(root.get<nlohmann::json>("admin", nullptr), "admin");
    const auto admin_listen = admin.get<std::string>("listen", "127.0.0.1:8081");
    const auto colon = admin_listen.rfind(':');
    try {
      if (colon == std::string::npos) throw std::invalid_argument("no port");
      std::size_t used = 0;
      const int port = std::stoi(admin_listen.substr(colon + 1), &used);
      if (used != admin_listen.size() - colon - 1 || port < 0 || port > 65535)
        throw std::out_of_range("port");
      config.admin_server.host = admin_listen.substr(0, colon);
      config.admin_server.port = static_cast<std::uint16_t>(port);
    } catch (const std::exception&) {
      throw PluginConfigError("admin.listen", "must be HOST:PORT, e.g. 127.0.0.1:8081");
    }
    // The admin listener refuses oversized request heads with the same limits.
    config.admin_server.max_request_line_bytes = config.server.max_request_line_bytes;
    config.admin_server.max_header_line_bytes = config.server.max_header_line_bytes;
    config.admin_server.max_header_count = config.server.max_header_count;
    config.admin_server.max_head_bytes = config.server.max_head_bytes;
    const auto check_length = [](const std::string& token, const std::string& field) {
      if (token.size() < 16) throw PluginConfigError(field, "must be at least 16 characters");
    };
    std::string token = admin.get<std::string>("token", "");
    if (const char* env = std::getenv("E2B_ADMIN_TOKEN"); env && *env) token = env;
    if (!token.empty()) {
      check_length(token, "admin.token");
      config.admin_tokens.push_back({"admin", token});
    }
    const auto listed = admin.get<nlohmann::json>("tokens", nlohmann::json::array());
    if (!listed.is_array()) throw PluginConfigError("admin.tokens", "must be a list of {label, token}");
    for (std::size_t i = 0; i < listed.size(); ++i) {
      ConfigReader entry(listed[i], "admin.tokens[" + std::to_string(i) + "]");
      AdminToken t{entry.require<std::string>("label"), entry.require<std::string>("token")};
      entry.reject_unknown();
      if (t.label.empty()) throw PluginConfigError(entry.path("label"), "must not be empty");
      check_length(t.token, entry.path("token"));
      config.admin_tokens.push_back(std::move(t));
    }
    admin.reject_unknown();
    const auto dir = root.get<std::string>("plugin_dir", "");
    config.plugin_dir = dir.empty() ? default_plugin_dir : std::filesystem::path(dir);
    config.plugins = parse_plugins(root.get<nlohmann::json>("plugins", nullptr), config.plugin_dir);
    const auto providers = parse_providers(root.get<nlohmann::json>("providers", nullptr));
    config.models = parse_models(root.get<nlohmann::json>("models", nullptr), providers);
    root.reject_unknown();

    // Environment variables win over the file.
    if (const char* port = std::getenv("E2B_PORT"); port && *port) {
      try {
        std::size_t used = 0;
        const int value = std::stoi(port, &used);
        if (used != std::strlen(port) || value < 0 || value > 65535) throw std::out_of_range("port");
        config.server.port = static_cast<std::uint16_t>(value);
      } catch (const std::exception&) {
        throw PluginConfigError("E2B_PORT", "must be a port number");
      }
    }
    if (const char* host = std::getenv("E2B_HOST"); host && *host) config.server.host = host;
    if (const char* base = std::getenv("E2B_BASE_URL"); base && *base) {
      nlohmann::json upstream = root.get<nlohmann::json>("upstream", nlohmann::json::object());
      if (upstream.is_null()) upstream = nlohmann::json::object();
      upstream.erase("targets");  // the variable names the one upstream
      upstream["base_url"] = base;
      parse_upstream(upstream, config.upstream);
    }
    if (const char* level = std::getenv("E2B_LOG_LEVEL"); level && *level) config.log_level = level;
    static const std::set<std::string> levels{"debug", "info", "warn", "error"};
    if (!levels.count(config.log_level))
      throw PluginConfigError("log.level", "must be debug, info, warn or error");
    if (const char* format = std::getenv("E2B_LOG_FORMAT"); format && *format) log_format = format;
    config.log_format = parse_log_format(log_format);
    if (const char* access = std::getenv("E2B_LOG_ACCESS"); access && *access) {
      config.log_access = parse_env_switch(access, "E2B_LOG_ACCESS");
    }
    return config;
  });
}

GatewayConfig load_config(const std::filesystem::path& path,
                          const std::filesystem::path& default_plugin_dir) {
  load_dotenv(".env");
  std::ifstream in(path);
  if (!in) throw ConfigError("config", "cannot read " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  auto config = parse_config(yaml_to_json(text.str()), default_plugin_dir);
  config.source = path;
  return config;
}

}  // namespace gateway
