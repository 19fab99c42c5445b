// The id each request is known by in logs, usage rows, audit entries and the X-Request-ID header.
#pragma once

#include <string>

#include "gateway/http_types.h"

namespace gateway {

/// The client's X-Request-ID when it is a sane token, else a fresh random id ("req_" + 24 hex).
std::string choose_request_id(const Headers& headers);

}  // namespace gateway
