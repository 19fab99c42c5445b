// An example third-party plugin, built outside plugins/ against nothing but the public plugin
// API: it stamps configured headers on every response and can refuse requests that carry a
// given header. Load it by adding `{name: response_header, path: …/response_header.so}` to
// config.yaml's plugin list.
#include "gateway/config_reader.h"
#include "gateway/plugin.h"

namespace example {
namespace {

class ResponseHeaderPlugin : public gateway::Plugin {
 public:
  ResponseHeaderPlugin(std::map<std::string, std::string> headers, std::string deny_header)
      : headers_(std::move(headers)), deny_header_(std::move(deny_header)) {}

  std::optional<gateway::LocalResponse> on_request_headers(gateway::RequestContext& ctx) override {
    if (!deny_header_.empty() && gateway::find_header(ctx.request().headers, deny_header_)) {
      return gateway::openai_error(403, "invalid_request_error", "denied_by_plugin",
                                   "Requests carrying " + deny_header_ + " are refused");
    }
    return std::nullopt;
  }

  void on_response_head(gateway::RequestContext&, int, gateway::Headers& headers) override {
    for (const auto& [name, value] : headers_) gateway::set_header(headers, name, value);
  }

 private:
  std::map<std::string, std::string> headers_;
  std::string deny_header_;
};

std::unique_ptr<gateway::Plugin> make_plugin(const gateway::PluginHost&, const nlohmann::json& config) {
  gateway::ConfigReader r(config);
  auto headers = r.require<std::map<std::string, std::string>>("headers");
  auto deny = r.get<std::string>("deny_header", "");
  r.reject_unknown();
  return std::make_unique<ResponseHeaderPlugin>(std::move(headers), std::move(deny));
}

}  // namespace
}  // namespace example

GATEWAY_PLUGIN("response_header", &example::make_plugin)
