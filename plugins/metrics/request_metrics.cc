// Observing finished requests (see request_metrics.h).
#include "request_metrics.h"

#include <algorithm>
#include <chrono>
#include <string_view>

namespace e2b::metrics {
namespace {

using gateway::Outcome;
using gateway::RequestRecord;
using gateway::Route;
using prometheus::Counter;
using prometheus::Histogram;

template <typename Rep, typename Period>
double seconds(std::chrono::duration<Rep, Period> duration) {
  return std::chrono::duration<double>(duration).count();
}

prometheus::Family<Counter>& counter_family(prometheus::Registry& registry, const std::string& name,
                                            const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

prometheus::Family<Histogram>& histogram_family(prometheus::Registry& registry, const std::string& name,
                                                const std::string& help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(registry);
}

/// The value of the event label `name`, bounded; `other` when the plugin gave none.
std::string event_label(const gateway::RequestEvent& event, std::string_view name) {
  for (const auto& [key, value] : event.labels) {
    if (key == name) return bounded_label(value);
  }
  return kOtherLabel;
}

}  // namespace

Histogram::BucketBoundaries HistogramBounds::request_duration() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300};
}
Histogram::BucketBoundaries HistogramBounds::time_to_first_token() {
  return {0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 20, 30, 60};
}
Histogram::BucketBoundaries HistogramBounds::time_per_output_token() {
  return {0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1};
}
Histogram::BucketBoundaries HistogramBounds::overhead() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
}

RequestMetrics::RequestMetrics(prometheus::Registry& registry, const gateway::ModelCatalog* catalog,
                               bool tenant_labels)
    : catalog_(catalog),
      tenant_labels_(tenant_labels),
      requests_(counter_family(registry, "gateway_requests_total",
                               "Requests answered, by route, model and HTTP status."),
                {"route", "model", "status"}),
      durations_(histogram_family(registry, "gateway_request_duration_seconds",
                                  "Time from the complete request head to the end of the answer."),
                 {"route", "model", "stream"}, HistogramBounds::request_duration()),
      overhead_(histogram_family(registry, "gateway_overhead_duration_seconds",
                                 "Time a request spent in the gateway itself, not waiting for the upstream."),
                {"route"}, HistogramBounds::overhead()),
      time_to_first_token_(histogram_family(registry, "gateway_time_to_first_token_seconds",
                                            "Time from the request to the first piece of model output."),
                           {"model"}, HistogramBounds::time_to_first_token()),
      time_per_output_token_(histogram_family(registry, "gateway_time_per_output_token_seconds",
                                              "Time per output token after the first, of completed answers."),
                             {"model"}, HistogramBounds::time_per_output_token()),
      tokens_(counter_family(registry, "gateway_tokens_total", "Tokens of chat requests, by model and type."),
              tenant_labels ? std::vector<std::string>{"model", "type", "tenant"}
                            : std::vector<std::string>{"model", "type"}),
      upstream_errors_(
          counter_family(registry, "gateway_upstream_errors_total",
                         "Chat requests that failed upstream or timed out, by the error code sent."),
          {"model", "code"}),
      rate_limited_(counter_family(registry, "gateway_rate_limited_total",
                                   "Requests refused by a rate limit or quota, by limit and level."),
                    tenant_labels ? std::vector<std::string>{"limit", "level", "tenant"}
                                  : std::vector<std::string>{"limit", "level"}),
      constraints_adjusted_(counter_family(registry, "gateway_constraints_adjusted_total",
                                           "Parameters the constraints set, changed or refused, by policy."),
                            {"param", "policy"}) {
  auto& outcomes = counter_family(registry, "gateway_outcomes_total", "Chat requests by how they ended.");
  for (std::size_t i = 0; i < outcomes_.size(); ++i) {
    outcomes_[i] = &outcomes.Add({{"outcome", gateway::outcome_name(gateway::kAllOutcomes[i])}});
  }
}

void RequestMetrics::observe(const RequestRecord& record) {
  const char* route = route_label(record.route);
  const bool chat = record.route == Route::ChatCompletions;
  const std::string model = chat ? model_label(record.model, catalog_) : kNoneLabel;
  requests_.at({route, model, status_label(record.status)}).Increment();
  durations_.at({route, model, record.stream ? "true" : "false"}).Observe(seconds(record.elapsed));
  overhead_.at({route}).Observe(
      seconds(std::max(record.elapsed - record.upstream_wait, std::chrono::microseconds(0))));
  if (chat) observe_chat(record, model);
  observe_events(record);
}

void RequestMetrics::observe_chat(const RequestRecord& record, const std::string& model) {
  outcomes_[static_cast<std::size_t>(record.outcome)]->Increment();
  if (record.time_to_first_token) {
    const auto ttft = *record.time_to_first_token;
    time_to_first_token_.at({model}).Observe(seconds(ttft));
    const auto output_tokens = record.usage.completion_tokens;
    if (record.outcome == Outcome::Completed && output_tokens > 1 && record.elapsed > ttft) {
      time_per_output_token_.at({model}).Observe(seconds(record.elapsed - ttft) /
                                                 static_cast<double>(output_tokens - 1));
    }
  }
  const auto add_tokens = [&](const char* type, std::int64_t count) {
    if (count <= 0) return;
    auto& counter = tenant_labels_ ? tokens_.at({model, type, bounded_identifier(record.principal.tenant_id)})
                                   : tokens_.at({model, type});
    counter.Increment(static_cast<double>(count));
  };
  add_tokens("input", record.usage.prompt_tokens);
  add_tokens("output", record.usage.completion_tokens);
  if (record.outcome == Outcome::UpstreamError || record.outcome == Outcome::Timeout) {
    upstream_errors_.at({model, record.error_code.empty() ? kNoneLabel : bounded_label(record.error_code)})
        .Increment();
  }
}

void RequestMetrics::observe_events(const RequestRecord& record) {
  for (const auto& event : record.events) {
    if (event.name == gateway::kEventRateLimited) {
      const auto limit = event_label(event, "limit");
      const auto level = event_label(event, "level");
      auto& counter = tenant_labels_
                          ? rate_limited_.at({limit, level, bounded_identifier(record.principal.tenant_id)})
                          : rate_limited_.at({limit, level});
      counter.Increment();
    } else if (event.name == gateway::kEventParameterAdjusted) {
      constraints_adjusted_.at({event_label(event, "param"), event_label(event, "policy")}).Increment();
    }
  }
}

}  // namespace e2b::metrics
