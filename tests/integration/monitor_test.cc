// What a monitoring plugin gets from the gateway, seen through a probe plugin on the admin
// listener: the admin-listener phase, the live figures (host.monitor), and each request's
// timings. Without a plugin that claims them, unknown admin paths keep their 404.
#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "harness.h"

using namespace harness;
using nlohmann::json;

namespace {

/// The shipped chain plus the probe plugin.
struct ProbeSettings {
  static void apply(GatewayOptions& options) {
    options.extra_plugins_yaml =
        std::string("  - name: monitor_probe\n    path: ") + MONITOR_PROBE_PLUGIN + "\n    config: {}\n";
  }
};

/// The probe behind rate_limit (one request a minute per key) and constraints (temperature at
/// most 1, top_p refused above 0.9), so that a test sees the events they report.
struct EventSettings {
  static void apply(GatewayOptions& options) {
    ProbeSettings::apply(options);
    options.extra_plugins_yaml =
        "  - name: rate_limit\n    config: {time_zone: UTC, key_defaults: {requests_per_minute: 1}}\n"
        "  - name: constraints\n    config:\n      rules:\n"
        "        - {models: ['*'], params: {temperature: {max: 1}, top_p: {max: 0.9, policy: reject}}}\n" +
        options.extra_plugins_yaml;
  }
};

/// While this file exists the probe holds every scrape it answers.
std::filesystem::path scrape_hold_file() {
  return std::filesystem::temp_directory_path() / ("e2b-gateway-scrape-hold-" + std::to_string(getpid()));
}

/// One reactor thread, and the probe answering (and holding) scrapes on the main listener.
struct HeldScrapeSettings {
  static void apply(GatewayOptions& options) {
    options.threads = 1;
    options.extra_plugins_yaml = std::string("  - name: monitor_probe\n    path: ") + MONITOR_PROBE_PLUGIN +
                                 "\n    config: {hold_scrapes_while: " + scrape_hold_file().string() + "}\n";
  }
};

/// The probe gives every chat request an end hook that takes 300 ms.
struct SlowEndHookSettings {
  static void apply(GatewayOptions& options) {
    options.extra_plugins_yaml = std::string("  - name: monitor_probe\n    path: ") + MONITOR_PROBE_PLUGIN +
                                 "\n    config: {slow_end_hooks_ms: 300}\n";
  }
};

using MonitorTest = GatewaySuite<ProbeSettings>;
using SlowEndHookTest = GatewaySuite<SlowEndHookSettings>;
using HeldScrapeTest = GatewaySuite<HeldScrapeSettings>;
using EventsTest = GatewaySuite<EventSettings>;
using AdminFallbackTest = GatewaySuite<DefaultSettings>;

Response admin_get(const Gateway& gateway, const std::string& path, bool with_token = true) {
  std::map<std::string, std::string> headers;
  if (with_token) headers["Authorization"] = "Bearer " + gateway.admin_token();
  return http(gateway.admin_port(), "GET", path, headers);
}

json stats(const Gateway& gateway) {
  const auto r = admin_get(gateway, "/probe/stats", false);
  EXPECT_EQ(r.status, 200) << r.body;
  return json::parse(r.body);
}

/// The probe's record of `request_id`, once its log phase saw it (null if it never does).
json probe_record(const Gateway& gateway, const std::string& request_id) {
  json found;
  eventually([&] {
    for (const auto& record : json::parse(admin_get(gateway, "/probe/records", false).body)) {
      if (record["request_id"] == request_id) found = record;
    }
    return !found.is_null();
  });
  return found;
}

}  // namespace

TEST_F(AdminFallbackTest, UnknownAdminPathsStay404WhenNoPluginClaimsThem) {
  auto r = admin_get(*gateway_, "/metrics");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "not_found");
  EXPECT_FALSE(r.headers["x-request-id"].empty());
  EXPECT_EQ(admin_get(*gateway_, "/admin/v1/nothing").status, 404);
  EXPECT_EQ(admin_get(*gateway_, "/metrics", false).status, 401) << "the token is still checked first";
  EXPECT_EQ(http(gateway_->admin_port(), "POST", "/admin/v1/usage",
                 {{"Authorization", "Bearer " + gateway_->admin_token()}})
                .status,
            405);
}

TEST_F(MonitorTest, APluginServesAdminPathsWithoutTheAdminTokenAndTheRestIsUnchanged) {
  auto r = admin_get(*gateway_, "/probe/stats", false);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(r.headers["x-request-id"].empty());
  EXPECT_EQ(admin_get(*gateway_, "/probe/nothing").status, 404);
  EXPECT_EQ(admin_get(*gateway_, "/probe/nothing", false).status, 401);
  EXPECT_EQ(admin_get(*gateway_, "/admin/v1/tenants").status, 200) << "admin routes never reach plugins";
}

TEST_F(MonitorTest, APluginThatThrowsInTheAdminPhaseGivesA500) {
  const auto r = admin_get(*gateway_, "/probe/throw", false);
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_EQ(openai_error_code(r), "internal_error");
}

TEST_F(MonitorTest, TheMonitorCountsAnOpenStreamAndItsUpstreamConnectionUntilTheClientLeaves) {
  // Nothing else runs in this suite at the same time, so the figures are this test's own.
  ASSERT_TRUE(eventually([&] { return stats(*gateway_)["in_flight_requests"] == 0; }));
  {
    Connection client(gateway_->port());
    client.send_raw(chat_request_text(gateway_->key(), scenario_request("stall_after=2", true)));
    ASSERT_FALSE(client.read_some().empty()) << "the stream starts";
    const auto open = stats(*gateway_);
    EXPECT_EQ(open["in_flight_requests"], 1) << open;
    EXPECT_EQ(open["open_streams"], 1) << open;
    EXPECT_GE(open["upstream_connections"], 1) << open;
  }
  EXPECT_TRUE(eventually([&] {
    const auto closed = stats(*gateway_);
    return closed["open_streams"] == 0 && closed["in_flight_requests"] == 0;
  })) << stats(*gateway_);
}

TEST_F(MonitorTest, AWholeAnswerIsInFlightButNoStream) {
  ASSERT_TRUE(eventually([&] { return stats(*gateway_)["in_flight_requests"] == 0; }));
  Connection client(gateway_->port());
  client.send_raw(chat_request_text(gateway_->key(), scenario_request("first_byte_ms=800", false)));
  ASSERT_TRUE(eventually([&] { return stats(*gateway_)["in_flight_requests"] == 1; }));
  EXPECT_EQ(stats(*gateway_)["open_streams"], 0);
  EXPECT_EQ(client.read_response().status, 200);
}

TEST_F(MonitorTest, UsageRowsLeaveTheQueueAndNoneIsDropped) {
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(chat(gateway_->port(), gateway_->key(), scenario_request("ok", false)).status, 200);
  EXPECT_TRUE(eventually([&] { return stats(*gateway_)["usage_queue_depth"] == 0; })) << stats(*gateway_);
  const auto figures = stats(*gateway_);
  EXPECT_EQ(figures["usage_rows_dropped"], 0);
  EXPECT_EQ(figures["config_reloads_succeeded"], 0);
  EXPECT_EQ(figures["config_reloads_failed"], 0);
}

TEST_F(MonitorTest, UpstreamWaitCoversTheUpstreamAndStaysWithinElapsed) {
  const auto id = new_request_id("upstream-wait");
  const auto r = chat(gateway_->port(), gateway_->key(), scenario_request("first_byte_ms=300", false),
                      {{"X-Request-ID", id}});
  ASSERT_EQ(r.status, 200) << r.body;
  const auto record = probe_record(*gateway_, id);
  ASSERT_FALSE(record.is_null());
  EXPECT_GE(record["upstream_wait_us"].get<std::int64_t>(), 300'000) << record;
  EXPECT_LE(record["upstream_wait_us"].get<std::int64_t>(), record["elapsed_us"].get<std::int64_t>())
      << record;
}

TEST_F(MonitorTest, ARequestThatNeverWentUpstreamWaitedNothing) {
  const auto id = new_request_id("no-upstream");
  const auto r = chat(gateway_->port(), "sk-wrong-key-0123456789abcdef", scenario_request("ok", false),
                      {{"X-Request-ID", id}});
  ASSERT_EQ(r.status, 401) << r.body;
  const auto record = probe_record(*gateway_, id);
  ASSERT_FALSE(record.is_null());
  EXPECT_EQ(record["upstream_wait_us"], 0) << record;
  EXPECT_GT(record["elapsed_us"].get<std::int64_t>(), 0) << record;
}

TEST_F(EventsTest, TheShippedPluginsReportWhatTheyDidToARequest) {
  const auto clamped_id = new_request_id("clamped");
  auto request = scenario_request("ok", false);
  request["temperature"] = 1.7;
  auto r = chat(gateway_->port(), gateway_->key(), request, {{"X-Request-ID", clamped_id}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto record = probe_record(*gateway_, clamped_id);
  EXPECT_EQ(record["events"], json::parse(R"([{"name":"parameter_adjusted",
                                               "labels":{"param":"temperature","policy":"clamp"}}])"))
      << record;

  const auto limited_id = new_request_id("limited");
  r = chat(gateway_->port(), gateway_->key(), scenario_request("ok", false), {{"X-Request-ID", limited_id}});
  ASSERT_EQ(r.status, 429) << r.body;
  record = probe_record(*gateway_, limited_id);
  EXPECT_EQ(record["events"], json::parse(R"([{"name":"rate_limited",
                                               "labels":{"limit":"requests_per_minute","level":"key"}}])"))
      << record;
  EXPECT_EQ(record["upstream_wait_us"], 0) << "refused before the upstream";
}

TEST_F(EventsTest, ARejectedParameterIsReported) {
  // The other key of the harness: the rate limit of the first test is not its own.
  const auto id = new_request_id("rejected");
  auto request = scenario_request("ok", false, "gpt-4o-mini");
  request["top_p"] = 0.95;
  const auto r = chat(gateway_->port(), "sk-test-limited-0123456789", request, {{"X-Request-ID", id}});
  ASSERT_EQ(r.status, 400) << r.body;
  const auto record = probe_record(*gateway_, id);
  EXPECT_EQ(record["events"], json::parse(R"([{"name":"parameter_adjusted",
                                               "labels":{"param":"top_p","policy":"reject"}}])"))
      << record;
}

TEST_F(HeldScrapeTest, AScrapeInProgressHoldsUpNoOtherRequestOfItsReactor) {
  const auto hold = scrape_hold_file();
  const auto held = std::filesystem::path(hold.string() + ".held");
  std::filesystem::remove(held);
  std::ofstream(hold) << "hold\n";
  auto scrape = std::async(std::launch::async, [&] { return http(gateway_->port(), "GET", "/metrics"); });
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(held); })) << "the probe holds the scrape";
  // The gateway has one reactor thread; the scrape is held in the plugin's request phase.
  const auto health = http(gateway_->port(), "GET", "/health");
  EXPECT_EQ(health.status, 200) << health.body;
  EXPECT_EQ(scrape.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << "the health check was answered while the scrape was still held";
  std::filesystem::remove(hold);
  const auto answer = scrape.get();
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_NE(answer.body.find("held"), std::string::npos) << answer.body;
  std::filesystem::remove(held);
}

TEST_F(SlowEndHookTest, EndHooksHaveRunWhenTheClientSeesItsAnswerEnd) {
  // Each hook sleeps 300 ms before it counts: a hook still running after the answer ended would
  // show as a count behind the answers read (what the next request of that client would see).
  const auto ended = [&] { return json::parse(admin_get(*gateway_, "/probe/ended", false).body)["ended"]; };
  Connection client(gateway_->port());
  const json bodies[] = {scenario_request("reply=plain", false),
                         scenario_request("reply=streamed", true),
                         {{"model", "no-such-model"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}}};
  int answered = 0;
  for (const auto& body : bodies) {
    client.send_raw(chat_request_text(gateway_->key(), body));
    const auto r = client.read_response();
    ASSERT_TRUE(r.complete) << r.body;
    EXPECT_EQ(ended(), ++answered) << "answer " << answered << " (status " << r.status << ")";
  }
}
