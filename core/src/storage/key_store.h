// Tenants and their users' API keys in SQLite, with an in-memory index for authentication.
// Only SHA-256 digests of keys are stored; a key's plaintext exists once, in create_key's result.
#pragma once

#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/plugin.h"
#include "storage/sqlite.h"

namespace gateway {

struct TenantRecord {
  std::string id;
  std::string name;
  std::string status = "active";
  nlohmann::json metadata = nlohmann::json::object();
  std::int64_t created_at = 0;
};

struct KeyRecord {
  std::string id;
  std::string tenant_id;
  std::string user;
  std::string alias;
  std::string prefix;  ///< first characters of the key, for humans
  std::string status = "active";
  std::vector<std::string> models;
  nlohmann::json metadata = nlohmann::json::object();
  std::int64_t created_at = 0;
  std::optional<std::int64_t> expires_at;
};

/// What a new key should look like.
struct NewKey {
  std::string tenant_id;
  std::string user;
  std::string alias;
  std::vector<std::string> models;
  std::optional<std::int64_t> expires_at;
  nlohmann::json metadata = nlohmann::json::object();
};

/// Unix seconds now.
std::int64_t unix_now();

/// A freshly generated key: `sk-e2b-` + 43 characters of base64url (32 random bytes).
std::string generate_key_secret();
/// Hex SHA-256 of a key, the only form that is stored.
std::string key_digest(std::string_view secret);
/// A random id with a readable prefix, e.g. "key_3f9a…".
std::string random_id(std::string_view prefix);

class KeyStore : public KeyDirectory {
 public:
  /// Opens (creating) the database at `path` and applies pending migrations.
  explicit KeyStore(const std::string& path);

  TenantRecord create_tenant(const std::string& name, nlohmann::json metadata = nlohmann::json::object());
  std::vector<TenantRecord> tenants();
  std::optional<TenantRecord> tenant(const std::string& id);
  /// Sets a tenant's status ("active"/"disabled"); its keys follow at once. False if unknown.
  bool set_tenant_status(const std::string& id, const std::string& status);

  struct CreatedKey {
    KeyRecord key;
    std::string secret;  ///< shown once; never stored
  };
  /// Throws std::invalid_argument naming the field when `request` is invalid.
  CreatedKey create_key(const NewKey& request);
  std::vector<KeyRecord> keys();
  std::optional<KeyRecord> key(const std::string& id);
  /// Sets an active or disabled key's status ("active"/"disabled"). False for an unknown or
  /// revoked key.
  bool set_key_status(const std::string& id, const std::string& status);
  /// Issues a new secret for the same key id; the old one keeps working for `grace_seconds`.
  /// Nullopt for an unknown or revoked key.
  std::optional<std::string> rotate_key(const std::string& id, std::int64_t grace_seconds);
  /// Records an admin write in the audit log (no secrets).
  void audit(const std::string& action, const std::string& target_id, const std::string& actor,
             const std::string& request_id);
  /// Revokes at once; the row stays for usage history. False for an unknown id.
  bool revoke_key(const std::string& id);

  /// The identity behind `secret` if it is valid at `now` (unix seconds): an active key, not
  /// expired, of an active tenant.
  std::optional<Principal> authenticate(std::string_view secret, std::int64_t now) const;
  std::optional<Principal> authenticate(std::string_view secret) const override {
    return authenticate(secret, unix_now());
  }
  /// Reloads the in-memory index from the database.
  void reload();

 private:
  struct Entry {
    KeyRecord key;
    std::string tenant_status;
    std::optional<std::int64_t> valid_until;  ///< set for a rotated-out secret in its grace period
  };
  /// Runs a status UPDATE (`?` = status, updated_at, id) and refreshes the index.
  bool update_status(const char* sql, const std::string& id, const std::string& status);

  db::Database db_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, Entry> by_digest_;
};

}  // namespace gateway
