// Rate limits and quotas: admits or refuses each chat request against its key's and tenant's
// limits in the request-body phase (after authentication, before anything goes upstream),
// settles the reservation when the request ends, adds the x-ratelimit-* headers to the answer,
// and reports the limits' state for GET /v1/me and the admin API. The logic lives in limiter.h.
#include <algorithm>
#include <memory>

#include "gateway/chat_params.h"
#include "gateway/plugin.h"
#include "limit_headers.h"
#include "limiter.h"
#include "rate_limit_config.h"
#include "refusal.h"

namespace e2b::rate_limit {
namespace {

using namespace gateway;

/// The request attribute that carries the headers from the body phase to the response head.
constexpr const char* kHeadersAttribute = "rate_limit_headers";

class RateLimitPlugin : public Plugin {
 public:
  RateLimitPlugin(RateLimitSettings settings, std::shared_ptr<Limiter> limiter)
      : settings_(std::move(settings)), limiter_(std::move(limiter)) {}

  std::optional<LocalResponse> on_request_body(RequestContext& ctx) override {
    const Principal& principal = ctx.principal();
    if (!principal.authenticated || principal.key_id.empty()) return std::nullopt;
    // Capped so that absurd budgets cannot overflow the counters; any limit refuses them anyway.
    constexpr std::int64_t kMostTokens = std::int64_t{1} << 50;
    const std::int64_t budget =
        requested_max_tokens(ctx.chat_request()).value_or(settings_.default_max_tokens);
    const std::int64_t tokens = std::min(kMostTokens, ctx.prompt_tokens() + std::min(budget, kMostTokens));
    auto admission = limiter_->admit(principal, tokens, Clock::now());
    const auto headers = limit_headers(admission.meters);
    if (!headers.empty()) ctx.attributes()[kHeadersAttribute] = headers;
    if (admission.refusal) {
      ctx.add_event(refusal_event(*admission.refusal));
      return refusal_response(*admission.refusal);
    }
    const Ticket& ticket = *admission.ticket;
    try {
      ctx.on_request_end([limiter = limiter_, ticket](const RequestRecord& record) {
        limiter->settle(ticket, record.usage.prompt_tokens + record.usage.completion_tokens,
                        record.outcome == Outcome::Rejected, Clock::now());
      });
    } catch (...) {
      limiter_->settle(ticket, 0, true, Clock::now());
      throw;
    }
    return std::nullopt;
  }

  void on_response_head(RequestContext& ctx, int /*status*/, Headers& headers) override {
    const auto& attributes = ctx.attributes();
    const auto found = attributes.find(kHeadersAttribute);
    if (found == attributes.end()) return;
    for (const auto& [name, value] : found->get<Headers>()) set_header(headers, name, value);
  }

  /// A reload keeps every counter and concurrency slot: the new settings apply to them at once,
  /// and requests admitted before the reload still release what they hold.
  void take_over(Plugin& previous) override {
    if (auto* running = dynamic_cast<RateLimitPlugin*>(&previous))
      limiter_->share_counters_of(*running->limiter_);
  }

  nlohmann::json limit_status(const Principal& principal) const override {
    const auto now = Clock::now();
    if (principal.key_id.empty()) return nlohmann::json::array();
    return to_json(limiter_->status(principal, now), now);
  }

 private:
  RateLimitSettings settings_;
  std::shared_ptr<Limiter> limiter_;  // shared with the end hooks of requests still in flight
};

std::unique_ptr<Plugin> make_rate_limit_plugin(const PluginHost& host, const nlohmann::json& config) {
  auto settings = parse_rate_limit_settings(config);
  auto limiter = std::make_shared<Limiter>(settings.limiter);
  if (host.usage != nullptr) {
    // A restart gives nobody a fresh day or month: count what was recorded since they began.
    const auto now = Clock::now();
    const auto today = host.usage->usage_since(limiter->calendar().day(now).start);
    const auto month = host.usage->usage_since(limiter->calendar().month(now).start);
    limiter->restore(today, month, now);
    if (host.log) {
      host.log(LogLevel::Info, "rate_limit: quotas reset in " + settings.time_zone +
                                   "; restored the usage of " + std::to_string(month.size()) +
                                   " keys this month");
    }
  }
  return std::make_unique<RateLimitPlugin>(std::move(settings), std::move(limiter));
}

}  // namespace
}  // namespace e2b::rate_limit

GATEWAY_PLUGIN("rate_limit", &e2b::rate_limit::make_rate_limit_plugin)
