// JSON views of stored rows as the admin API shows them: tenants, keys (never a secret) and
// audit entries.
#pragma once

#include <nlohmann/json.hpp>

#include "storage/storage.h"

namespace gateway::admin {

/// A tenant as the API shows it; a deleted tenant's status is "deleted".
nlohmann::json tenant_json(const TenantRecord& t);

/// A key as the API shows it (never its secret), with when it was last used.
nlohmann::json key_json(db::Database& db, const KeyRecord& k);

/// One audit log entry.
nlohmann::json audit_json(const AuditEntry& a);

/// The /v1/me document: from the database for a stored key, from the principal for a key in
/// the configuration (never a secret).
nlohmann::json me_json(const Principal& principal, Storage& store);

}  // namespace gateway::admin
