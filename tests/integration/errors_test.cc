// Bad input and upstream faults: every one gets an OpenAI-shaped error or a cleanly ended stream.
#include <gtest/gtest.h>

#include "harness.h"

using namespace harness;
using nlohmann::json;

namespace {

/// Asserts the body is {"error":{"message","type","param","code"}} and returns the error object.
json openai_error(const Response& r) {
  const auto body = json::parse(r.body, nullptr, false);
  EXPECT_TRUE(body.is_object()) << r.body;
  if (!body.is_object()) return json::object();
  const auto& error = body["error"];
  EXPECT_TRUE(error.contains("message") && error["message"].is_string()) << r.body;
  EXPECT_TRUE(error.contains("type")) << r.body;
  EXPECT_TRUE(error.contains("param")) << r.body;
  EXPECT_TRUE(error.contains("code")) << r.body;
  return error;
}

}  // namespace

struct ErrorSettings {
  static void apply(GatewayOptions& options) {
    options.first_byte_timeout_ms = 1500;
    options.idle_timeout_ms = 1000;
    options.max_request_bytes = 64 * 1024;
  }
};

class ErrorsTest : public GatewaySuite<ErrorSettings> {
 protected:
  Response post_chat(const std::string& body) {
    return http(gateway_->port(), "POST", "/v1/chat/completions",
                {{"Authorization", "Bearer " + gateway_->key()}, {"Content-Type", "application/json"}}, body);
  }
};

TEST_F(ErrorsTest, MalformedJsonIs400) {
  const auto r = post_chat("{\"model\": \"gpt-4o\", \"messages\": [");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(openai_error(r)["code"], "invalid_json");
}

TEST_F(ErrorsTest, MissingOrEmptyMessagesIs400NamingTheParam) {
  auto r = post_chat(R"({"model":"gpt-4o"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(openai_error(r)["param"], "messages");
  r = post_chat(R"({"model":"gpt-4o","messages":[]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(openai_error(r)["param"], "messages");
  r = post_chat(R"({"model":"gpt-4o","messages":[{"role":"wizard","content":"x"}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(openai_error(r)["param"], "messages[0].role");
}

TEST_F(ErrorsTest, UnknownModelIs404ModelNotFound) {
  const auto r = post_chat(R"({"model":"gpt-99","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(openai_error(r)["code"], "model_not_found");
}

TEST_F(ErrorsTest, BadOrMissingKeyIs401BeforeAnythingElse) {
  auto r = http(gateway_->port(), "POST", "/v1/chat/completions",
                {{"Authorization", "Bearer sk-wrong-key-000000000000"}}, "{bad");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(openai_error(r)["code"], "invalid_api_key");
  EXPECT_EQ(r.body.find("sk-wrong-key-000000000000"), std::string::npos) << "the key is masked";
  r = http(gateway_->port(), "GET", "/v1/models");
  EXPECT_EQ(r.status, 401);
  openai_error(r);
  r = http(gateway_->port(), "GET", "/v1/models", {{"x-api-key", gateway_->key()}});
  EXPECT_EQ(r.status, 200);
}

TEST_F(ErrorsTest, UnsupportedParametersAre400NamingTheParam) {
  for (const auto& [param, value] : std::vector<std::pair<std::string, json>>{
           {"n", 2},
           {"tools", json::array({{{"type", "function"}, {"function", {{"name", "f"}}}}})},
           {"logprobs", true},
           {"audio", {{"voice", "alloy"}}},
           {"temperature", "hot"}}) {
    auto body = scenario_request("ok", false);
    body[param] = value;
    const auto r = chat(gateway_->port(), gateway_->key(), body);
    EXPECT_EQ(r.status, 400) << param;
    EXPECT_EQ(openai_error(r)["param"], param);
  }
}

TEST_F(ErrorsTest, UnknownRouteAndWrongMethodAreJson) {
  auto r = http(gateway_->port(), "GET", "/v1/nothing", {{"Authorization", "Bearer " + gateway_->key()}});
  EXPECT_EQ(r.status, 404);
  openai_error(r);
  r = http(gateway_->port(), "GET", "/v1/chat/completions", {{"Authorization", "Bearer " + gateway_->key()}});
  EXPECT_EQ(r.status, 405);
  openai_error(r);
}

TEST_F(ErrorsTest, OversizeBodyIs413AndTheConnectionCloses) {
  Connection c(gateway_->port());
  const std::string body(200 * 1024, 'x');
  c.send_raw(
      request_text("POST", "/v1/chat/completions", {{"Authorization", "Bearer " + gateway_->key()}}, body));
  const auto r = c.read_response();
  EXPECT_EQ(r.status, 413);
  openai_error(r);
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(http(gateway_->port(), "GET", "/health").status, 200) << "the gateway is still serving";
}

TEST_F(ErrorsTest, GarbageHttpGets400AndClose) {
  Connection c(gateway_->port());
  c.send_raw("THIS IS NOT HTTP\r\n\r\n");
  const auto r = c.read_response();
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(ErrorsTest, UpstreamStatusesAreMapped) {
  struct Case {
    std::string scenario;
    int status;
    std::string code;
  };
  // The daily limit resets at once (a reset in the past starts no wait): a later reset would hold
  // back the suite's next requests.
  for (const auto& c : std::vector<Case>{{"status=429,ratelimit,reset_in_ms=0", 429, "rate_limit_exceeded"},
                                         {"status=529", 503, "upstream_overloaded"},
                                         {"status=503", 503, "upstream_overloaded"},
                                         {"status=403", 502, "upstream_auth_failed"},
                                         {"status=500", 502, "upstream_error"},
                                         {"status=500-empty", 502, "upstream_error"},
                                         {"garbage", 502, "bad_upstream_response"}}) {
    for (bool stream : {false, true}) {
      const auto r = chat(gateway_->port(), gateway_->key(), scenario_request(c.scenario, stream));
      EXPECT_EQ(r.status, c.status) << c.scenario << " stream=" << stream << " " << r.body;
      EXPECT_EQ(openai_error(r)["code"], c.code) << c.scenario;
      if (c.status == 429) {
        ASSERT_TRUE(r.headers.count("retry-after")) << "Retry-After from x-ratelimit-reset";
        const int seconds = std::stoi(r.headers.at("retry-after"));
        EXPECT_GT(seconds, 0);
        EXPECT_LE(seconds, 86400);
      }
    }
  }
}

TEST_F(ErrorsTest, SlowFirstByteIs504) {
  const auto r = chat(gateway_->port(), gateway_->key(), scenario_request("first_byte_ms=4000", false));
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(openai_error(r)["code"], "upstream_timeout");
}

TEST_F(ErrorsTest, MidStreamDeathEndsTheStreamWithAnErrorEventThenDone) {
  for (const std::string scenario : {"die_after=5", "reset_after=5", "stall_after=5"}) {
    const auto r = chat(gateway_->port(), gateway_->key(), scenario_request(scenario, true));
    ASSERT_EQ(r.status, 200) << scenario;
    EXPECT_TRUE(r.complete) << scenario << ": the chunked stream is terminated cleanly";
    const auto events = sse_data(r.body);
    ASSERT_GE(events.size(), 2u) << scenario;
    EXPECT_EQ(events.back(), "[DONE]");
    const auto error = json::parse(events[events.size() - 2]);
    ASSERT_TRUE(error.contains("error")) << scenario << ": " << events[events.size() - 2];
    EXPECT_EQ(error["error"]["code"],
              scenario.starts_with("stall") ? "upstream_timeout" : "upstream_disconnected");
    for (const auto& e : events) {
      if (e.find("finish_reason\":\"stop") != std::string::npos)
        ADD_FAILURE() << "never a clean-looking success";
    }
  }
}

TEST_F(ErrorsTest, MidStreamDeathWithoutStreamingIs502) {
  const auto r = chat(gateway_->port(), gateway_->key(), scenario_request("die_after=5", false));
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(openai_error(r)["code"], "upstream_disconnected");
}

TEST_F(ErrorsTest, TruncatedObjectIsAnError) {
  // An answer the upstream cut off by its token budget is tested in answer_limits_test.cc.
  auto r = chat(gateway_->port(), gateway_->key(), scenario_request("truncated", false));
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(openai_error(r)["code"], "incomplete_answer");
}

TEST(UpstreamDownTest, ConnectFailureIs502) {
  GatewayOptions options;
  options.upstream_base = "http://127.0.0.1:9";  // discard port: nothing listens
  Gateway gateway(options);
  const auto r = chat(gateway.port(), gateway.key(), scenario_request("ok", true));
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(openai_error(r)["code"], "upstream_unreachable");
}

/// Its own gateway: the daily limit it hits holds back every later request.
struct DailyLimitSettings {
  static void apply(GatewayOptions&) {}
};

class UpstreamDailyLimitTest : public GatewaySuite<DailyLimitSettings> {};

TEST_F(UpstreamDailyLimitTest, RequestsWaitForTheResetInsteadOfReachingTheUpstream) {
  upstream_->reset();
  // Fragments' own limiter: 429 with x-ratelimit-reset 20 minutes from now.
  const auto first = chat(gateway_->port(), gateway_->key(),
                          scenario_request("status=429,ratelimit,reset_in_ms=1200000", false));
  ASSERT_EQ(first.status, 429) << first.body;
  ASSERT_EQ(upstream_->stats()["requests"], 1);
  for (bool stream : {false, true}) {
    const std::string id = new_request_id("daily-limit");
    const auto held =
        chat(gateway_->port(), gateway_->key(), scenario_request("ok", stream), {{"X-Request-ID", id}});
    EXPECT_EQ(held.status, 429) << held.body;
    EXPECT_EQ(openai_error(held)["code"], "rate_limit_exceeded");
    ASSERT_TRUE(held.headers.count("retry-after"));
    const int retry_after = std::stoi(held.headers.at("retry-after"));
    EXPECT_GE(retry_after, 1190) << "the upstream's reset, not a guess";
    EXPECT_LE(retry_after, 1200);
    EXPECT_EQ(usage_column(gateway_->storage_path(), id, "outcome"), "upstream_error")
        << "the upstream's limit, not the client's fault";
  }
  EXPECT_EQ(upstream_->stats()["requests"], 1) << "nothing reached the upstream while it was limited";
}
