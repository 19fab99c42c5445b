// Admin report handlers: usage totals, the request log and the audit log.
#pragma once

#include "admin/call.h"

namespace gateway::admin {

/// GET /admin/v1/usage: totals grouped by day, model, key, tenant or user.
LocalResponse usage(AdminCall& call);
/// GET /admin/v1/requests: one row per request, newest first, paged by cursor.
LocalResponse requests(AdminCall& call);
/// GET /admin/v1/audit: admin changes, newest first, paged by cursor.
LocalResponse audit(AdminCall& call);

}  // namespace gateway::admin
