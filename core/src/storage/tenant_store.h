// Tenant rows in SQLite: create, list, read, update and soft-delete (revoking their keys).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/key_index.h"
#include "storage/records.h"
#include "storage/sqlite.h"

namespace gateway {

/// Runs on the storage worker thread; changes that affect authentication reload `index`.
class TenantStore {
 public:
  /// `db` and `index` must outlive the store.
  TenantStore(db::Database& db, KeyIndex& index) : db_(db), index_(index) {}

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

 private:
  db::Database& db_;
  KeyIndex& index_;
};

}  // namespace gateway
