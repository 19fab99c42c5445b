// The auth plugin's rules as plain functions: which key a request presents, how configured
// keys become identities, how a presented key is matched, and which model a caller may use.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/plugin.h"

namespace e2b::auth {

using gateway::KeyDigest;

/// A key from config.yaml or the environment, kept only as its digest.
struct StaticKey {
  KeyDigest digest;
  gateway::Principal principal;
};

/// The SHA-256 digest of `key`.
KeyDigest digest_of(std::string_view key);

/// The key a request presents: `Authorization: Bearer <key>` first, then `x-api-key`.
std::optional<std::string> presented_key(const gateway::HttpRequest& request);

/// The identity of a static key: tenant "static", a key id from its digest, a masked display form.
StaticKey make_static_key(std::string_view key, const std::string& user, std::vector<std::string> models);

/// The `keys` setting: plain strings, or mappings of key, user, models and limits. Models must be in
/// `catalog` when one is given. Throws PluginConfigError naming the offending entry.
std::vector<StaticKey> parse_static_keys(const nlohmann::json& listed, const gateway::ModelCatalog* catalog);

/// The static key with `digest`, or null; compares against every key so each costs the same.
const StaticKey* match_static_key(const std::vector<StaticKey>& keys, const KeyDigest& digest);

/// Whether `path` starts with one of `prefixes`.
bool is_protected(std::string_view path, const std::vector<std::string>& prefixes);

/// The 401 for a request without a key.
gateway::LocalResponse missing_key_error();

/// The 401 for a key nobody knows (or that is disabled, expired or revoked); shows it masked.
gateway::LocalResponse invalid_key_error(std::string_view key);

/// The 403 for a caller whose key may not use `model_id`; nullopt when it may.
std::optional<gateway::LocalResponse> model_refusal(const gateway::Principal& principal,
                                                    const std::string& model_id);

}  // namespace e2b::auth
