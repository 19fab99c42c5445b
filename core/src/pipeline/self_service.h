// Self-service on the main port, with the caller's own key: GET /v1/me (who the key belongs to,
// what it may do; never the secret) and GET /v1/me/usage (the key's own usage report).
#pragma once

#include <memory>

#include "pipeline/request_state.h"

namespace gateway {

/// Whether `path` is a self-service route.
bool is_self_service_path(const std::string& path);

/// Answers a self-service request whose caller the plugin chain has authenticated. Database
/// reads run on the storage worker; the answer is posted back to the request's reactor.
void serve_self_service(const std::shared_ptr<RequestState>& ctx, GatewayServices& services);

}  // namespace gateway
