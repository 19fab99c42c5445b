// What one finished request turns into: feeds RequestRecords to the plugin's metrics and checks
// the exact lines of the rendered scrape.
#include "gateway_metrics.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace e2b::metrics {
namespace {

using namespace std::chrono_literals;
using gateway::Outcome;
using gateway::RequestRecord;
using gateway::Route;
using testing::has_line;
using testing::sample_value;

class FixedMonitor : public gateway::GatewayMonitor {
 public:
  gateway::GatewayStats stats() const override { return figures; }
  gateway::GatewayStats figures;
};

class RequestMetricsTest : public ::testing::Test {
 protected:
  RequestMetricsTest() {
    host_.models = &catalog_;
    host_.gateway_version = "1.2.3";
  }

  std::string scrape(bool tenant_labels = false) {
    if (!metrics_) metrics_ = std::make_unique<GatewayMetrics>(MetricsSettings{"", tenant_labels}, host_);
    for (const auto& record : records_) metrics_->observe(record);
    records_.clear();
    return metrics_->endpoint().render();
  }

  static RequestRecord chat(const std::string& model, int status, Outcome outcome = Outcome::Completed) {
    RequestRecord r;
    r.route = Route::ChatCompletions;
    r.model = model;
    r.status = status;
    r.outcome = outcome;
    r.elapsed = 1500ms;
    r.upstream_wait = 1499ms;
    return r;
  }

  gateway::ModelCatalog catalog_ = testing::catalog_of({"gpt-4o", "claude-sonnet-4-5"});
  gateway::PluginHost host_;
  std::vector<RequestRecord> records_;
  std::unique_ptr<GatewayMetrics> metrics_;
};

TEST_F(RequestMetricsTest, CountsRequestsByRouteModelAndStatus) {
  for (int i = 0; i < 3; ++i) records_.push_back(chat("gpt-4o", 200));
  records_.push_back(chat("claude-sonnet-4-5", 200));
  records_.push_back(chat("evil-model-xyz", 404, Outcome::Rejected));
  records_.push_back(chat("", 401, Outcome::Rejected));
  RequestRecord health;
  health.route = Route::Health;
  health.status = 200;
  records_.push_back(health);
  const auto text = scrape();
  EXPECT_TRUE(
      has_line(text, R"(gateway_requests_total{model="gpt-4o",route="chat_completions",status="200"} 3)"))
      << text;
  EXPECT_TRUE(has_line(
      text, R"(gateway_requests_total{model="claude-sonnet-4-5",route="chat_completions",status="200"} 1)"));
  EXPECT_TRUE(
      has_line(text, R"(gateway_requests_total{model="other",route="chat_completions",status="404"} 1)"));
  EXPECT_TRUE(
      has_line(text, R"(gateway_requests_total{model="none",route="chat_completions",status="401"} 1)"));
  EXPECT_TRUE(has_line(text, R"(gateway_requests_total{model="none",route="health",status="200"} 1)"));
  EXPECT_EQ(text.find("evil-model-xyz"), std::string::npos);
}

TEST_F(RequestMetricsTest, AReloadedInstanceGoesOnCountingInTheSameSeries) {
  GatewayMetrics running(MetricsSettings{}, host_);
  running.observe(chat("gpt-4o", 200));
  running.observe(chat("gpt-4o", 200));

  // The reloaded configuration adds a model; a request of the old one is still finishing.
  const auto reloaded_catalog = testing::catalog_of({"gpt-4o", "claude-sonnet-4-5", "new-model"});
  auto reloaded_host = host_;
  reloaded_host.models = &reloaded_catalog;
  GatewayMetrics reloaded(MetricsSettings{}, reloaded_host, running.registry());
  reloaded.observe(chat("gpt-4o", 200));
  reloaded.observe(chat("new-model", 200));
  running.observe(chat("gpt-4o", 200));

  const auto text = reloaded.endpoint().render();
  EXPECT_TRUE(
      has_line(text, R"(gateway_requests_total{model="gpt-4o",route="chat_completions",status="200"} 4)"))
      << text;
  EXPECT_TRUE(
      has_line(text, R"(gateway_requests_total{model="new-model",route="chat_completions",status="200"} 1)"));
  EXPECT_EQ(sample_value(text, R"(gateway_build_info{version="1.2.3"})"), 1);
  EXPECT_EQ(text.find("# TYPE gateway_requests_total counter"),
            text.rfind("# TYPE gateway_requests_total counter"))
      << "one family, not two";
}

TEST_F(RequestMetricsTest, ObservesDurationsAndTheGatewaysOwnTime) {
  auto streamed = chat("gpt-4o", 200);
  streamed.stream = true;
  records_.push_back(streamed);
  records_.push_back(chat("gpt-4o", 200));
  const auto text = scrape();
  EXPECT_TRUE(has_line(
      text,
      R"(gateway_request_duration_seconds_count{model="gpt-4o",route="chat_completions",stream="true"} 1)"))
      << text;
  EXPECT_TRUE(has_line(
      text,
      R"(gateway_request_duration_seconds_count{model="gpt-4o",route="chat_completions",stream="false"} 1)"));
  EXPECT_TRUE(has_line(
      text,
      R"(gateway_request_duration_seconds_bucket{model="gpt-4o",route="chat_completions",stream="false",le="1"} 0)"));
  EXPECT_TRUE(has_line(
      text,
      R"(gateway_request_duration_seconds_bucket{model="gpt-4o",route="chat_completions",stream="false",le="2.5"} 1)"));
  // 1 ms of 1.5 s was the gateway's own: inside the 1 ms bucket, above 500 µs.
  EXPECT_TRUE(
      has_line(text, R"(gateway_overhead_duration_seconds_bucket{route="chat_completions",le="0.0005"} 0)"));
  EXPECT_TRUE(
      has_line(text, R"(gateway_overhead_duration_seconds_bucket{route="chat_completions",le="0.001"} 2)"));
  EXPECT_DOUBLE_EQ(sample_value(text, R"(gateway_overhead_duration_seconds_sum{route="chat_completions"})"),
                   0.002);
}

TEST_F(RequestMetricsTest, TimesFirstTokenAndEachLaterTokenOfCompletedAnswers) {
  auto answered = chat("gpt-4o", 200);
  answered.time_to_first_token = 500ms;
  answered.usage = {10, 11, false};  // 1 s for the 10 tokens after the first
  records_.push_back(answered);
  auto cut = answered;
  cut.outcome = Outcome::ClientCancelled;
  records_.push_back(cut);
  auto one_token = answered;
  one_token.usage.completion_tokens = 1;
  records_.push_back(one_token);
  records_.push_back(chat("gpt-4o", 502, Outcome::UpstreamError));  // no first token
  const auto text = scrape();
  EXPECT_TRUE(has_line(text, R"(gateway_time_to_first_token_seconds_count{model="gpt-4o"} 3)")) << text;
  EXPECT_DOUBLE_EQ(sample_value(text, R"(gateway_time_to_first_token_seconds_sum{model="gpt-4o"})"), 1.5);
  EXPECT_TRUE(has_line(text, R"(gateway_time_per_output_token_seconds_count{model="gpt-4o"} 1)"));
  EXPECT_DOUBLE_EQ(sample_value(text, R"(gateway_time_per_output_token_seconds_sum{model="gpt-4o"})"), 0.1);
}

TEST_F(RequestMetricsTest, CountsTokensByModelAndTypeAndOptionallyTenant) {
  auto a = chat("gpt-4o", 200);
  a.usage = {100, 20, false};
  a.principal.tenant_id = "ten_a";
  auto b = a;
  b.principal.tenant_id = "ten_b";
  b.usage = {1, 2, false};
  records_ = {a, b};
  const auto plain = scrape();
  EXPECT_TRUE(has_line(plain, R"(gateway_tokens_total{model="gpt-4o",type="input"} 101)")) << plain;
  EXPECT_TRUE(has_line(plain, R"(gateway_tokens_total{model="gpt-4o",type="output"} 22)"));
  EXPECT_EQ(plain.find("ten_a"), std::string::npos);

  metrics_.reset();
  records_ = {a, b};
  const auto by_tenant = scrape(true);
  EXPECT_TRUE(has_line(by_tenant, R"(gateway_tokens_total{model="gpt-4o",tenant="ten_a",type="input"} 100)"))
      << by_tenant;
  EXPECT_TRUE(has_line(by_tenant, R"(gateway_tokens_total{model="gpt-4o",tenant="ten_b",type="output"} 2)"));
}

TEST_F(RequestMetricsTest, PreCreatesEveryOutcomeAndCountsChatRequestsOnly) {
  const auto empty = scrape();
  for (const auto outcome : gateway::kAllOutcomes) {
    EXPECT_TRUE(has_line(
        empty, std::string("gateway_outcomes_total{outcome=\"") + gateway::outcome_name(outcome) + "\"} 0"))
        << gateway::outcome_name(outcome);
  }
  records_ = {chat("gpt-4o", 200), chat("gpt-4o", 504, Outcome::Timeout), chat("gpt-4o", 200)};
  RequestRecord models;
  models.route = Route::Models;
  models.status = 200;
  records_.push_back(models);
  const auto text = scrape();
  EXPECT_TRUE(has_line(text, R"(gateway_outcomes_total{outcome="completed"} 2)")) << text;
  EXPECT_TRUE(has_line(text, R"(gateway_outcomes_total{outcome="timeout"} 1)"));
}

TEST_F(RequestMetricsTest, CountsUpstreamErrorsByBoundedCode) {
  auto failed = chat("gpt-4o", 502, Outcome::UpstreamError);
  failed.error_code = "upstream_error";
  auto timed_out = chat("gpt-4o", 504, Outcome::Timeout);
  timed_out.error_code = "upstream_timeout";
  auto odd = chat("gpt-4o", 502, Outcome::UpstreamError);
  odd.error_code = "Weird Code " + std::string(100, 'x');
  auto refused = chat("gpt-4o", 400, Outcome::Rejected);
  refused.error_code = "invalid_request";
  records_ = {failed, timed_out, odd, refused};
  const auto text = scrape();
  EXPECT_TRUE(has_line(text, R"(gateway_upstream_errors_total{code="upstream_error",model="gpt-4o"} 1)"))
      << text;
  EXPECT_TRUE(has_line(text, R"(gateway_upstream_errors_total{code="upstream_timeout",model="gpt-4o"} 1)"));
  EXPECT_TRUE(has_line(text, R"(gateway_upstream_errors_total{code="other",model="gpt-4o"} 1)"));
  EXPECT_EQ(text.find("invalid_request"), std::string::npos) << "client faults are not upstream errors";
}

TEST_F(RequestMetricsTest, CountsEventsWithBoundedLabels) {
  auto limited = chat("", 429, Outcome::Rejected);
  limited.events.push_back(
      {gateway::kEventRateLimited, {{"limit", "requests_per_minute"}, {"level", "key"}}});
  auto adjusted = chat("gpt-4o", 200);
  adjusted.events.push_back(
      {gateway::kEventParameterAdjusted, {{"param", "temperature"}, {"policy", "clamp"}}});
  adjusted.events.push_back({gateway::kEventParameterAdjusted, {{"param", "top_p"}, {"policy", "force"}}});
  auto hostile = chat("gpt-4o", 200);
  hostile.events.push_back({gateway::kEventParameterAdjusted, {{"param", "sk-e2b-secret!"}}});
  hostile.events.push_back({"something_else", {{"param", "x"}}});
  records_ = {limited, adjusted, hostile};
  const auto text = scrape();
  EXPECT_TRUE(has_line(text, R"(gateway_rate_limited_total{level="key",limit="requests_per_minute"} 1)"))
      << text;
  EXPECT_TRUE(has_line(text, R"(gateway_constraints_adjusted_total{param="temperature",policy="clamp"} 1)"));
  EXPECT_TRUE(has_line(text, R"(gateway_constraints_adjusted_total{param="top_p",policy="force"} 1)"));
  EXPECT_TRUE(has_line(text, R"(gateway_constraints_adjusted_total{param="other",policy="other"} 1)"));
  EXPECT_EQ(text.find("sk-"), std::string::npos);
}

TEST_F(RequestMetricsTest, CountsRateLimitRefusalsPerTenantWithTenantLabels) {
  for (const auto* tenant : {"ten_a", "ten_a", "ten_b"}) {
    auto limited = chat("", 429, Outcome::Rejected);
    limited.principal.tenant_id = tenant;
    limited.events.push_back(
        {gateway::kEventRateLimited, {{"limit", "tokens_per_day"}, {"level", "tenant"}}});
    records_.push_back(limited);
  }
  const auto text = scrape(true);
  EXPECT_TRUE(
      has_line(text, R"(gateway_rate_limited_total{level="tenant",limit="tokens_per_day",tenant="ten_a"} 2)"))
      << text;
  EXPECT_TRUE(has_line(
      text, R"(gateway_rate_limited_total{level="tenant",limit="tokens_per_day",tenant="ten_b"} 1)"));
}

TEST_F(RequestMetricsTest, ExportsBuildInfoAndProcessFigures) {
  const auto text = scrape();
  EXPECT_TRUE(has_line(text, R"(gateway_build_info{version="1.2.3"} 1)")) << text;
  for (const char* name : {"process_resident_memory_bytes", "process_open_fds", "process_max_fds",
                           "process_cpu_seconds_total", "process_start_time_seconds"}) {
    EXPECT_GE(sample_value(text, name), 0) << name;
  }
}

TEST_F(RequestMetricsTest, ReadsTheGatewaysFiguresAtEachScrapeOnlyWithAMonitor) {
  EXPECT_EQ(scrape().find("gateway_in_flight_requests"), std::string::npos) << "check-config has no monitor";
  FixedMonitor monitor;
  host_.monitor = &monitor;
  metrics_.reset();
  monitor.figures = {3, 1, 7, 2, 5, 4, 1};
  auto text = scrape();
  EXPECT_TRUE(has_line(text, "gateway_in_flight_requests 3")) << text;
  EXPECT_TRUE(has_line(text, "gateway_open_streams 1"));
  EXPECT_TRUE(has_line(text, "gateway_upstream_connections 7"));
  EXPECT_TRUE(has_line(text, "gateway_usage_queue_depth 2"));
  EXPECT_TRUE(has_line(text, "gateway_usage_rows_dropped_total 5"));
  EXPECT_TRUE(has_line(text, R"(gateway_config_reloads_total{result="success"} 4)"));
  EXPECT_TRUE(has_line(text, R"(gateway_config_reloads_total{result="failure"} 1)"));
  monitor.figures.in_flight_requests = 0;
  EXPECT_TRUE(has_line(scrape(), "gateway_in_flight_requests 0")) << "read again, not cached";
}

}  // namespace
}  // namespace e2b::metrics
