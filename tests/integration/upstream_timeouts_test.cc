// The upstream's think time is not idle time: whenever the response head arrives, the first-byte
// timeout runs until the first body byte, and the idle timeout only applies between body bytes.
// `head_first` makes the fake upstream send its head at once, like a CDN or edge runtime in
// front of Fragments; plain `first_byte_ms` holds the head back, like Fragments itself.
#include <gtest/gtest.h>


#include "harness.h"

using namespace harness;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr auto kIdleTimeout = 300ms;
constexpr auto kFirstByteTimeout = 2000ms;
/// Longer than the idle timeout and well inside the first-byte timeout.
const std::string kThinkMs = "900";
/// Far past the first-byte timeout.
const std::string kNeverMs = "8000";

/// Timeouts short enough for a test, with clear margins on a loaded machine.
struct TimeoutSettings {
  static void apply(GatewayOptions& options) {
    options.idle_timeout_ms = static_cast<int>(kIdleTimeout.count());
    options.first_byte_timeout_ms = static_cast<int>(kFirstByteTimeout.count());
  }
};

/// The fake upstream's default answer to `scenario_request(scenario, ...)`.
std::string echo_of(const std::string& scenario) {
  return "Echo: scenario:" + scenario;
}

/// The `error` object of an OpenAI-shaped error body, or null.
json error_object(const Response& r) {
  const auto body = json::parse(r.body, nullptr, false);
  return body.is_object() && body.contains("error") ? body["error"] : json();
}

std::string mode(bool stream) {
  return stream ? "stream" : "non-stream";
}

}  // namespace

class UpstreamTimeoutsTest : public GatewaySuite<TimeoutSettings> {
 protected:
  struct Timed {
    Response response;
    std::string request_id;
    std::chrono::milliseconds elapsed;
  };

  /// Sends the scenario tagged with a fresh request id and measures how long the answer took.
  Timed timed_chat(const std::string& scenario, bool stream) {
    const auto id = new_request_id(stream ? "timeouts-stream" : "timeouts-plain");
    const auto start = std::chrono::steady_clock::now();
    auto r =
        chat(gateway_->port(), gateway_->key(), scenario_request(scenario, stream), {{"X-Request-ID", id}});
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    return {std::move(r), id, elapsed};
  }

  /// True once the usage row of `request_id` is committed with this status and outcome.
  bool usage_row_is(const std::string& request_id, int status, const std::string& outcome) {
    const std::string where = "request_id = '" + request_id + "' AND status = " + std::to_string(status) +
                              " AND outcome = '" + outcome + "'";
    return eventually([&] { return usage_row_count(gateway_->storage_path(), where) == 1; });
  }

  /// Asserts a complete, correct answer to `scenario` in the given mode.
  void expect_answer(const Timed& t, const std::string& scenario, bool stream) {
    ASSERT_EQ(t.response.status, 200) << mode(stream) << ": " << t.response.body;
    EXPECT_TRUE(t.response.complete) << mode(stream);
    if (stream) {
      EXPECT_TRUE(stream_error_event(t.response.body).is_null()) << t.response.body;
      EXPECT_EQ(streamed_content(t.response.body), echo_of(scenario));
      EXPECT_NE(t.response.body.find("\"finish_reason\":\"stop\""), std::string::npos) << t.response.body;
    } else {
      const auto answer = json::parse(t.response.body, nullptr, false);
      ASSERT_TRUE(answer.is_object()) << t.response.body;
      EXPECT_EQ(answer["choices"][0]["message"]["content"], echo_of(scenario));
      EXPECT_EQ(answer["choices"][0]["finish_reason"], "stop");
    }
    EXPECT_TRUE(usage_row_is(t.request_id, 200, "completed")) << mode(stream);
  }

  /// Asserts the 504 `upstream_timeout` of an answer that never started, after at least the
  /// first-byte timeout; a stream's head was not committed yet, so it gets the same plain error.
  void expect_first_byte_timeout(const Timed& t, bool stream) {
    EXPECT_EQ(t.response.status, 504) << mode(stream) << ": " << t.response.body;
    const auto error = error_object(t.response);
    ASSERT_TRUE(error.is_object()) << mode(stream) << ": " << t.response.body;
    EXPECT_EQ(error["code"], "upstream_timeout");
    EXPECT_EQ(error["message"], "The upstream did not start answering in time");
    EXPECT_GE(t.elapsed, kFirstByteTimeout - 100ms) << mode(stream) << ": not cut short by the idle timeout";
    EXPECT_TRUE(usage_row_is(t.request_id, 504, "timeout")) << mode(stream);
  }
};

TEST_F(UpstreamTimeoutsTest, ThinkTimeAfterAnEarlyHeadIsNotIdleTime) {
  const std::string scenario = "head_first,first_byte_ms=" + kThinkMs;
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(mode(stream));
    const auto t = timed_chat(scenario, stream);
    expect_answer(t, scenario, stream);
    EXPECT_GE(t.elapsed, std::chrono::milliseconds(std::stoi(kThinkMs))) << "the upstream really thought";
  }
}

TEST_F(UpstreamTimeoutsTest, EarlyHeadWithoutABodyInTimeIsAFirstByteTimeout) {
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(mode(stream));
    expect_first_byte_timeout(timed_chat("head_first,first_byte_ms=" + kNeverMs, stream), stream);
  }
}

TEST_F(UpstreamTimeoutsTest, BodylessErrorAfterAnEarlyHeadAndThinkTimeIsMappedNotTimedOut) {
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(mode(stream));
    const auto t = timed_chat("status=500-empty,head_first,first_byte_ms=" + kThinkMs, stream);
    EXPECT_EQ(t.response.status, 502) << t.response.body;
    EXPECT_EQ(openai_error_code(t.response), "upstream_error") << t.response.body;
    EXPECT_TRUE(usage_row_is(t.request_id, 502, "upstream_error"));
  }
}

TEST_F(UpstreamTimeoutsTest, SilenceAfterTheFirstBodyByteIsStillTheIdleTimeout) {
  // With and without think time after an early head: once the body has begun, a stall ends it.
  for (const std::string& scenario :
       {std::string("stall_after=5"), "head_first,first_byte_ms=" + kThinkMs + ",stall_after=5"}) {
    for (const bool stream : {false, true}) {
      SCOPED_TRACE(mode(stream) + " " + scenario);
      const auto t = timed_chat(scenario, stream);
      json error;
      if (stream) {
        ASSERT_EQ(t.response.status, 200) << "the stream had begun: " << t.response.body;
        EXPECT_TRUE(t.response.complete) << "the chunked stream is terminated cleanly";
        error = stream_error_event(t.response.body);
      } else {
        EXPECT_EQ(t.response.status, 504) << t.response.body;
        error = error_object(t.response);
      }
      ASSERT_TRUE(error.is_object()) << t.response.body;
      EXPECT_EQ(error["code"], "upstream_timeout");
      EXPECT_EQ(error["message"], "The upstream stopped sending in the middle of the answer");
      EXPECT_TRUE(usage_row_is(t.request_id, stream ? 200 : 504, "timeout"));
    }
  }
}

TEST_F(UpstreamTimeoutsTest, HeadHeldBackUntilTheFirstChunkWorksAsBefore) {
  const std::string thinking = "first_byte_ms=" + kThinkMs;
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(mode(stream));
    expect_answer(timed_chat(thinking, stream), thinking, stream);
    expect_first_byte_timeout(timed_chat("first_byte_ms=" + kNeverMs, stream), stream);
  }
}
