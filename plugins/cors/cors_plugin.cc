// CORS: answers preflight requests and adds Access-Control-* headers to every response for
// allowed origins.
#include <algorithm>

#include "gateway/config_reader.h"
#include "gateway/plugin.h"

namespace e2b::cors {
namespace {

using namespace gateway;

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

struct Settings {
  std::vector<std::string> origins;
  std::string methods;
  std::string headers;
  std::string expose;
  long max_age = 86400;
  bool credentials = false;
};

class CorsPlugin : public Plugin {
 public:
  explicit CorsPlugin(Settings s) : s_(std::move(s)) {}

  std::optional<LocalResponse> on_request_headers(RequestContext& ctx) override {
    const auto& request = ctx.request();
    if (request.method != "OPTIONS") return std::nullopt;
    LocalResponse preflight{204, {}, ""};
    preflight.headers.emplace_back("Access-Control-Allow-Methods", s_.methods);
    const auto asked = find_header(request.headers, "access-control-request-headers");
    preflight.headers.emplace_back("Access-Control-Allow-Headers",
                                   s_.headers == "*" && asked ? *asked : s_.headers);
    preflight.headers.emplace_back("Access-Control-Max-Age", std::to_string(s_.max_age));
    return preflight;
  }

  void on_response_head(RequestContext& ctx, int /*status*/, Headers& headers) override {
    const auto origin = find_header(ctx.request().headers, "origin");
    const bool any = std::find(s_.origins.begin(), s_.origins.end(), "*") != s_.origins.end();
    if (any && !s_.credentials) {
      set_header(headers, "Access-Control-Allow-Origin", "*");
    } else if (origin &&
               (any || std::find(s_.origins.begin(), s_.origins.end(), *origin) != s_.origins.end())) {
      set_header(headers, "Access-Control-Allow-Origin", *origin);
      headers.emplace_back("Vary", "Origin");
      if (s_.credentials) set_header(headers, "Access-Control-Allow-Credentials", "true");
    } else {
      return;
    }
    if (!s_.expose.empty()) set_header(headers, "Access-Control-Expose-Headers", s_.expose);
  }

 private:
  Settings s_;
};

std::unique_ptr<Plugin> make_cors_plugin(const PluginHost&, const nlohmann::json& config) {
  ConfigReader r(config);
  Settings s;
  s.origins = r.get<std::vector<std::string>>("allow_origins", {"*"});
  if (s.origins.empty()) throw PluginConfigError("allow_origins", "must list at least one origin (or \"*\")");
  s.methods = join(r.get<std::vector<std::string>>("allow_methods", {"GET", "POST", "OPTIONS"}));
  s.headers = join(r.get<std::vector<std::string>>("allow_headers", {"*"}));
  s.expose = join(r.get<std::vector<std::string>>("expose_headers", {"X-Request-ID", "Retry-After"}));
  s.max_age = r.get<long>("max_age_seconds", s.max_age);
  if (s.max_age < 0) throw PluginConfigError("max_age_seconds", "must not be negative");
  s.credentials = r.get<bool>("allow_credentials", false);
  r.reject_unknown();
  return std::make_unique<CorsPlugin>(std::move(s));
}

}  // namespace
}  // namespace e2b::cors

GATEWAY_PLUGIN("cors", &e2b::cors::make_cors_plugin)
