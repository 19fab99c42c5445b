// Tenants and their users' API keys in SQLite, with an in-memory index for authentication.
// Only SHA-256 digests of keys are stored; a key's plaintext exists once, in create_key's result.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
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
  nlohmann::json limits = nlohmann::json::object();  ///< read by rate limiting
  std::int64_t created_at = 0;
  std::optional<std::int64_t> deleted_at;  ///< set once deleted; the row stays for usage history
};

struct KeyRecord {
  std::string id;
  std::string tenant_id;
  std::string user;
  std::string alias;
  std::string prefix;  ///< first characters of the key, for humans
  std::string status = "active";
  std::vector<std::string> models;
  /// The stored model list was damaged: the key is refused until its models are set again.
  bool models_unreadable = false;
  nlohmann::json metadata = nlohmann::json::object();
  nlohmann::json limits = nlohmann::json::object();  ///< read by rate limiting
  std::int64_t created_at = 0;
  std::optional<std::int64_t> expires_at;
};

/// One admin write as recorded in the audit log.
struct AuditEntry {
  std::int64_t id = 0;
  std::int64_t ts = 0;
  std::string action;
  std::string target_id;
  std::string actor;  ///< label of the admin token that made the change
  std::string request_id;
  nlohmann::json details = nlohmann::json::object();
};

/// What a new key should look like.
struct NewKey {
  std::string tenant_id;
  std::string user;
  std::string alias;
  std::vector<std::string> models;
  std::optional<std::int64_t> expires_at;
  nlohmann::json metadata = nlohmann::json::object();
  nlohmann::json limits = nlohmann::json::object();
};

/// Metadata of tenants and keys is an object of at most this many members,
inline constexpr std::size_t kMaxMetadataMembers = 64;
/// nesting at most this many levels of objects and arrays (the metadata object is level 1),
inline constexpr std::size_t kMaxMetadataDepth = 5;
/// and at most this many bytes as compact JSON.
inline constexpr std::size_t kMaxMetadataBytes = 16 * 1024;
/// Limits of tenants and keys: at most this many names,
inline constexpr std::size_t kMaxLimits = 64;
/// each at most this many bytes long.
inline constexpr std::size_t kMaxLimitNameBytes = 64;

/// Unix seconds now.
std::int64_t unix_now();

/// A freshly generated key: `sk-e2b-` + 43 characters of base64url (32 random bytes).
std::string generate_key_secret();
/// Hex SHA-256 of a key, the only form that is stored.
std::string key_digest(std::string_view secret);
/// A random id with a readable prefix, e.g. "key_3f9a…".
std::string random_id(std::string_view prefix);

/// Where a listing starts and how long it may be.
struct PageRequest {
  std::string after;  ///< the last id of the previous page; empty = from the start
  int limit = 50;
};

/// Owns the database connection. In the server every call except authenticate() runs on the
/// storage worker thread; authenticate() reads only the in-memory index.
class KeyStore : public KeyDirectory {
 public:
  /// Opens (creating) the database at `path` and applies pending migrations.
  explicit KeyStore(const std::string& path);

  /// The one read-write connection, for other stores running on the same thread.
  db::Database& database() { return db_; }

  /// Throws std::invalid_argument naming the field when one is invalid.
  TenantRecord create_tenant(const std::string& name, nlohmann::json metadata = nlohmann::json::object(),
                             nlohmann::json limits = nlohmann::json::object());
  std::vector<TenantRecord> tenants();
  /// Up to `page.limit` + 1 tenants in id order after `page.after` (the extra one tells that
  /// more follow); deleted ones only when asked.
  std::vector<TenantRecord> tenants(const PageRequest& page, bool include_deleted);
  std::optional<TenantRecord> tenant(const std::string& id);
  /// Writes a tenant's name, status ("active"/"disabled": its keys follow at once), metadata and
  /// limits. Throws std::invalid_argument naming the field when one is invalid.
  void update_tenant(const TenantRecord& tenant);
  /// Keys of the tenant that are not revoked.
  int live_key_count(const std::string& tenant_id);
  /// Marks the tenant deleted and revokes all its keys; rows stay for usage history.
  void delete_tenant(const std::string& id);

  struct CreatedKey {
    KeyRecord key;
    std::string secret;  ///< shown once; never stored
  };
  /// Throws std::invalid_argument naming the field when `request` is invalid.
  CreatedKey create_key(const NewKey& request);
  std::vector<KeyRecord> keys();
  /// A filter on key listings; empty fields match everything.
  struct KeyFilter {
    std::string tenant_id;
    std::string user;
    std::string status;
  };
  /// Up to `page.limit` + 1 matching keys in id order after `page.after`.
  std::vector<KeyRecord> keys(const KeyFilter& filter, const PageRequest& page);
  std::optional<KeyRecord> key(const std::string& id);
  /// Writes a key's user, alias, models, metadata, limits and expiry. Throws
  /// std::invalid_argument naming the field when one is invalid.
  void update_key(const KeyRecord& key);
  /// Sets an active or disabled key's status ("active"/"disabled"). False for an unknown or
  /// revoked key.
  bool set_key_status(const std::string& id, const std::string& status);
  /// Issues a new secret for the same key id; the old one keeps working for `grace_seconds`.
  /// Nullopt for an unknown or revoked key.
  std::optional<std::string> rotate_key(const std::string& id, std::int64_t grace_seconds);
  /// Records an admin write in the audit log (no secrets).
  void audit(const std::string& action, const std::string& target_id, const std::string& actor,
             const std::string& request_id, const nlohmann::json& details = nlohmann::json::object());
  /// Up to `limit` + 1 audit entries, newest first, older than entry id `before` (0 = newest).
  std::vector<AuditEntry> audit_entries(std::int64_t before, int limit);
  /// Revokes at once; the row stays for usage history. Revoking again changes nothing. False for
  /// an unknown id.
  bool revoke_key(const std::string& id);

  /// The identity behind `secret` if it is valid at `now` (unix seconds): an active key, not
  /// expired, of an active tenant.
  std::optional<Principal> authenticate(const KeyDigest& digest, std::int64_t now) const;
  std::optional<Principal> authenticate(const KeyDigest& digest) const override {
    return authenticate(digest, unix_now());
  }
  /// The same, for a plaintext key (hashed here).
  std::optional<Principal> authenticate(std::string_view secret, std::int64_t now = unix_now()) const;
  /// Reloads the in-memory index from the database.
  void reload();

 private:
  struct Entry {
    KeyRecord key;
    std::string tenant_status;
    std::optional<std::int64_t> valid_until;  ///< set for a rotated-out secret in its grace period
  };

  db::Database db_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, Entry> by_digest_;
};

/// Opens (creating it and its directory when missing) the SQLite database at `path`.
std::unique_ptr<KeyStore> open_key_store(const std::filesystem::path& path);

}  // namespace gateway
