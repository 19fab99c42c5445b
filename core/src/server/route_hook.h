// The hook through which code outside the core (the admin module's self-service reports) serves
// extra paths on the gateway's main port, after the request phase has authenticated the caller.
#pragma once

#include <functional>
#include <string>

#include "gateway/plugin.h"

namespace gateway {

/// Sends a request's one answer; callable from any thread.
using Reply = std::function<void(LocalResponse)>;

/// Takes a request whose path it serves and answers it through `reply`; returns false, without
/// answering, for any other path.
using RouteHook =
    std::function<bool(const HttpRequest& request, const Principal& principal, const Reply& reply)>;

}  // namespace gateway
