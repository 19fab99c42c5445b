// The gateway's SQLite database and the stores that share its one read-write connection:
// tenants, keys, the audit log and the in-memory key index.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "storage/audit_store.h"
#include "storage/key_index.h"
#include "storage/key_store.h"
#include "storage/sqlite.h"
#include "storage/tenant_store.h"

namespace gateway {

/// Owns the connection and the stores. In the server every call except index().authenticate()
/// runs on the storage worker thread.
class Storage {
 public:
  /// Opens (creating) the database at `path`, applies pending migrations and loads the index.
  explicit Storage(const std::string& path);
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  /// The one read-write connection, for other stores running on the same thread.
  db::Database& database() { return db_; }
  TenantStore& tenants() { return tenants_; }
  KeyStore& keys() { return keys_; }
  AuditStore& audit() { return audit_; }
  /// What authentication sees, through KeyDirectory.
  KeyIndex& index() { return index_; }

 private:
  db::Database db_;
  KeyIndex index_{db_};
  TenantStore tenants_{db_, index_};
  KeyStore keys_{db_, index_};
  AuditStore audit_{db_};
};

/// Opens (creating it and its directory when missing) the SQLite database at `path`.
std::unique_ptr<Storage> open_storage(const std::filesystem::path& path);

}  // namespace gateway
