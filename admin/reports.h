// Reports: the usage and request-log query parsing shared with self-service, and the admin
// handlers for usage totals, the request log and the audit log.
#pragma once

#include "admin/call.h"
#include "storage/usage_store.h"

namespace gateway::admin {

/// Parses the `from`/`to` query values: "YYYY-MM-DD" (UTC; as `to` it means the end of that
/// day), "YYYY-MM-DDTHH:MM:SSZ" or unix seconds. Throws std::invalid_argument naming the field.
TimeRange parse_time_range(const std::optional<std::string>& from, const std::optional<std::string>& to);

/// The dimensions named by a `group_by` query value ("day,model"); each must be in `allowed`.
/// Throws std::invalid_argument naming group_by otherwise.
std::vector<std::string> parse_group_by(const std::string& list,
                                        const std::vector<std::string>& allowed = usage_dimensions());

/// GET /admin/v1/usage: totals grouped by day, model, key, tenant or user.
LocalResponse usage(AdminCall& call);
/// GET /admin/v1/requests: one row per request, newest first, paged by cursor.
LocalResponse requests(AdminCall& call);
/// GET /admin/v1/audit: admin changes, newest first, paged by cursor.
LocalResponse audit(AdminCall& call);

}  // namespace gateway::admin
