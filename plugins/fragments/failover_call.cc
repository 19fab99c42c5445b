// A request's attempts: pick a target, send, and on a failure before any output try another.
#include "failover_call.h"

#include "answer_stream.h"
#include "error_mapping.h"

namespace e2b::fragments {

using namespace gateway;

Upstreams::Upstreams(std::vector<TargetRequest> targets, TargetPool::Log log, const std::vector<int>& weights,
                     const UpstreamFailover& failover, const UpstreamRequest& timeouts)
    : targets_(std::move(targets)),
      pool_(
          [this] {
            std::vector<std::string> urls;
            for (const auto& target : targets_) urls.push_back(target.base_url);
            return urls;
          }(),
          weights, failover, std::move(log)),
      failover_(failover),
      timeouts_(timeouts) {}

double Upstreams::unit_random() {
  std::lock_guard lock(random_mutex_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(random_);
}

FailoverCall::FailoverCall(std::shared_ptr<Upstreams> upstreams, RequestContext& ctx,
                           std::shared_ptr<ResponseSink> sink, FragmentsBody body, std::string provider_id,
                           AnswerOptions options)
    : upstreams_(std::move(upstreams)),
      ctx_(ctx),
      sink_(std::move(sink)),
      body_(std::move(body)),
      provider_id_(std::move(provider_id)),
      options_(options),
      request_id_(ctx.request_id()),
      tried_(upstreams_->targets().size(), false) {}

void FailoverCall::start() {
  const auto now = WallClock::now();
  auto& pool = upstreams_->pool();
  auto target = pool.pick(tried_, now);
  if (!target) target = pool.pick_past_open_circuits(now);
  if (!target) {
    // Every target waits for its own daily limit to reset: answer at once rather than hold the
    // client (OpenAI clients retry on a 429 with Retry-After).
    sink_->fail(rate_limit_refusal(pool.usable_again(now), now));
    return;
  }
  launch(*target, std::chrono::milliseconds(0));
}

void FailoverCall::launch(std::size_t target, std::chrono::milliseconds delay) {
  tried_[target] = true;
  ++attempts_;
  const TargetRequest& where = upstreams_->targets()[target];
  UpstreamRequest request = upstreams_->timeouts();
  request.url = where.url;
  request.headers = where.headers;
  request.headers.emplace_back("X-Request-ID", request_id_);
  request.body = body_.with_provider_key(where.provider_api_keys, provider_id_);
  request.start_delay = delay;
  ctx_.fetch(std::move(request), std::make_shared<AnswerStream>(shared_from_this(), target, sink_, options_));
}

void FailoverCall::answered(std::size_t target) {
  upstreams_->pool().succeeded(target, WallClock::now());
  // After a 200 head nothing is retried (the client has its answer's head), so the request
  // body would only be held for the rest of a possibly long stream.
  body_ = FragmentsBody();
}

void FailoverCall::attempt_failed(std::size_t target, int status, UpstreamEnd end, const Headers& headers,
                                  LocalResponse error, bool output_sent) {
  const auto now = WallClock::now();
  auto& pool = upstreams_->pool();
  const auto name = failure_name(status, end);
  const auto limited_until = status == 429 ? rate_limit_end(headers, now) : std::nullopt;
  if (limited_until) {
    pool.cool_down(target, *limited_until, name, now);
  } else {
    pool.failed(target, name, now, target_fault(status, end));
  }
  // A provider's or a request's fault (500, 529, a 429 without a reset) would repeat on the same
  // deployment; another one may have other provider keys.
  if (!output_sent && retryable(status, end) && retry(!target_fault(status, end))) return;
  sink_->fail(std::move(error));  // the last attempt's error, as one attempt would have it
}

bool FailoverCall::retry(bool elsewhere) {
  const auto pause = next_retry(upstreams_->failover(), attempts_, backoff_spent_, upstreams_->unit_random());
  if (!pause) return false;
  const auto target = upstreams_->pool().pick(tried_, WallClock::now(), elsewhere);
  if (!target) return false;
  backoff_spent_ += *pause;
  try {
    launch(*target, *pause);
  } catch (const std::exception&) {
    return false;  // the request cannot go upstream again: the client gets the last error
  }
  return true;
}

}  // namespace e2b::fragments
