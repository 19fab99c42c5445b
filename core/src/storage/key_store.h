// API key rows in SQLite: create, list, read, update, disable, rotate and revoke. Only SHA-256
// digests of keys are stored; a key's plaintext exists once, in create_key's result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/key_index.h"
#include "storage/records.h"
#include "storage/sqlite.h"

namespace gateway {

/// Runs on the storage worker thread; every key change reloads `index`.
class KeyStore {
 public:
  /// `db` and `index` must outlive the store.
  KeyStore(db::Database& db, KeyIndex& index) : db_(db), index_(index) {}

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
  /// Revokes at once; the row stays for usage history. Revoking again changes nothing. False for
  /// an unknown id.
  bool revoke_key(const std::string& id);

 private:
  db::Database& db_;
  KeyIndex& index_;
};

}  // namespace gateway
