// The CORS plugin's policy as plain functions: its settings, the preflight answer and the
// Access-Control-* headers a response gets for the request's origin.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "gateway/plugin.h"

namespace e2b::cors {

/// What config.yaml allows; lists are already joined into header values.
struct CorsSettings {
  std::vector<std::string> origins;  ///< "*" allows every origin
  std::string methods;
  std::string headers;  ///< "*" echoes what the preflight asks for
  std::string expose;
  long max_age = 86400;
  bool credentials = false;
};

/// Reads the plugin's configuration; throws PluginConfigError naming a bad field.
CorsSettings parse_cors_settings(const nlohmann::json& config);

/// The 204 answer to a preflight (OPTIONS) request with headers `request_headers`.
gateway::LocalResponse preflight_response(const CorsSettings& settings,
                                          const gateway::Headers& request_headers);

/// Adds the Access-Control-* headers for a request from `origin` (none when it is not allowed).
void add_cors_headers(const CorsSettings& settings, const std::optional<std::string>& origin,
                      gateway::Headers& headers);

}  // namespace e2b::cors
