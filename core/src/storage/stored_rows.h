// Reading tenant and key rows, and checking the JSON columns written to them: shared by the tenant
// store, the key store, the audit store and the key index. Internal to storage/.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "storage/records.h"
#include "storage/sqlite.h"

namespace gateway::rows {

/// The key columns read_key expects, in order, on an `api_keys k` row.
inline constexpr const char* kKeyColumns =
    "k.id, k.tenant_id, k.user, k.alias, k.prefix, k.status, k.models, k.metadata, k.created_at, "
    "k.expires_at, k.limits";
inline constexpr int kKeyColumnCount = 11;
/// The tenant columns read_tenant expects, in order.
inline constexpr const char* kTenantColumns = "id, name, status, metadata, limits, created_at, deleted_at";

/// Logs, once per process for each row and column, that a stored value could not be read.
void warn_unreadable_once(const std::string& table, const std::string& row_id, const char* column,
                          const std::string& why);
/// A JSON column as stored, or null when it is malformed or nests deeper than kMaxJsonDepth.
nlohmann::json stored_json(const std::string& text, const std::string& table, const std::string& row_id,
                           const char* column);
/// The key whose kKeyColumns start at column `from`.
KeyRecord read_key(db::Statement& q, int from);
/// The tenant of a row of kTenantColumns.
TenantRecord read_tenant(db::Statement& q);
/// Throws std::invalid_argument naming the field unless `value` is an object or null.
void check_object(const nlohmann::json& value, const char* field);
/// Metadata is free-form but small: see kMaxMetadataDepth and its neighbours.
void check_metadata(const nlohmann::json& metadata);
/// Limits are non-negative integers under the names of RateLimits (0 = no limit), read by rate
/// limiting.
void check_limits(const nlohmann::json& limits);

}  // namespace gateway::rows
