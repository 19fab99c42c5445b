// What the client is told when Fragments or the connection to it fails (pure logic).
#pragma once

#include <chrono>
#include <string>

#include "gateway/plugin.h"

namespace e2b::fragments {

/// Maps a non-200 Fragments response (status, headers, plain-text body) to an OpenAI error.
/// `now` is used to turn x-ratelimit-reset (epoch ms) into Retry-After seconds.
gateway::LocalResponse map_upstream_status(int status, const gateway::Headers& headers,
                                           const std::string& body,
                                           std::chrono::system_clock::time_point now);

/// Maps a transport failure (no usable HTTP answer) to an OpenAI error.
gateway::LocalResponse map_transport_failure(gateway::UpstreamEnd end, const std::string& detail);

}  // namespace e2b::fragments
