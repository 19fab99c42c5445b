// The audit log of admin changes in SQLite: appending entries and reading them newest first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/records.h"
#include "storage/sqlite.h"

namespace gateway {

/// Runs on the storage worker thread.
class AuditStore {
 public:
  /// `db` must outlive the store.
  explicit AuditStore(db::Database& db) : db_(db) {}

  /// Records an admin write in the audit log (no secrets).
  void audit(const std::string& action, const std::string& target_id, const std::string& actor,
             const std::string& request_id, const nlohmann::json& details = nlohmann::json::object());
  /// Up to `limit` + 1 audit entries, newest first, older than entry id `before` (0 = newest).
  std::vector<AuditEntry> audit_entries(std::int64_t before, int limit);

 private:
  db::Database& db_;
};

}  // namespace gateway
