// The upstream plugin: answers chat completions by calling E2B Fragments' POST /api/chat and
// streaming the `code` field of its JSON answer to the client as it arrives.
#include <chrono>

#include "error_mapping.h"
#include "fragment_stream_parser.h"
#include "gateway/config_reader.h"
#include "gateway/plugin.h"
#include "request_builder.h"

namespace e2b::fragments {
namespace {

using namespace gateway;

constexpr std::size_t kMaxErrorBody = 16 * 1024;

const char* const kDefaultChatInstructions =
    "You are chatting with a user. Reply to their latest message in plain text and put the whole "
    "reply in the `code` field, exactly as it should be shown to them.";

struct Settings {
  std::string url;
  RequestSettings request;
  bool commentary_as_reasoning = false;
  Headers headers;
  UpstreamRequest timeouts;
};

/// Feeds one Fragments answer to the client's ResponseSink (runs on the upstream I/O thread).
class AnswerStream : public UpstreamObserver {
 public:
  AnswerStream(std::shared_ptr<ResponseSink> sink, bool commentary_as_reasoning,
               std::optional<long long> max_tokens, std::shared_ptr<UpstreamCooldown> cooldown)
      : sink_(std::move(sink)),
        commentary_as_reasoning_(commentary_as_reasoning),
        max_tokens_(max_tokens),
        cooldown_(std::move(cooldown)) {}

  void on_head(int status, const Headers& headers) override {
    status_ = status;
    headers_ = headers;
    cooldown_->note(status, headers, std::chrono::system_clock::now());
    if (status_ == 200) sink_->start();
  }

  void on_body(std::string_view bytes) override {
    if (status_ != 200) {
      error_body_.append(bytes.substr(0, kMaxErrorBody - std::min(kMaxErrorBody, error_body_.size())));
      return;
    }
    body_bytes_ += bytes.size();
    emit(parser_.feed(bytes));
  }

  void on_end(UpstreamEnd end, std::string_view detail) override {
    if (status_ != 200 && status_ != 0 && end == UpstreamEnd::Complete) {
      sink_->fail(map_upstream_status(status_, headers_, error_body_, std::chrono::system_clock::now()));
      return;
    }
    if (end != UpstreamEnd::Complete) {
      sink_->fail(map_transport_failure(end, std::string(detail)));
      return;
    }
    auto outcome = parser_.finish();
    emit(outcome.rest);
    switch (outcome.shape) {
      case BodyShape::CompleteObject:
        if (!sent_code_) {
          if (commentary_.empty()) {
            sink_->fail(
                openai_error(502, "upstream_error", "empty_answer", "The model returned an empty answer"));
            return;
          }
          sink_->delta({commentary_, ""});
        }
        sink_->finish(FinishReason::Stop);
        return;
      case BodyShape::NotJson:
        if (outcome.fallback.empty()) break;
        sink_->delta({outcome.fallback, ""});
        sink_->finish(FinishReason::Stop);
        return;
      case BodyShape::TruncatedObject:
        if (outcome.syntax_error && !outcome.fallback.empty() && !sent_code_) {
          sink_->delta({outcome.fallback, ""});
          sink_->finish(FinishReason::Stop);
          return;
        }
        if (cut_by_max_tokens()) {
          if (!sent_code_ && !commentary_.empty()) sink_->delta({commentary_, ""});
          sink_->finish(FinishReason::Length);
          return;
        }
        sink_->fail(openai_error(502, "upstream_error", "incomplete_answer",
                                 "The model's answer ended before it was complete"));
        return;
      case BodyShape::Empty:
        break;
    }
    sink_->fail(openai_error(502, "upstream_error", "empty_answer", "The model returned an empty answer"));
  }

 private:
  void emit(const ParsedText& text) {
    if (!text.commentary.empty()) {
      if (commentary_as_reasoning_) sink_->delta({"", text.commentary});
      commentary_ += text.commentary;
    }
    if (!text.code.empty()) {
      sent_code_ = true;
      sink_->delta({text.code, ""});
    }
  }

  /// Fragments gives no finish reason; an object cut off near the token budget was cut by it.
  bool cut_by_max_tokens() const {
    if (!max_tokens_) return false;
    constexpr double kBytesPerToken = 3.0;  // conservative for JSON text
    return static_cast<double>(body_bytes_) / kBytesPerToken >= 0.8 * static_cast<double>(*max_tokens_);
  }

  std::shared_ptr<ResponseSink> sink_;
  const bool commentary_as_reasoning_;
  const std::optional<long long> max_tokens_;
  const std::shared_ptr<UpstreamCooldown> cooldown_;
  int status_ = 0;
  Headers headers_;
  std::string error_body_;
  FragmentStreamParser parser_;
  std::string commentary_;
  bool sent_code_ = false;
  std::size_t body_bytes_ = 0;
};

class FragmentsPlugin : public Plugin {
 public:
  explicit FragmentsPlugin(Settings settings) : settings_(std::move(settings)) {}

  bool is_upstream() const override { return true; }

  std::optional<LocalResponse> on_request_body(RequestContext& ctx) override {
    if (auto error = reject_unsupported(ctx.chat_request())) return error;
    return std::nullopt;
  }

  void call_upstream(RequestContext& ctx, std::shared_ptr<ResponseSink> sink) override {
    if (auto refusal = cooldown_->refusal(std::chrono::system_clock::now())) {
      sink->fail(std::move(*refusal));  // an upstream limit: recorded as upstream_error
      return;
    }
    const auto& chat = ctx.chat_request();
    const ModelInfo& model = *ctx.model();
    const auto& principal = ctx.principal();
    const std::string user_id = stable_user_id(principal.key_id.empty() ? "anonymous" : principal.key_id);
    auto built = build_fragments_request(chat, model, settings_.request, user_id);
    if (auto* error = std::get_if<LocalResponse>(&built)) {
      sink->fail(*error);
      return;
    }
    const auto& body = std::get<nlohmann::json>(built);
    ctx.attributes()["upstream_model"] = model.upstream_id;

    UpstreamRequest request = settings_.timeouts;
    request.url = settings_.url;
    request.headers = settings_.headers;
    request.headers.emplace_back("X-Request-ID", ctx.request_id());
    request.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::optional<long long> max_tokens;
    if (body["config"].contains("maxTokens")) max_tokens = body["config"]["maxTokens"].get<long long>();
    ctx.fetch(std::move(request),
              std::make_shared<AnswerStream>(std::move(sink), settings_.commentary_as_reasoning, max_tokens,
                                             cooldown_));
  }

 private:
  Settings settings_;
  /// Shared with every answer in flight, which may outlive a reload of the plugin.
  std::shared_ptr<UpstreamCooldown> cooldown_ = std::make_shared<UpstreamCooldown>();
};

std::unique_ptr<Plugin> make_fragments_plugin(const PluginHost& host, const nlohmann::json& config) {
  ConfigReader r(config);
  Settings s;
  std::string base = r.get<std::string>("base_url", host.upstream_defaults.url);
  if (!base.starts_with("http://") && !base.starts_with("https://")) {
    throw PluginConfigError("base_url", "must start with http:// or https://");
  }
  while (base.ends_with('/')) base.pop_back();
  const std::string path = r.get<std::string>("path", "/api/chat");
  if (!path.starts_with('/')) throw PluginConfigError("path", "must start with /");
  s.url = base + path;
  s.request.template_id = r.get<std::string>("template_id", "text");
  if (s.request.template_id.empty()) throw PluginConfigError("template_id", "must not be empty");
  s.request.template_file = r.get<std::string>("template_file", s.request.template_file);
  s.request.chat_instructions = r.get<std::string>("chat_instructions", kDefaultChatInstructions);
  s.request.envelope_tokens = r.get<long long>("envelope_tokens", s.request.envelope_tokens);
  if (s.request.envelope_tokens < 0) throw PluginConfigError("envelope_tokens", "must not be negative");
  s.request.provider_api_keys = r.get<nlohmann::json>("provider_api_keys", nlohmann::json::object());
  if (!s.request.provider_api_keys.is_object()) {
    throw PluginConfigError("provider_api_keys", "must map provider ids to API keys");
  }
  const auto commentary = r.get<std::string>("commentary", "fallback");
  if (commentary != "fallback" && commentary != "reasoning") {
    throw PluginConfigError("commentary", "must be 'fallback' or 'reasoning'");
  }
  s.commentary_as_reasoning = commentary == "reasoning";
  s.headers = {{"Content-Type", "application/json"},
               {"Accept", "*/*"},
               {"Origin", base},
               {"Referer", base + "/"},
               {"User-Agent", "e2b-gateway/" + host.gateway_version}};
  const auto extra = r.get<std::map<std::string, std::string>>("headers", {});
  for (const auto& [name, value] : extra) set_header(s.headers, name, value);
  s.timeouts = host.upstream_defaults;
  s.timeouts.connect_timeout = r.positive_millis("connect_timeout_ms", s.timeouts.connect_timeout);
  s.timeouts.first_byte_timeout = r.positive_millis("first_byte_timeout_ms", s.timeouts.first_byte_timeout);
  s.timeouts.idle_timeout = r.positive_millis("idle_timeout_ms", s.timeouts.idle_timeout);
  r.reject_unknown();
  return std::make_unique<FragmentsPlugin>(std::move(s));
}

}  // namespace
}  // namespace e2b::fragments

GATEWAY_PLUGIN("fragments", &e2b::fragments::make_fragments_plugin)
