// The one rule that says who an answer's failure belongs to, as recorded in the access log and
// the usage row (pure logic).
#pragma once

#include "gateway/plugin.h"

namespace gateway {

/// The outcome recorded for an answer the gateway sends with HTTP `status`, whoever decided it
/// (the gateway, a request-phase plugin, or the upstream plugin through ResponseSink::fail):
///  - below 400: `completed`, the request was answered (a CORS preflight's 204 included);
///  - 504: `timeout`, the upstream ran out of time (connect, first byte, idle);
///  - 429: `upstream_error`, the upstream's rate limit (the gateway has no limiter of its own);
///  - any other 4xx, and 501/505 (an HTTP feature the client asked for and the gateway lacks):
///    `rejected`, the client's request was refused;
///  - any other 5xx: `upstream_error`, the serving side failed: the upstream, or the gateway
///    itself (`internal_error`, `no_upstream`, `server_shutting_down`); the error code says which.
/// Two outcomes are not told by a status and are set where they happen: `client_cancelled`
/// (the client left) and the shutdown grace period ending an answer (`timeout`).
Outcome outcome_for_status(int status);

}  // namespace gateway
