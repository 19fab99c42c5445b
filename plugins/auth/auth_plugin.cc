// Authentication: accepts a client key from `Authorization: Bearer …` or `x-api-key` and puts
// the caller's identity on the request context (request-headers phase), then refuses a chat
// request for a model the key may not use (request-body phase). Keys are compared as SHA-256
// digests in constant time; the rules themselves live in key_rules.h.
#include <cstdlib>

#include "gateway/config_reader.h"
#include "gateway/plugin.h"
#include "key_rules.h"

namespace e2b::auth {
namespace {

using namespace gateway;

class AuthPlugin : public Plugin {
 public:
  AuthPlugin(std::vector<StaticKey> keys, std::vector<std::string> prefixes, const KeyDirectory* stored)
      : keys_(std::move(keys)), prefixes_(std::move(prefixes)), stored_(stored) {}

  std::optional<LocalResponse> on_request_headers(RequestContext& ctx) override {
    const auto& request = ctx.request();
    if (request.method == "OPTIONS" || !is_protected(request.path, prefixes_)) return std::nullopt;
    const auto key = presented_key(request);
    if (!key) return missing_key_error();
    const KeyDigest presented = digest_of(*key);
    if (const StaticKey* match = match_static_key(keys_, presented)) {
      ctx.principal() = match->principal;
      return std::nullopt;
    }
    if (stored_ != nullptr) {
      if (auto principal = stored_->authenticate(presented)) {
        ctx.principal() = std::move(*principal);
        return std::nullopt;
      }
    }
    return invalid_key_error(*key);
  }

  std::optional<LocalResponse> on_request_body(RequestContext& ctx) override {
    if (ctx.model() == nullptr) return std::nullopt;
    return model_refusal(ctx.principal(), ctx.model()->id);
  }

 private:
  std::vector<StaticKey> keys_;
  std::vector<std::string> prefixes_;
  const KeyDirectory* stored_;
};

std::unique_ptr<Plugin> make_auth_plugin(const PluginHost& host, const nlohmann::json& config) {
  ConfigReader r(config);
  auto keys = parse_static_keys(r.get<nlohmann::json>("keys", nlohmann::json::array()), host.models);
  const auto env_name = r.get<std::string>("env_key", "E2B_API_KEY");
  if (!env_name.empty()) {
    if (const char* value = std::getenv(env_name.c_str()); value && *value)
      keys.push_back(make_static_key(value, "static", {}));
  }
  auto prefixes = r.get<std::vector<std::string>>("protected_prefixes", {"/v1/", "/chat/", "/models"});
  const bool use_stored = r.get<bool>("stored_keys", true);
  r.reject_unknown();
  const KeyDirectory* stored = use_stored ? host.keys : nullptr;
  if (keys.empty() && stored == nullptr && host.log) {
    host.log(LogLevel::Warn, "auth: no client keys configured; every API request will get 401");
  }
  return std::make_unique<AuthPlugin>(std::move(keys), std::move(prefixes), stored);
}

}  // namespace
}  // namespace e2b::auth

GATEWAY_PLUGIN("auth", &e2b::auth::make_auth_plugin)
