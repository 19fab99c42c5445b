// Plugin loading (dlopen, ABI check, config validation) and the phase runner.
#include "pipeline/plugin_chain.h"

#include <dlfcn.h>

#include <map>
#include <mutex>

#include "util/log.h"

namespace gateway {

namespace {

/// Opens the shared object at `path` once per process and keeps it loaded until the process
/// ends: a reload destroys plugin instances while code of theirs may still run elsewhere (an
/// upstream observer, an end hook, the log worker's last record), so their library never goes.
/// Null when it cannot be loaded (dlerror() tells why). Thread-safe.
void* open_library(const std::filesystem::path& path) {
  static std::mutex mutex;
  static std::map<std::filesystem::path, void*> libraries;
  std::lock_guard lock(mutex);
  if (auto found = libraries.find(path); found != libraries.end()) return found->second;
  void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library != nullptr) libraries.emplace(path, library);
  return library;
}

}  // namespace

struct PluginChain::Loaded {
  std::string name;
  std::filesystem::path path;
  std::unique_ptr<Plugin> plugin;
};

PluginChain::~PluginChain() = default;
PluginChain::PluginChain(PluginChain&&) noexcept = default;
PluginChain& PluginChain::operator=(PluginChain&&) noexcept = default;

PluginChain PluginChain::load(const GatewayConfig& config, const PluginHost& host) {
  PluginChain chain;
  for (std::size_t i = 0; i < config.plugins.size(); ++i) {
    const auto& spec = config.plugins[i];
    const std::string where = "plugins[" + std::to_string(i) + "] (" + spec.name + ")";
    auto loaded = std::make_unique<Loaded>();
    loaded->name = spec.name;
    loaded->path = spec.path;
    void* library = open_library(spec.path);
    if (library == nullptr) throw ConfigError(where + ".path", std::string("cannot load: ") + dlerror());
    auto entry = reinterpret_cast<const PluginDescriptor* (*)()>(dlsym(library, GATEWAY_PLUGIN_ENTRY));
    if (entry == nullptr)
      throw ConfigError(where + ".path", "is not a gateway plugin (no " GATEWAY_PLUGIN_ENTRY ")");
    const PluginDescriptor* descriptor = entry();
    if (descriptor == nullptr || descriptor->abi_version != kPluginAbiVersion) {
      throw ConfigError(where + ".path", "was built for plugin ABI " +
                                             std::to_string(descriptor ? descriptor->abi_version : -1) +
                                             ", this gateway speaks " + std::to_string(kPluginAbiVersion));
    }
    if (spec.name != descriptor->name) {
      throw ConfigError(where + ".name",
                        std::string("the library at this path is plugin '") + descriptor->name + "'");
    }
    try {
      loaded->plugin = descriptor->create(host, spec.config);
    } catch (const PluginConfigError& e) {
      throw ConfigError(where + ".config." + e.field(), e.what());
    } catch (const std::exception& e) {
      throw ConfigError(where + ".config", e.what());
    }
    if (loaded->plugin->is_upstream()) {
      if (chain.upstream_ != nullptr)
        throw ConfigError(where, "a second upstream plugin; exactly one may produce responses");
      chain.upstream_ = loaded->plugin.get();
    }
    chain.plugins_.push_back(std::move(loaded));
  }
  return chain;
}

void PluginChain::take_over(const PluginChain& previous) const {
  std::map<std::string, std::size_t> seen;  // how many of each name came before, here
  for (const auto& p : plugins_) {
    std::size_t skip = seen[p->name]++;
    for (const auto& old : previous.plugins_) {
      if (old->name != p->name || skip-- > 0) continue;
      p->plugin->take_over(*old->plugin);
      break;
    }
  }
}

std::optional<LocalResponse> PluginChain::on_request_headers(RequestContext& ctx) const {
  for (const auto& p : plugins_) {
    if (auto answer = p->plugin->on_request_headers(ctx)) return answer;
  }
  return std::nullopt;
}

std::optional<LocalResponse> PluginChain::on_request_body(RequestContext& ctx) const {
  for (const auto& p : plugins_) {
    if (auto answer = p->plugin->on_request_body(ctx)) return answer;
  }
  return std::nullopt;
}

void PluginChain::on_response_head(RequestContext& ctx, int status, Headers& headers) const {
  for (const auto& p : plugins_) p->plugin->on_response_head(ctx, status, headers);
}

void PluginChain::on_delta(RequestContext& ctx, Delta& delta) const {
  for (const auto& p : plugins_) p->plugin->on_delta(ctx, delta);
}

void PluginChain::on_log(const RequestRecord& record) const {
  for (const auto& p : plugins_) {
    try {
      p->plugin->on_log(record);
    } catch (const std::exception& e) {
      log_message(LogLevel::Error, "plugin " + p->name + " failed in its log phase: " + e.what());
    }
  }
}

nlohmann::json PluginChain::limit_status(const Principal& principal) const {
  for (const auto& p : plugins_) {
    try {
      auto status = p->plugin->limit_status(principal);
      if (!status.is_null()) return status;
    } catch (const std::exception& e) {
      log_message(LogLevel::Error, "plugin " + p->name + " failed to report limits: " + e.what());
    }
  }
  return nullptr;
}

LocalResponse PluginChain::upstream_health() const {
  nlohmann::json status = nullptr;
  if (upstream_ != nullptr) {
    try {
      status = upstream_->upstream_status();
    } catch (const std::exception& e) {
      log_message(LogLevel::Error,
                  std::string("the upstream plugin failed to report its targets: ") + e.what());
    }
  }
  if (!status.is_object()) {
    return json_response(503, {{"available", false}, {"targets", nlohmann::json::array()}});
  }
  const bool available = status.contains("available") && status["available"] == true;
  return json_response(available ? 200 : 503, status);
}

std::optional<LocalResponse> PluginChain::on_admin_request(const HttpRequest& request) const {
  for (const auto& p : plugins_) {
    try {
      if (auto answer = p->plugin->on_admin_request(request)) return answer;
    } catch (const std::exception& e) {
      log_message(LogLevel::Error, "plugin " + p->name + " failed in its admin phase: " + e.what());
      return openai_error(500, "server_error", "internal_error",
                          "The plugin " + p->name + " failed to answer: " + e.what());
    }
  }
  return std::nullopt;
}

std::vector<std::string> PluginChain::describe() const {
  std::vector<std::string> out;
  for (const auto& p : plugins_) {
    out.push_back(p->name + (p->plugin->is_upstream() ? " [upstream]" : "") + "  (" + p->path.string() + ")");
  }
  return out;
}

std::vector<std::string> PluginChain::names() const {
  std::vector<std::string> out;
  for (const auto& p : plugins_) out.push_back(p->name);
  return out;
}

}  // namespace gateway
