// The one rule that says who an answer's failure belongs to, as recorded in the access log and
// the usage row (pure logic).
#pragma once

#include "gateway/plugin.h"

namespace gateway {

/// Who decided an error answer.
enum class AnswerSource {
  Gateway,   ///< the gateway or a request-phase plugin, before anything went upstream
  Upstream,  ///< the upstream plugin, through ResponseSink::fail
};

/// The outcome recorded for an answer sent with HTTP `status`:
///  - below 400: `completed`, the request was answered (a CORS preflight's 204 included);
///  - 504: `timeout`, the upstream ran out of time (connect, first byte, idle);
///  - 429: `upstream_error` from the upstream plugin (the upstream's own limit), `rejected` from
///    the gateway (the client's rate limit or quota);
///  - any other 4xx, and 501/505 (an HTTP feature the client asked for and the gateway lacks):
///    `rejected`, the client's request was refused;
///  - any other 5xx: `upstream_error`, the serving side failed: the upstream, or the gateway
///    itself (`internal_error`, `no_upstream`); the error code says which.
/// Set where they happen, not told by a status: `client_cancelled` (the client left), and
/// the shutdown: a new chat refused during the drain is `rejected`, an answer ended by the end
/// of the grace period is `timeout`.
Outcome outcome_for_status(int status, AnswerSource source);

}  // namespace gateway
