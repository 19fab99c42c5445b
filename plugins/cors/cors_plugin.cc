// CORS: answers preflight requests and adds Access-Control-* headers to every response for
// allowed origins. The policy itself lives in cors_policy.h.
#include "cors_policy.h"
#include "gateway/plugin.h"

namespace e2b::cors {
namespace {

using namespace gateway;

class CorsPlugin : public Plugin {
 public:
  explicit CorsPlugin(CorsSettings settings) : settings_(std::move(settings)) {}

  std::optional<LocalResponse> on_request_headers(RequestContext& ctx) override {
    const auto& request = ctx.request();
    if (request.method != "OPTIONS") return std::nullopt;
    return preflight_response(settings_, request.headers);
  }

  void on_response_head(RequestContext& ctx, int /*status*/, Headers& headers) override {
    add_cors_headers(settings_, find_header(ctx.request().headers, "origin"), headers);
  }

 private:
  CorsSettings settings_;
};

std::unique_ptr<Plugin> make_cors_plugin(const PluginHost&, const nlohmann::json& config) {
  return std::make_unique<CorsPlugin>(parse_cors_settings(config));
}

}  // namespace
}  // namespace e2b::cors

GATEWAY_PLUGIN("cors", &e2b::cors::make_cors_plugin)
