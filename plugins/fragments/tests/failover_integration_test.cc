// Several upstream targets over real HTTP: the gateway binary against two fake Fragments servers
// (and a closed port), each target given its fault by a per-target `x-fake-scenario` header.
// Upstream traffic is counted at the fakes, never timed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>

#include "harness.h"

using namespace harness;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

/// A loopback port nothing listens on: connections to it are refused.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    throw std::runtime_error("cannot find a free loopback port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

/// One `upstream.targets` entry; `scenario` (if any) is the fault the fake plays for it.
std::string target_yaml(const std::string& base_url, const std::string& scenario = "", int weight = 1) {
  std::string entry = "    - {base_url: '" + base_url + "', weight: " + std::to_string(weight);
  if (!scenario.empty()) entry += ", headers: {x-fake-scenario: '" + scenario + "'}";
  return entry + "}\n";
}

int requests_at(const FakeUpstream& fake) {
  return fake.stats()["requests"].get<int>();
}

/// The health view of the targets, from the main listener or (with the token) the admin API.
Response health(const Gateway& gateway) {
  return http(gateway.port(), "GET", "/healthz/upstream");
}
Response admin_health(const Gateway& gateway, bool with_token = true) {
  std::map<std::string, std::string> headers;
  if (with_token) headers["Authorization"] = "Bearer " + gateway.admin_token();
  return http(gateway.admin_port(), "GET", "/admin/v1/upstream", headers);
}

json target_view(const Response& response, std::size_t index) {
  const auto body = json::parse(response.body, nullptr, false);
  if (!body.is_object() || !body.contains("targets") || body["targets"].size() <= index) return nullptr;
  return body["targets"][index];
}

/// Short pauses between attempts, so that retries do not slow the tests down.
const std::string kQuickBackoff = "  backoff_initial_ms: 20\n  backoff_max_ms: 40\n";

class FailoverTest : public ::testing::Test {
 protected:
  /// Starts a gateway whose targets are `targets_yaml` lines, with failover `settings` lines.
  void start(const std::string& targets_yaml, const std::string& settings = kQuickBackoff,
             int first_byte_timeout_ms = 10000) {
    GatewayOptions options;
    options.upstream_targets_yaml = "  targets:\n" + targets_yaml;
    options.failover_yaml = settings;
    options.first_byte_timeout_ms = first_byte_timeout_ms;
    gateway_ = std::make_unique<Gateway>(options);
  }

  /// Sends plain and streamed requests and expects every one answered in full.
  void expect_all_answered(int count) {
    for (int i = 0; i < count; ++i) {
      const bool stream = i % 2 == 1;
      const auto r = chat(gateway_->port(), gateway_->key(), scenario_request("reply=fine", stream));
      ASSERT_EQ(r.status, 200) << r.body;
      if (stream) {
        EXPECT_EQ(streamed_content(r.body), "fine");
        EXPECT_TRUE(stream_error_event(r.body).is_null()) << r.body;
      } else {
        EXPECT_EQ(json::parse(r.body)["choices"][0]["message"]["content"], "fine");
      }
    }
  }

  FakeUpstream first_;
  FakeUpstream second_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(FailoverTest, ARefusedConnectionMovesToTheHealthyTarget) {
  const std::string dead = "http://127.0.0.1:" + std::to_string(closed_port());
  start(target_yaml(dead) + target_yaml(second_.base_url()));
  expect_all_answered(6);
  EXPECT_EQ(requests_at(second_), 6) << "every request was answered by the live target";
  const auto view = target_view(health(*gateway_), 0);
  EXPECT_EQ(view["base_url"], dead);
  EXPECT_GE(view["failures"].get<int>(), 1);
  ASSERT_FALSE(view["recent_errors"].empty());
  EXPECT_EQ(view["recent_errors"].back()["error"], "connect_failed");
}

TEST_F(FailoverTest, AnOverloadedTargetAnswering529MovesTheRequestOn) {
  start(target_yaml(first_.base_url(), "status=529") + target_yaml(second_.base_url()));
  expect_all_answered(6);
  EXPECT_GE(requests_at(first_), 1);
  EXPECT_EQ(requests_at(second_), 6);
}

TEST_F(FailoverTest, AStalledTargetTimesOutAndTheOtherAnswers) {
  start(target_yaml(first_.base_url(), "first_byte_ms=5000", 2) + target_yaml(second_.base_url()),
        kQuickBackoff, 300);
  expect_all_answered(2);
  EXPECT_GE(requests_at(first_), 1);
  EXPECT_EQ(requests_at(second_), 2);
  EXPECT_EQ(target_view(health(*gateway_), 0)["recent_errors"][0]["error"], "first_byte_timeout");
}

TEST_F(FailoverTest, ADailyLimitCoolsTheTargetDownUntilItsReset) {
  start(target_yaml(first_.base_url(), "status=429,ratelimit,reset_in_ms=600000", 2) +
        target_yaml(second_.base_url()));
  expect_all_answered(8);
  EXPECT_EQ(requests_at(first_), 1) << "no traffic to the limited target until its reset";
  EXPECT_EQ(requests_at(second_), 8);

  for (const auto& r : {health(*gateway_), admin_health(*gateway_)}) {
    EXPECT_EQ(r.status, 200) << "the other target is usable: " << r.body;
    const auto limited = target_view(r, 0);
    EXPECT_EQ(limited["state"], "cooling_down") << r.body;
    EXPECT_TRUE(limited["cooling_down_until"].is_string());
    EXPECT_EQ(limited["weight"], 2);
    EXPECT_EQ(target_view(r, 1)["state"], "healthy");
    EXPECT_EQ(r.body.find("x-fake-scenario"), std::string::npos) << "header values are never shown";
  }
  EXPECT_EQ(admin_health(*gateway_, false).status, 401);
  EXPECT_NE(gateway_->log().find("is cooling down until"), std::string::npos);
}

TEST_F(FailoverTest, AReloadKeepsWhatIsKnownOfTheTargetsThatStay) {
  start(target_yaml(first_.base_url(), "status=429,ratelimit,reset_in_ms=600000") +
        target_yaml(second_.base_url()));
  expect_all_answered(2);
  ASSERT_EQ(target_view(health(*gateway_), 0)["state"], "cooling_down");

  const auto reloaded = http(gateway_->admin_port(), "POST", "/admin/v1/config/reload",
                             {{"Authorization", "Bearer " + gateway_->admin_token()}});
  ASSERT_EQ(reloaded.status, 200) << reloaded.body;
  const auto view = health(*gateway_);
  EXPECT_EQ(target_view(view, 0)["state"], "cooling_down") << view.body;
  EXPECT_EQ(target_view(view, 0)["requests"], 1) << view.body;
  expect_all_answered(4);
  EXPECT_EQ(requests_at(first_), 1) << "the reloaded gateway still knows the target is at its limit";
  EXPECT_EQ(requests_at(second_), 6);
}

TEST_F(FailoverTest, WhenEveryTargetFailsTheClientGetsTheLastError) {
  // The first target's weight makes it every request's first choice.
  start(target_yaml(first_.base_url(), "status=529", 1000) + target_yaml(second_.base_url(), "status=500"),
        kQuickBackoff + "  max_attempts: 2\n");
  for (bool stream : {false, true}) {
    const auto r = chat(gateway_->port(), gateway_->key(), scenario_request("reply=x", stream));
    EXPECT_EQ(r.status, 502) << "the second target's 500, not the first one's 529: " << r.body;
    EXPECT_EQ(openai_error_code(r), "upstream_error");
  }
  EXPECT_EQ(requests_at(first_) + requests_at(second_), 4) << "two attempts per request";
  EXPECT_GE(requests_at(second_), 1);
}

TEST_F(FailoverTest, OneTargetIsTriedAgainAfterItsOwnFaultsOnlyNotAfterAProvidersError) {
  start(target_yaml(first_.base_url()));
  const auto limited = chat(gateway_->port(), gateway_->key(), scenario_request("status=429", false));
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_EQ(requests_at(first_), 1) << "a provider's 429 (no reset) would repeat on the same deployment";
  const auto overloaded = chat(gateway_->port(), gateway_->key(), scenario_request("status=529", false));
  EXPECT_EQ(overloaded.status, 503) << overloaded.body;
  EXPECT_EQ(requests_at(first_), 2);
  const auto unavailable = chat(gateway_->port(), gateway_->key(), scenario_request("status=503", false));
  EXPECT_EQ(unavailable.status, 503) << unavailable.body;
  EXPECT_EQ(requests_at(first_), 5) << "the deployment's own 503 may pass: max_attempts (3) in all";
}

TEST_F(FailoverTest, AStreamCutMidwayIsNotRetried) {
  start(target_yaml(first_.base_url(), "long=3000,die_after=5") + target_yaml(second_.base_url()));
  const auto r = chat(gateway_->port(), gateway_->key(), scenario_request("long=3000", true));
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(stream_error_event(r.body).is_null()) << "the cut ends the stream with an error: " << r.body;
  EXPECT_EQ(requests_at(first_), 1);
  EXPECT_EQ(requests_at(second_), 0) << "output had started: no second target";
}

TEST_F(FailoverTest, AnOpenCircuitKeepsTrafficOnTheHealthyTargetUntilItsProbe) {
  start(target_yaml(first_.base_url(), "status=503") + target_yaml(second_.base_url()),
        kQuickBackoff + "  max_attempts: 2\n  circuit_failures: 2\n  circuit_open_ms: 1500\n");
  expect_all_answered(8);
  EXPECT_EQ(requests_at(first_), 2) << "two failures open its circuit; then it gets nothing";
  EXPECT_EQ(requests_at(second_), 8);
  auto view = health(*gateway_);
  EXPECT_EQ(view.status, 200) << "the other target is usable: " << view.body;
  EXPECT_EQ(target_view(view, 0)["state"], "circuit_open") << view.body;
  EXPECT_EQ(target_view(view, 0)["consecutive_failures"], 2);
  EXPECT_NE(gateway_->log().find("circuit open"), std::string::npos);

  ASSERT_TRUE(eventually([&] { return target_view(health(*gateway_), 0)["state"] == "half_open"; }, 5s));
  expect_all_answered(4);
  EXPECT_EQ(requests_at(first_), 3) << "one probe, which failed and reopened the circuit";
  EXPECT_EQ(target_view(health(*gateway_), 0)["state"], "circuit_open");
}

TEST_F(FailoverTest, TheLastTargetWithAnOpenCircuitStillGetsTheRequestAndItsSuccessClosesIt) {
  start(target_yaml(first_.base_url()),
        kQuickBackoff + "  max_attempts: 1\n  circuit_failures: 2\n  circuit_open_ms: 600000\n");
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(chat(gateway_->port(), gateway_->key(), scenario_request("status=503", false)).status, 503);
  }
  const auto view = health(*gateway_);
  EXPECT_EQ(view.status, 503) << "no target is healthy: " << view.body;
  EXPECT_EQ(target_view(view, 0)["state"], "circuit_open");

  // Its peers (none) are no better: the request is sent, and its real error or answer returned.
  const auto failed = chat(gateway_->port(), gateway_->key(), scenario_request("status=503", false));
  EXPECT_EQ(failed.status, 503) << "the upstream's own error, mapped as ever: " << failed.body;
  EXPECT_NE(openai_error_code(failed), "upstream_unavailable");
  EXPECT_EQ(requests_at(first_), 3);
  const auto answered = chat(gateway_->port(), gateway_->key(), scenario_request("reply=fine", false));
  EXPECT_EQ(answered.status, 200) << answered.body;
  EXPECT_EQ(requests_at(first_), 4);
  EXPECT_EQ(target_view(health(*gateway_), 0)["state"], "healthy") << "a success closes the circuit";
  EXPECT_NE(gateway_->log().find("recovered"), std::string::npos);
}

TEST_F(FailoverTest, AClientLeavingDuringTheBackoffCancelsTheRetry) {
  start(target_yaml(first_.base_url(), "status=529") + target_yaml(second_.base_url()),
        "  backoff_initial_ms: 1500\n  backoff_max_ms: 1500\n  retry_budget_ms: 5000\n");
  const std::string id = new_request_id("backoff-leave");
  {
    Connection client(gateway_->port());
    client.send_raw(
        chat_request_text(gateway_->key(), scenario_request("reply=x", true), {{"X-Request-ID", id}}));
    ASSERT_TRUE(eventually([&] { return requests_at(first_) == 1; }));
    client.abort();
  }
  const auto line = access_log_line(*gateway_, id);
  EXPECT_NE(line.find("499"), std::string::npos) << line;
  std::this_thread::sleep_for(2s);  // past the 1500 ms pause the retry would have waited
  EXPECT_EQ(requests_at(second_), 0) << "the pending attempt was cancelled with its client";
  EXPECT_EQ(health(*gateway_).status, 200) << "the gateway still answers";
}

}  // namespace
