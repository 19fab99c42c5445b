// Failures end to end against the real binary and its SQLite file: what the client receives when
// an answer fails part-way or is cut off, that every refused or failed request still gets its
// usage row, and that key changes made through the admin API survive kill -9.
#include <gtest/gtest.h>

#include "harness.h"

using namespace harness;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

/// A short first-byte timeout, so that a slow upstream times out quickly.
struct AccountingSettings {
  static void apply(GatewayOptions& options) {
    options.first_byte_timeout_ms = 1500;
    options.idle_timeout_ms = 2000;
  }
};

}  // namespace

class FailureAccountingTest : public GatewaySuite<AccountingSettings> {
 protected:
  /// Sends a chat request tagged with a fresh request id; returns the response and that id.
  std::pair<Response, std::string> tagged_chat(const json& body, const std::string& what,
                                               const std::string& key = "") {
    const auto id = new_request_id(what);
    auto r = chat(gateway_->port(), key.empty() ? gateway_->key() : key, body, {{"X-Request-ID", id}});
    return {r, id};
  }
  std::string usage(const std::string& request_id, const std::string& column) {
    return usage_column(gateway_->storage_path(), request_id, column);
  }
};

TEST_F(FailureAccountingTest, StreamThatFailsMidwayDeliversThePrefixThenTheErrorAndCountsWhatWasDelivered) {
  constexpr std::size_t kFull = 20000;
  const auto [r, id] =
      tagged_chat(scenario_request("long=20000,tag=cut,chunk=100-200,die_after=12", true), "midway");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.complete) << "the chunked body ends with its terminating chunk";
  const auto error = stream_error_event(r.body);
  ASSERT_TRUE(error.is_object()) << "an error event, then [DONE]: " << r.body;
  EXPECT_EQ(error["code"], "upstream_disconnected");
  const auto delivered = streamed_content(r.body);
  const auto full = long_reply("cut", kFull);
  ASSERT_FALSE(delivered.empty()) << "part of the answer was streamed before the failure";
  EXPECT_LT(delivered.size(), full.size());
  EXPECT_EQ(full.substr(0, delivered.size()), delivered) << "the delivered part is an intact prefix";

  EXPECT_EQ(usage(id, "outcome"), "upstream_error");
  EXPECT_EQ(usage(id, "stream"), "1");
  const int completion_tokens = std::stoi("0" + usage(id, "completion_tokens"));
  EXPECT_GT(completion_tokens, 0) << "what was delivered is counted";
  // ASCII text counts one token per four bytes: the count follows the delivered prefix, not the
  // answer the upstream meant to send.
  EXPECT_GE(completion_tokens, static_cast<int>(delivered.size() / 4));
  EXPECT_LE(completion_tokens, static_cast<int>(delivered.size() / 4) + 1);
}

TEST_F(FailureAccountingTest, AnswerThatFailsMidwayWithoutStreamingIs502WithItsRow) {
  const auto [r, id] =
      tagged_chat(scenario_request("long=20000,chunk=100-200,die_after=12", false), "midway");
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(openai_error_code(r), "upstream_disconnected") << r.body;
  EXPECT_EQ(usage(id, "status"), "502");
  EXPECT_EQ(usage(id, "outcome"), "upstream_error");
}

TEST_F(FailureAccountingTest, AnswerCutOffFarBelowALargeBudgetIsIncomplete) {
  auto body = scenario_request("maxtokens_cut", false);
  body["max_tokens"] = 100000;
  auto [r, id] = tagged_chat(body, "cut");
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(openai_error_code(r), "incomplete_answer") << r.body;
  EXPECT_EQ(usage(id, "outcome"), "upstream_error");

  body["stream"] = true;
  std::tie(r, id) = tagged_chat(body, "cut-stream");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.complete);
  const auto error = stream_error_event(r.body);
  ASSERT_TRUE(error.is_object()) << r.body;
  EXPECT_EQ(error["code"], "incomplete_answer");
  EXPECT_EQ(r.body.find("\"finish_reason\":\"length\""), std::string::npos)
      << "not passed off as cut by max_tokens";
  EXPECT_EQ(usage(id, "outcome"), "upstream_error");
}

TEST_F(FailureAccountingTest, FirstByteTimeoutGetsARow) {
  for (const bool stream : {false, true}) {
    const auto [r, id] = tagged_chat(scenario_request("first_byte_ms=6000", stream), "timeout");
    EXPECT_EQ(r.status, 504) << "stream " << stream << ": " << r.body;
    EXPECT_EQ(openai_error_code(r), "upstream_timeout") << r.body;
    EXPECT_EQ(usage(id, "status"), "504") << "stream " << stream;
    EXPECT_EQ(usage(id, "outcome"), "timeout") << "stream " << stream;
  }
}

TEST_F(FailureAccountingTest, WrongKeyGetsARow) {
  const auto [r, id] = tagged_chat(scenario_request("ok", false), "badkey", "sk-test-wrong-key-0123456789");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(openai_error_code(r), "invalid_api_key") << r.body;
  EXPECT_EQ(usage(id, "status"), "401");
  EXPECT_EQ(usage(id, "outcome"), "rejected");
}

TEST_F(FailureAccountingTest, MalformedBodyGetsARow) {
  const auto id = new_request_id("malformed");
  const auto r = http(gateway_->port(), "POST", "/v1/chat/completions",
                      {{"Authorization", "Bearer " + gateway_->key()},
                       {"Content-Type", "application/json"},
                       {"X-Request-ID", id}},
                      "{\"model\": \"gpt-4o\", \"messages\": [");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(openai_error_code(r), "invalid_json") << r.body;
  EXPECT_EQ(usage(id, "status"), "400");
  EXPECT_EQ(usage(id, "outcome"), "rejected");
}

TEST_F(FailureAccountingTest, BodyOverTheSizeLimitGets413AtOnceAndARow) {
  // Only the head is sent: the declared length alone is refused, before any body byte arrives.
  const auto id = new_request_id("oversize");
  harness::Connection client(gateway_->port());
  client.send_raw("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                  gateway_->key() + "\r\nX-Request-ID: " + id +
                  "\r\nContent-Type: application/json\r\nContent-Length: 999999999\r\n\r\n");
  const auto r = client.read_response();
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(openai_error_code(r), "request_too_large") << r.body;
  EXPECT_EQ(r.headers.count("x-request-id") ? r.headers.at("x-request-id") : "", id);
  EXPECT_EQ(r.headers.count("connection") ? r.headers.at("connection") : "", "close");
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_EQ(usage(id, "status"), "413");
  EXPECT_EQ(usage(id, "outcome"), "rejected");
  EXPECT_TRUE(eventually([&] { return gateway_->log().find(id) != std::string::npos; }))
      << "the refusal has its access-log line";
}

TEST(KeyDurabilityTest, AdminKeyChangesSurviveKillNine) {
  FakeUpstream upstream;
  TempDir dir;
  GatewayOptions options;
  options.upstream_base = upstream.base_url();
  options.storage_path = (dir.path() / "gateway.db").string();
  std::string kept, disabled, disabled_id;
  {
    Gateway gateway(options);
    const std::map<std::string, std::string> admin{{"Authorization", "Bearer " + gateway.admin_token()},
                                                   {"Content-Type", "application/json"}};
    const auto tenant = http(gateway.admin_port(), "POST", "/admin/v1/tenants", admin, R"({"name": "Team"})");
    ASSERT_EQ(tenant.status, 201) << tenant.body;
    const std::string tenant_id = json::parse(tenant.body)["id"];
    const auto new_key = [&](const std::string& user) {
      const auto r = http(gateway.admin_port(), "POST", "/admin/v1/keys", admin,
                          json{{"tenant", tenant_id}, {"user", user}}.dump());
      EXPECT_EQ(r.status, 201) << r.body;
      return json::parse(r.body, nullptr, false);
    };
    kept = new_key("kept@example.com").value("key", "");
    const auto second = new_key("disabled@example.com");
    disabled = second.value("key", "");
    disabled_id = second.value("id", "");
    ASSERT_TRUE(kept.starts_with("sk-e2b-") && disabled.starts_with("sk-e2b-"));
    ASSERT_EQ(http(gateway.admin_port(), "POST", "/admin/v1/keys/" + disabled_id + "/disable", admin).status,
              200);
    EXPECT_EQ(chat(gateway.port(), kept, scenario_request("ok", false)).status, 200);
    EXPECT_EQ(chat(gateway.port(), disabled, scenario_request("ok", false)).status, 401);
    gateway.kill();  // no chance to flush anything: the changes were committed when answered
  }
  Gateway restarted(options);
  EXPECT_EQ(chat(restarted.port(), kept, scenario_request("ok", false)).status, 200) << "the created key";
  EXPECT_EQ(chat(restarted.port(), disabled, scenario_request("ok", false)).status, 401)
      << "the disabled key";
  const auto record = http(restarted.admin_port(), "GET", "/admin/v1/keys/" + disabled_id,
                           {{"Authorization", "Bearer " + restarted.admin_token()}});
  ASSERT_EQ(record.status, 200) << record.body;
  EXPECT_EQ(json::parse(record.body)["status"], "disabled");
}
