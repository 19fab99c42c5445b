// Authentication: accepts a client key from `Authorization: Bearer …` or `x-api-key` and puts
// the caller's identity on the request context. Keys are compared as SHA-256 digests in
// constant time.
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <array>
#include <cstdlib>

#include "gateway/config_reader.h"
#include "gateway/plugin.h"
#include "gateway/secrets.h"

namespace e2b::auth {
namespace {

using namespace gateway;
using Digest = KeyDigest;
static_assert(sizeof(Digest) == SHA256_DIGEST_LENGTH);

Digest digest_of(std::string_view key) {
  Digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), d.data());
  return d;
}

std::string hex_prefix(const Digest& d, std::size_t bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) {
    out += digits[d[i] >> 4];
    out += digits[d[i] & 0xf];
  }
  return out;
}

struct StaticKey {
  Digest digest;
  Principal principal;
};

/// The key a request presents, if any.
std::optional<std::string> presented_key(const HttpRequest& request) {
  if (auto header = find_header(request.headers, "authorization")) {
    std::string_view value = *header;
    if (value.size() > 7 && to_lower(value.substr(0, 7)) == "bearer ") {
      value.remove_prefix(7);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
      if (!value.empty()) return std::string(value);
    }
  }
  if (auto header = find_header(request.headers, "x-api-key"); header && !header->empty()) return header;
  return std::nullopt;
}

class AuthPlugin : public Plugin {
 public:
  AuthPlugin(std::vector<StaticKey> keys, std::vector<std::string> prefixes, const KeyDirectory* stored)
      : keys_(std::move(keys)), prefixes_(std::move(prefixes)), stored_(stored) {}

  std::optional<LocalResponse> on_request_headers(RequestContext& ctx) override {
    const auto& request = ctx.request();
    if (request.method == "OPTIONS" || !protected_path(request.path)) return std::nullopt;
    const auto key = presented_key(request);
    if (!key) {
      return openai_error(
          401, "invalid_request_error", "missing_api_key",
          "You didn't provide an API key. Send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.");
    }
    const Digest presented = digest_of(*key);
    const StaticKey* match = nullptr;
    for (const auto& candidate : keys_) {  // no early exit: every key costs the same
      if (CRYPTO_memcmp(candidate.digest.data(), presented.data(), presented.size()) == 0) match = &candidate;
    }
    if (match != nullptr) {
      ctx.principal() = match->principal;
      return std::nullopt;
    }
    if (stored_ != nullptr) {
      if (auto principal = stored_->authenticate(presented)) {
        ctx.principal() = std::move(*principal);
        return std::nullopt;
      }
    }
    return openai_error(401, "invalid_request_error", "invalid_api_key",
                        "Incorrect API key provided: " + mask_secret(*key) +
                            ". It is unknown, disabled, expired or revoked.");
  }

 private:
  bool protected_path(const std::string& path) const {
    for (const auto& prefix : prefixes_) {
      if (path.starts_with(prefix)) return true;
    }
    return false;
  }

  std::vector<StaticKey> keys_;
  std::vector<std::string> prefixes_;
  const KeyDirectory* stored_;
};

StaticKey make_key(const std::string& key, const std::string& user, std::vector<std::string> models) {
  StaticKey k;
  k.digest = digest_of(key);
  k.principal.authenticated = true;
  k.principal.key_id = "static-" + hex_prefix(k.digest, 6);
  k.principal.key_mask = mask_secret(key);
  k.principal.tenant_id = "static";
  k.principal.user = user;
  k.principal.allowed_models = std::move(models);
  return k;
}

std::unique_ptr<Plugin> make_auth_plugin(const PluginHost& host, const nlohmann::json& config) {
  ConfigReader r(config);
  std::vector<StaticKey> keys;
  const auto listed = r.get<nlohmann::json>("keys", nlohmann::json::array());
  if (!listed.is_array()) throw PluginConfigError("keys", "must be a list");
  for (std::size_t i = 0; i < listed.size(); ++i) {
    const std::string at = "keys[" + std::to_string(i) + "]";
    if (listed[i].is_string()) {
      if (!listed[i].get<std::string>().empty()) keys.push_back(make_key(listed[i], "static", {}));
      continue;
    }
    ConfigReader entry(listed[i], at);
    const auto key = entry.require<std::string>("key");
    const auto user = entry.get<std::string>("user", "static");
    auto models = entry.get<std::vector<std::string>>("models", {});
    entry.reject_unknown();
    for (const auto& model : models) {
      if (host.models && !host.models->find(model))
        throw PluginConfigError(at + ".models", "unknown model " + model);
    }
    if (key.size() < 8) throw PluginConfigError(at + ".key", "must be at least 8 characters");
    keys.push_back(make_key(key, user, std::move(models)));
  }
  const auto env_name = r.get<std::string>("env_key", "E2B_API_KEY");
  if (!env_name.empty()) {
    if (const char* value = std::getenv(env_name.c_str()); value && *value)
      keys.push_back(make_key(value, "static", {}));
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
