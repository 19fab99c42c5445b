// Settings, preflight answers and origin matching of the CORS plugin.
#include "cors_policy.h"

#include <algorithm>

#include "gateway/config_reader.h"

namespace e2b::cors {
namespace {

using namespace gateway;

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

bool lists(const std::vector<std::string>& origins, const std::string& origin) {
  return std::find(origins.begin(), origins.end(), origin) != origins.end();
}

}  // namespace

CorsSettings parse_cors_settings(const nlohmann::json& config) {
  ConfigReader r(config);
  CorsSettings s;
  s.origins = r.get<std::vector<std::string>>("allow_origins", {"*"});
  if (s.origins.empty()) throw PluginConfigError("allow_origins", "must list at least one origin (or \"*\")");
  s.methods = join(r.get<std::vector<std::string>>("allow_methods", {"GET", "POST", "OPTIONS"}));
  s.headers = join(r.get<std::vector<std::string>>("allow_headers", {"*"}));
  s.expose = join(r.get<std::vector<std::string>>("expose_headers", {"X-Request-ID", "Retry-After"}));
  s.max_age = r.get<long>("max_age_seconds", s.max_age);
  if (s.max_age < 0) throw PluginConfigError("max_age_seconds", "must not be negative");
  s.credentials = r.get<bool>("allow_credentials", false);
  r.reject_unknown();
  return s;
}

LocalResponse preflight_response(const CorsSettings& settings, const Headers& request_headers) {
  LocalResponse preflight{204, {}, ""};
  preflight.headers.emplace_back("Access-Control-Allow-Methods", settings.methods);
  const auto asked = find_header(request_headers, "access-control-request-headers");
  preflight.headers.emplace_back("Access-Control-Allow-Headers",
                                 settings.headers == "*" && asked ? *asked : settings.headers);
  preflight.headers.emplace_back("Access-Control-Max-Age", std::to_string(settings.max_age));
  return preflight;
}

void add_cors_headers(const CorsSettings& settings, const std::optional<std::string>& origin,
                      Headers& headers) {
  const bool any = lists(settings.origins, "*");
  if (any && !settings.credentials) {
    set_header(headers, "Access-Control-Allow-Origin", "*");
  } else if (origin && (any || lists(settings.origins, *origin))) {
    set_header(headers, "Access-Control-Allow-Origin", *origin);
    headers.emplace_back("Vary", "Origin");
    if (settings.credentials) set_header(headers, "Access-Control-Allow-Credentials", "true");
  } else {
    return;
  }
  if (!settings.expose.empty()) set_header(headers, "Access-Control-Expose-Headers", settings.expose);
}

}  // namespace e2b::cors
