// Unit tests of the errors clients get for Fragments failures.
#include "error_mapping.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "chunked_body.h"

#ifndef FRAGMENTS_WIRE_DIR
#error "FRAGMENTS_WIRE_DIR must be the path of tests/fixtures/fragments-wire"
#endif

namespace e2b::fragments {
namespace {

using gateway::Headers;
using gateway::LocalResponse;
using gateway::UpstreamEnd;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::system_clock;

test::CapturedResponse capture(const std::string& name) {
  return test::load_capture(std::string(FRAGMENTS_WIRE_DIR) + "/" + name);
}

Headers headers_of(const test::CapturedResponse& c) {
  return Headers(c.headers.begin(), c.headers.end());
}

system_clock::time_point at_ms(long long epoch_ms) {
  return system_clock::time_point(milliseconds(epoch_ms));
}

const system_clock::time_point kNow = at_ms(1'795'800'000'000);  // any fixed instant

LocalResponse map_capture(const std::string& name, system_clock::time_point now = kNow) {
  const auto c = capture(name);
  return map_upstream_status(c.status, headers_of(c), c.body, now);
}

/// Checks the OpenAI error shape and returns the `error` object.
json expect_openai_error(const LocalResponse& response, int status, const std::string& type,
                         const std::string& code) {
  EXPECT_EQ(response.status, status);
  EXPECT_EQ(gateway::find_header(response.headers, "content-type"), "application/json");
  const json body = json::parse(response.body, nullptr, false);
  EXPECT_TRUE(body.is_object()) << response.body;
  if (!body.is_object() || !body.contains("error")) {
    ADD_FAILURE() << "no error object: " << response.body;
    return nullptr;
  }
  EXPECT_EQ(body.size(), 1u) << response.body;
  const json& error = body["error"];
  EXPECT_EQ(error.size(), 4u) << response.body;
  EXPECT_TRUE(error.contains("message") && error["message"].is_string() &&
              !error["message"].get<std::string>().empty())
      << response.body;
  EXPECT_EQ(error.value("type", json()), type);
  EXPECT_TRUE(error.contains("param") && error["param"].is_null()) << response.body;
  EXPECT_EQ(error.value("code", json()), code);
  return error;
}

std::optional<std::string> retry_after(const LocalResponse& response) {
  return gateway::find_header(response.headers, "retry-after");
}

std::string message_of(const LocalResponse& response) {
  return json::parse(response.body)["error"]["message"].get<std::string>();
}

// ---------------------------------------------------------------------------------------------
// HTTP status from Fragments

TEST(MapUpstreamStatus, OwnRateLimitGives429WithRetryAfterFromReset) {
  // Captured at Fri, 27 Nov 2026 03:05:06 GMT; the window resets at 2026-11-28 00:00 UTC.
  const auto captured_at = std::chrono::sys_days(std::chrono::year(2026) / 11 / 27) + std::chrono::hours(3) +
                           std::chrono::minutes(5) + std::chrono::seconds(6);
  const auto response = map_capture("err-ratelimit-own.raw", captured_at);
  expect_openai_error(response, 429, "requests", "rate_limit_exceeded");
  EXPECT_EQ(retry_after(response), "75294");  // 20 h 54 min 54 s
  EXPECT_NE(message_of(response).find("You have reached your request limit for the day."), std::string::npos)
      << "the upstream's sentence helps the caller";
}

TEST(MapUpstreamStatus, RetryAfterRoundsUpToWholeSeconds) {
  const long long reset = 1'795'824'000'000;
  const auto after = [&](long long now_ms) {
    return retry_after(
        map_upstream_status(429, {{"x-ratelimit-reset", std::to_string(reset)}}, "", at_ms(now_ms)));
  };
  EXPECT_EQ(after(reset - 90'500), "91");
  EXPECT_EQ(after(reset - 2'000), "2");
  EXPECT_EQ(after(reset - 1'001), "2");
  EXPECT_EQ(after(reset - 1'000), "1");
  EXPECT_EQ(after(reset - 1), "1");
}

TEST(MapUpstreamStatus, RetryAfterIsAtLeastOneSecondWhenResetHasPassed) {
  const long long reset = 1'795'824'000'000;
  for (long long now : {reset, reset + 1, reset + 3'600'000}) {
    EXPECT_EQ(
        retry_after(map_upstream_status(429, {{"x-ratelimit-reset", std::to_string(reset)}}, "", at_ms(now))),
        "1");
  }
}

TEST(MapUpstreamStatus, RateLimitResetHeaderNameIsCaseInsensitive) {
  const auto response = map_upstream_status(429, {{"X-RateLimit-Reset", "1795800010000"}}, "", kNow);
  EXPECT_EQ(retry_after(response), "10");
}

TEST(MapUpstreamStatus, ProviderRateLimitWithoutResetHasNoRetryAfter) {
  for (const char* name :
       {"err-openai-http429.raw", "err-ollama-http429.raw", "err-openai-http400limit.raw"}) {
    SCOPED_TRACE(name);
    const auto response = map_capture(name);
    expect_openai_error(response, 429, "requests", "rate_limit_exceeded");
    EXPECT_EQ(retry_after(response), std::nullopt);
  }
}

TEST(MapUpstreamStatus, MalformedResetHeaderGivesNoRetryAfter) {
  for (const char* value : {"", "tomorrow", "99999999999999999999999999"}) {
    SCOPED_TRACE(value);
    const auto response = map_upstream_status(429, {{"x-ratelimit-reset", value}}, "limited", kNow);
    expect_openai_error(response, 429, "requests", "rate_limit_exceeded");
    EXPECT_EQ(retry_after(response), std::nullopt);
  }
}

TEST(RateLimitRefusal, TellsTheWaitUntilTheResetInRetryAfter) {
  const long long now = 1'795'800'000'000;
  const auto refusal = rate_limit_refusal(at_ms(now + 90'500), at_ms(now + 500));
  expect_openai_error(refusal, 429, "requests", "rate_limit_exceeded");
  EXPECT_EQ(retry_after(refusal), "90");
  EXPECT_EQ(retry_after(rate_limit_refusal(at_ms(now + 90'500), at_ms(now + 89'600))), "1");
  EXPECT_EQ(retry_after(rate_limit_refusal(at_ms(now + 100 * 3'600'000LL), at_ms(now))), "86400")
      << "at most a day";
}

TEST(MapUpstreamStatus, OverloadedProviderGives503) {
  // Fragments answers 529 for both an LLM 503 and an LLM 529.
  for (const char* name : {"err-ollama-http529.raw", "err-ollama-http503.raw", "err-openai-http503.raw"}) {
    SCOPED_TRACE(name);
    ASSERT_EQ(capture(name).status, 529);
    const auto response = map_capture(name);
    expect_openai_error(response, 503, "server_error", "upstream_overloaded");
    EXPECT_TRUE(retry_after(response).has_value());
  }
  expect_openai_error(map_upstream_status(503, {}, "", kNow), 503, "server_error", "upstream_overloaded");
}

TEST(MapUpstreamStatus, ProviderAuthFailureGives502) {
  for (const char* name : {"err-ollama-http401.raw", "err-ollama-http403.raw", "err-openai-http401.raw"}) {
    SCOPED_TRACE(name);
    expect_openai_error(map_capture(name), 502, "upstream_error", "upstream_auth_failed");
  }
  expect_openai_error(map_upstream_status(401, {}, "", kNow), 502, "upstream_error", "upstream_auth_failed");
}

TEST(MapUpstreamStatus, InternalErrorGives502WithTheUpstreamStatus) {
  for (const char* name : {"err-ollama-http500.raw", "err-openai-http500.raw", "err-llm-unreachable.raw",
                           "err-ollama-http400.raw"}) {
    SCOPED_TRACE(name);
    const auto response = map_capture(name);
    expect_openai_error(response, 502, "upstream_error", "upstream_error");
    const std::string message = message_of(response);
    EXPECT_NE(message.find("HTTP 500"), std::string::npos) << message;
    EXPECT_NE(message.find("An unexpected error has occurred."), std::string::npos) << message;
  }
}

TEST(MapUpstreamStatus, EmptyInternalErrorGives502) {
  for (const char* name : {"req-missing-config.raw", "req-empty-body.raw"}) {
    SCOPED_TRACE(name);
    const auto c = capture(name);
    ASSERT_EQ(c.status, 500);
    ASSERT_TRUE(c.body.empty());
    const auto response = map_capture(name);
    expect_openai_error(response, 502, "upstream_error", "upstream_error");
    EXPECT_NE(message_of(response).find("HTTP 500"), std::string::npos);
  }
}

TEST(MapUpstreamStatus, NotFoundOrWrongMethodMeansMisconfiguredUpstream) {
  const auto c = capture("req-get.raw");
  ASSERT_EQ(c.status, 405);
  expect_openai_error(map_capture("req-get.raw"), 502, "upstream_error", "upstream_misconfigured");
  expect_openai_error(map_upstream_status(404, {}, "<html>Not Found</html>", kNow), 502, "upstream_error",
                      "upstream_misconfigured");
}

TEST(MapUpstreamStatus, OtherStatusesGive502) {
  for (int status : {400, 418, 502, 504}) {
    SCOPED_TRACE(status);
    expect_openai_error(map_upstream_status(status, {}, "nope", kNow), 502, "upstream_error",
                        "upstream_error");
  }
}

TEST(MapUpstreamStatus, LongOrMultilineBodyIsTrimmedIntoOneLine) {
  const std::string body = "first line\nsecond line\n" + std::string(5000, 'x');
  const std::string message = message_of(map_upstream_status(500, {}, body, kNow));
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_LT(message.size(), 1000u);
}

TEST(MapUpstreamStatus, EveryCapturedErrorIsOpenAIShaped) {
  int seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(FRAGMENTS_WIRE_DIR)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".raw") continue;
    const auto c = test::load_capture(entry.path().string());
    if (c.status == 200) continue;
    SCOPED_TRACE(name);
    ++seen;
    const auto response = map_upstream_status(c.status, headers_of(c), c.body, kNow);
    EXPECT_TRUE(response.status == 429 || response.status == 502 || response.status == 503)
        << response.status;
    const json body = json::parse(response.body);
    ASSERT_TRUE(body.contains("error"));
    for (const char* key : {"message", "type", "param", "code"})
      EXPECT_TRUE(body["error"].contains(key)) << key;
    EXPECT_TRUE(body["error"]["code"].is_string());
  }
  EXPECT_GE(seen, 20);
}

// ---------------------------------------------------------------------------------------------
// Transport failures

struct TransportCase {
  const char* name;
  UpstreamEnd end;
  int status;
  const char* type;
  const char* code;
};

void PrintTo(const TransportCase& c, std::ostream* os) {
  *os << c.name;
}

class MapTransportFailure : public testing::TestWithParam<TransportCase> {};

TEST_P(MapTransportFailure, GivesTheDocumentedError) {
  const auto& c = GetParam();
  expect_openai_error(map_transport_failure(c.end, "detail text"), c.status, c.type, c.code);
  expect_openai_error(map_transport_failure(c.end, ""), c.status, c.type, c.code);
}

INSTANTIATE_TEST_SUITE_P(
    Ends, MapTransportFailure,
    testing::Values(
        TransportCase{"ConnectFailed", UpstreamEnd::ConnectFailed, 502, "upstream_error",
                      "upstream_unreachable"},
        TransportCase{"ConnectTimeout", UpstreamEnd::ConnectTimeout, 504, "timeout", "upstream_timeout"},
        TransportCase{"FirstByteTimeout", UpstreamEnd::FirstByteTimeout, 504, "timeout", "upstream_timeout"},
        TransportCase{"IdleTimeout", UpstreamEnd::IdleTimeout, 504, "timeout", "upstream_timeout"},
        TransportCase{"Reset", UpstreamEnd::Reset, 502, "upstream_error", "upstream_disconnected"},
        TransportCase{"Protocol", UpstreamEnd::Protocol, 502, "upstream_error", "bad_upstream_response"}),
    [](const testing::TestParamInfo<TransportCase>& info) { return std::string(info.param.name); });

TEST(MapTransportFailureDetail, ConnectFailureMentionsTheCause) {
  const auto response = map_transport_failure(UpstreamEnd::ConnectFailed, "Connection refused");
  EXPECT_NE(message_of(response).find("Connection refused"), std::string::npos) << response.body;
}

TEST(MapTransportFailureDetail, CompleteIsStillAnOpenAIError) {
  // Not a failure the plugin should report, but the mapping must stay well-formed.
  expect_openai_error(map_transport_failure(UpstreamEnd::Complete, ""), 502, "upstream_error",
                      "upstream_error");
}

}  // namespace
}  // namespace e2b::fragments
