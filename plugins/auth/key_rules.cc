// Key extraction, static key parsing, matching and model permissions of the auth plugin.
#include "key_rules.h"

#include <openssl/crypto.h>

#include "gateway/config_reader.h"
#include "gateway/secrets.h"
#include "gateway/sha256.h"

namespace e2b::auth {
namespace {

using namespace gateway;
static_assert(sizeof(KeyDigest) == sizeof(gateway::Sha256Digest));

std::string hex_prefix(const KeyDigest& digest, std::size_t bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) {
    out += digits[digest[i] >> 4];
    out += digits[digest[i] & 0xf];
  }
  return out;
}

std::string_view trimmed(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  return value;
}

/// One mapping entry of `keys`: key (at least 8 characters), user, models and limits.
StaticKey parse_key_entry(const nlohmann::json& entry, const std::string& at, const ModelCatalog* catalog) {
  ConfigReader r(entry, at);
  const auto key = r.require<std::string>("key");
  const auto user = r.get<std::string>("user", "static");
  auto models = r.get<std::vector<std::string>>("models", {});
  const auto limits = r.rate_limits("limits");
  r.reject_unknown();
  for (const auto& model : models) {
    if (catalog && !catalog->find(model)) throw PluginConfigError(at + ".models", "unknown model " + model);
  }
  if (key.size() < 8) throw PluginConfigError(at + ".key", "must be at least 8 characters");
  auto made = make_static_key(key, user, std::move(models));
  made.principal.key_limits = limits;
  return made;
}

}  // namespace

KeyDigest digest_of(std::string_view key) {
  return gateway::sha256(key);
}

std::optional<std::string> presented_key(const HttpRequest& request) {
  if (auto header = find_header(request.headers, "authorization")) {
    std::string_view value = *header;
    if (value.size() > 7 && equals_ignoring_case(std::string_view(value).substr(0, 7), "bearer ")) {
      value = trimmed(value.substr(7));
      if (!value.empty()) return std::string(value);
    }
  }
  if (auto header = find_header(request.headers, "x-api-key"); header && !header->empty()) return header;
  return std::nullopt;
}

StaticKey make_static_key(std::string_view key, const std::string& user, std::vector<std::string> models) {
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

std::vector<StaticKey> parse_static_keys(const nlohmann::json& listed, const ModelCatalog* catalog) {
  if (!listed.is_array()) throw PluginConfigError("keys", "must be a list");
  std::vector<StaticKey> keys;
  for (std::size_t i = 0; i < listed.size(); ++i) {
    if (listed[i].is_string()) {
      const auto key = listed[i].get<std::string>();
      if (!key.empty()) keys.push_back(make_static_key(key, "static", {}));
      continue;
    }
    keys.push_back(parse_key_entry(listed[i], "keys[" + std::to_string(i) + "]", catalog));
  }
  return keys;
}

const StaticKey* match_static_key(const std::vector<StaticKey>& keys, const KeyDigest& digest) {
  const StaticKey* match = nullptr;
  for (const auto& candidate : keys) {  // no early exit: every key costs the same
    if (CRYPTO_memcmp(candidate.digest.data(), digest.data(), digest.size()) == 0) match = &candidate;
  }
  return match;
}

bool is_protected(std::string_view path, const std::vector<std::string>& prefixes) {
  for (const auto& prefix : prefixes) {
    if (path.starts_with(prefix)) return true;
  }
  return false;
}

LocalResponse missing_key_error() {
  return openai_error(
      401, "invalid_request_error", "missing_api_key",
      "You didn't provide an API key. Send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.");
}

LocalResponse invalid_key_error(std::string_view key) {
  return openai_error(
      401, "invalid_request_error", "invalid_api_key",
      "Incorrect API key provided: " + mask_secret(key) + ". It is unknown, disabled, expired or revoked.");
}

std::optional<LocalResponse> model_refusal(const Principal& principal, const std::string& model_id) {
  if (principal.may_use(model_id)) return std::nullopt;
  return openai_error(403, "invalid_request_error", "model_not_allowed",
                      "This API key may not use the model `" + model_id + "`.", "model");
}

}  // namespace e2b::auth
