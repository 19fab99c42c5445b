// Self-service on the main port, with the caller's own key: GET /v1/me (who the key belongs to,
// what it may do; never the secret) and GET /v1/me/usage (the key's own usage report).
#pragma once

#include "admin/call.h"
#include "server/route_hook.h"
#include "storage/storage_worker.h"

namespace gateway::admin {

/// The self-service routes as a hook for the gateway. Database reads run on `storage` (null:
/// no database, answered with 503); the answer is sent through the hook's reply. `limit_status`
/// reports the caller's limits in GET /v1/me.
RouteHook self_service_routes(StorageWorker* storage, LimitStatus limit_status);

}  // namespace gateway::admin
