// The upstream plugin: answers chat completions by calling E2B Fragments' POST /api/chat and
// streaming the `code` field of its JSON answer to the client as it arrives.
#include <map>

#include "failover_call.h"
#include "gateway/config_reader.h"
#include "gateway/plugin.h"
#include "request_builder.h"

namespace e2b::fragments {
namespace {

using namespace gateway;

const char* const kDefaultChatInstructions =
    "You are chatting with a user. Reply to their latest message in plain text and put the whole "
    "reply in the `code` field, exactly as it should be shown to them.";

struct Settings {
  RequestSettings request;
  AnswerOptions answer;
};

/// The resolved upstream targets, with their weights.
struct Targets {
  std::vector<TargetRequest> requests;
  std::vector<int> weights;
};

class FragmentsPlugin : public Plugin {
 public:
  FragmentsPlugin(Settings settings, std::shared_ptr<Upstreams> upstreams)
      : settings_(std::move(settings)), upstreams_(std::move(upstreams)) {}

  bool is_upstream() const override { return true; }

  std::optional<LocalResponse> on_request_body(RequestContext& ctx) override {
    if (auto error = reject_unsupported(ctx.chat_request())) return error;
    return std::nullopt;
  }

  void call_upstream(RequestContext& ctx, std::shared_ptr<ResponseSink> sink) override {
    const auto& chat = ctx.chat_request();
    const ModelInfo& model = *ctx.model();
    const auto& principal = ctx.principal();
    const std::string user_id = stable_user_id(principal.key_id.empty() ? "anonymous" : principal.key_id);
    auto built = build_fragments_request(chat, model, settings_.request, user_id);
    if (auto* error = std::get_if<LocalResponse>(&built)) {
      sink->fail(*error);
      return;
    }
    auto& body = std::get<FragmentsBody>(built);
    ctx.attributes()["upstream_model"] = model.upstream_id;
    AnswerOptions options = settings_.answer;
    if (body.max_tokens) options.max_tokens = *body.max_tokens;
    std::make_shared<FailoverCall>(upstreams_, ctx, std::move(sink), std::move(body), model.provider_id,
                                   options)
        ->start();
  }

  nlohmann::json upstream_status() const override { return upstreams_->pool().status(WallClock::now()); }

  /// A reload keeps what is known of each target that stays (same base URL).
  void take_over(Plugin& previous) override {
    if (auto* old = dynamic_cast<FragmentsPlugin*>(&previous))
      upstreams_->pool().adopt_health(old->upstreams_->pool());
  }

 private:
  Settings settings_;
  /// Shared with every request in flight, which may outlive a reload of the plugin.
  std::shared_ptr<Upstreams> upstreams_;
};

std::vector<UpstreamTarget> only_target(std::string base_url) {
  UpstreamTarget target;
  target.base_url = std::move(base_url);
  return {std::move(target)};
}

/// The targets: the plugin's own base_url as the only one, else the gateway's upstream targets.
std::vector<UpstreamTarget> chosen_targets(const PluginHost& host, ConfigReader& r) {
  const auto own = r.get<std::string>("base_url", "");
  if (!own.empty()) {
    if (host.upstream_targets.size() > 1) {
      throw PluginConfigError("base_url", "cannot be combined with several upstream.targets");
    }
    return only_target(own);
  }
  if (!host.upstream_targets.empty()) return host.upstream_targets;
  return only_target(host.upstream_defaults.url);
}

/// Where each target's requests go: its URL, the plugin's headers with the target's on top, the
/// plugin's provider keys with the target's on top.
Targets resolve_targets(const std::vector<UpstreamTarget>& targets, const std::string& path,
                        const Headers& extra_headers, const nlohmann::json& provider_api_keys,
                        const std::string& version) {
  Targets resolved;
  for (const auto& target : targets) {
    std::string base = target.base_url;
    if (!base.starts_with("http://") && !base.starts_with("https://")) {
      throw PluginConfigError("base_url", "must start with http:// or https://");
    }
    while (base.ends_with('/')) base.pop_back();
    TargetRequest request;
    request.base_url = base;
    request.url = base + path;
    request.headers = {{"Content-Type", "application/json"},
                       {"Accept", "*/*"},
                       {"Origin", base},
                       {"Referer", base + "/"},
                       {"User-Agent", "e2b-gateway/" + version}};
    for (const auto& [name, value] : extra_headers) set_header(request.headers, name, value);
    for (const auto& [name, value] : target.headers) set_header(request.headers, name, value);
    request.provider_api_keys = provider_api_keys;
    request.provider_api_keys.update(target.provider_api_keys);
    resolved.requests.push_back(std::move(request));
    resolved.weights.push_back(target.weight);
  }
  return resolved;
}

std::unique_ptr<Plugin> make_fragments_plugin(const PluginHost& host, const nlohmann::json& config) {
  ConfigReader r(config);
  Settings s;
  const auto targets = chosen_targets(host, r);
  const std::string path = r.get<std::string>("path", "/api/chat");
  if (!path.starts_with('/')) throw PluginConfigError("path", "must start with /");
  s.request.template_id = r.get<std::string>("template_id", "text");
  if (s.request.template_id.empty()) throw PluginConfigError("template_id", "must not be empty");
  s.request.template_file = r.get<std::string>("template_file", s.request.template_file);
  s.request.chat_instructions = r.get<std::string>("chat_instructions", kDefaultChatInstructions);
  s.request.envelope_tokens = r.get<long long>("envelope_tokens", s.request.envelope_tokens);
  if (s.request.envelope_tokens < 0) throw PluginConfigError("envelope_tokens", "must not be negative");
  const auto provider_api_keys = r.get<nlohmann::json>("provider_api_keys", nlohmann::json::object());
  if (!provider_api_keys.is_object()) {
    throw PluginConfigError("provider_api_keys", "must map provider ids to API keys");
  }
  const auto commentary = r.get<std::string>("commentary", "fallback");
  if (commentary != "fallback" && commentary != "reasoning") {
    throw PluginConfigError("commentary", "must be 'fallback' or 'reasoning'");
  }
  s.answer.commentary_as_reasoning = commentary == "reasoning";
  Headers extra_headers;
  for (const auto& [name, value] : r.get<std::map<std::string, std::string>>("headers", {})) {
    set_header(extra_headers, name, value);
  }
  auto resolved = resolve_targets(targets, path, extra_headers, provider_api_keys, host.gateway_version);
  UpstreamRequest timeouts = host.upstream_defaults;
  timeouts.connect_timeout = r.positive_millis("connect_timeout_ms", timeouts.connect_timeout);
  timeouts.first_byte_timeout = r.positive_millis("first_byte_timeout_ms", timeouts.first_byte_timeout);
  timeouts.idle_timeout = r.positive_millis("idle_timeout_ms", timeouts.idle_timeout);
  r.reject_unknown();
  auto upstreams = std::make_shared<Upstreams>(std::move(resolved.requests), host.log, resolved.weights,
                                               host.upstream_failover, timeouts);
  return std::make_unique<FragmentsPlugin>(std::move(s), std::move(upstreams));
}

}  // namespace
}  // namespace e2b::fragments

GATEWAY_PLUGIN("fragments", &e2b::fragments::make_fragments_plugin)
