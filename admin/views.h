// JSON views of stored rows as the admin API shows them: tenants, keys (never a secret), audit
// entries, usage reports and request-log pages.
#pragma once

#include <nlohmann/json.hpp>

#include "admin/call.h"
#include "storage/storage.h"
#include "storage/usage_store.h"

namespace gateway::admin {

/// A tenant as the API shows it; a deleted tenant's status is "deleted".
nlohmann::json tenant_json(const TenantRecord& t);

/// A key as the API shows it (never its secret), with when it was last used.
nlohmann::json key_json(db::Database& db, const KeyRecord& k);

/// One audit log entry.
nlohmann::json audit_json(const AuditEntry& a);

/// The /v1/me document: from the database for a stored key, from the principal for a key in
/// the configuration (never a secret).
nlohmann::json me_json(const Principal& principal, Storage& store, const LimitStatus& limit_status);

/// The limits that apply to `principal` with their state: {"object":"rate_limits", key_id,
/// tenant_id, enforced, limits: [{name, level, limit, remaining, reset_at, …}]}.
nlohmann::json limits_json(const Principal& principal, const LimitStatus& limit_status);

/// {"object":"usage_report", "group_by", "from", "to", "data":[…], "totals":{…}}; "data" only
/// when the report is grouped.
nlohmann::json usage_report_json(const UsageReport& report);

/// {"object":"list", "data":[…], "has_more", "next_cursor"} of one request-log page.
nlohmann::json request_page_json(const RequestPage& page);

}  // namespace gateway::admin
