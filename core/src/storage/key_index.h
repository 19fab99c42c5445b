// The in-memory index of live keys by digest behind KeyDirectory::authenticate: rebuilt from the
// database by reload() after every key or tenant change, read without touching the database.
#pragma once

#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "gateway/plugin.h"
#include "storage/records.h"
#include "storage/sqlite.h"

namespace gateway {

/// The identity a request with `key` gets, its tenant's limits included.
Principal principal_of(const KeyRecord& key, const RateLimits& tenant_limits);

/// reload() runs on the storage worker thread; authenticate() may run on any thread.
class KeyIndex : public KeyDirectory {
 public:
  /// Reads keys through `db`, which must outlive the index. The index starts empty.
  explicit KeyIndex(db::Database& db) : db_(db) {}

  /// The identity behind `digest` if it is valid at `now` (unix seconds): an active key, not
  /// expired, of an active tenant.
  std::optional<Principal> authenticate(const KeyDigest& digest, std::int64_t now) const;
  std::optional<Principal> authenticate(const KeyDigest& digest) const override {
    return authenticate(digest, unix_now());
  }
  /// The same, for a plaintext key (hashed here).
  std::optional<Principal> authenticate(std::string_view secret, std::int64_t now = unix_now()) const;
  /// Reloads the index from the database.
  void reload();

 private:
  struct Entry {
    Principal principal;  ///< what authenticate() answers
    std::string key_status;
    std::optional<std::int64_t> expires_at;
    std::string tenant_status;
    std::optional<std::int64_t> valid_until;  ///< set for a rotated-out secret in its grace period
  };

  db::Database& db_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, Entry> by_digest_;
};

}  // namespace gateway
