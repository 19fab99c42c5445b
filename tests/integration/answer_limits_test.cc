// `stop` and `max_tokens` end to end: the gateway applies them to the decoded answer, never to
// Fragments' JSON envelope, ends the upstream transfer when it cuts, and counts what it delivered.
// The fake upstream cuts its raw output like a real model (stopSequences, maxTokens), so a
// gateway that forwarded them as before would fail here.
#include <gtest/gtest.h>

#include "harness.h"

using namespace harness;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

/// What a client made of one answer, streamed or not.
struct Answer {
  int status = 0;
  std::string content;
  std::string finish_reason;
  json usage;
  std::string body;
};

Answer read_answer(const Response& r, bool stream) {
  Answer answer{r.status, "", "", nullptr, r.body};
  if (r.status != 200) return answer;
  if (!stream) {
    const auto body = json::parse(r.body);
    answer.content = body["choices"][0]["message"]["content"];
    answer.finish_reason = body["choices"][0]["finish_reason"];
    answer.usage = body["usage"];
    return answer;
  }
  answer.content = streamed_content(r.body);
  for (const auto& data : sse_data(r.body)) {
    if (data == "[DONE]") continue;
    const auto event = json::parse(data);
    if (!event["choices"].empty() && event["choices"][0]["finish_reason"].is_string())
      answer.finish_reason = event["choices"][0]["finish_reason"];
    if (event.contains("usage") && event["usage"].is_object()) answer.usage = event["usage"];
  }
  return answer;
}

/// A request for the fake's `reply=` scenario with `extra` fields merged in.
json reply_request(const std::string& scenario, bool stream, const json& extra) {
  json body = scenario_request(scenario, stream);
  if (stream) body["stream_options"] = {{"include_usage", true}};
  for (const auto& [field, value] : extra.items()) body[field] = value;
  return body;
}

}  // namespace

class AnswerLimitsTest : public GatewaySuite<DefaultSettings> {
 protected:
  Answer ask(const json& body, const std::string& request_id = "") {
    std::map<std::string, std::string> headers;
    if (!request_id.empty()) headers["X-Request-ID"] = request_id;
    return read_answer(chat(gateway_->port(), gateway_->key(), body, headers), body.value("stream", false));
  }
  /// True once the usage row of `request_id` says `condition` (SQL over its columns).
  bool usage_row_says(const std::string& request_id, const std::string& condition) {
    return eventually([&] {
      return usage_row_count(gateway_->storage_path(),
                             "request_id = '" + request_id + "' AND " + condition) == 1;
    });
  }
};

TEST_F(AnswerLimitsTest, StopCutsTheAnswerBeforeTheSequence) {
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "stream" : "json");
    const std::string id = std::string("stop-") + (stream ? "stream" : "json");
    const auto answer =
        ask(reply_request("reply=count%20the%20numbers%20and%20more", stream, {{"stop", {"numbers"}}}), id);
    ASSERT_EQ(answer.status, 200) << answer.body;
    EXPECT_EQ(answer.content, "count the ");
    EXPECT_EQ(answer.finish_reason, "stop");
    EXPECT_EQ(answer.usage["completion_tokens"], 3) << "usage counts what was delivered";
    EXPECT_TRUE(usage_row_says(id, "outcome = 'completed' AND status = 200 AND completion_tokens = 3"));
  }
  EXPECT_FALSE(upstream_->stats()["last_request"]["config"].contains("stopSequences"))
      << "stop is never sent upstream, where it would cut the JSON envelope";
}

TEST_F(AnswerLimitsTest, StopSequencesThatOccurInTheEnvelopeDoNotTouchTheAnswer) {
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "stream" : "json");
    const auto answer = ask(reply_request("reply=plain%20words", stream,
                                          {{"stop", {"\"commentary\"", "file_path", "template"}}}));
    ASSERT_EQ(answer.status, 200) << answer.body;
    EXPECT_EQ(answer.content, "plain words");
    EXPECT_EQ(answer.finish_reason, "stop");
  }
}

TEST_F(AnswerLimitsTest, AStopSequenceSplitAcrossEveryChunkIsStillFound) {
  // One byte per upstream chunk: the sequence reaches the gateway in many pieces.
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "stream" : "json");
    const auto answer = ask(reply_request("reply=first%20%E4%B8%AD%E6%96%87END%20second,chunk=1-1,delay_ms=0",
                                          stream, {{"stop", {"中文END", "never"}}}));
    ASSERT_EQ(answer.status, 200) << answer.body;
    EXPECT_EQ(answer.content, "first ");
    EXPECT_EQ(answer.finish_reason, "stop");
    EXPECT_EQ(answer.body.find("中"), std::string::npos) << "no part of the match reaches the client";
  }
}

TEST_F(AnswerLimitsTest, MaxTokensCountsTheAnswerNotTheEnvelope) {
  for (const char* field : {"max_tokens", "max_completion_tokens"}) {
    for (const bool stream : {false, true}) {
      SCOPED_TRACE(std::string(field) + (stream ? " stream" : " json"));
      const std::string id = std::string("budget-") + field + (stream ? "-stream" : "-json");
      const auto answer = ask(reply_request("long=4000,tag=budget", stream, {{field, 60}}), id);
      ASSERT_EQ(answer.status, 200) << answer.body;
      // ASCII text counts one token per four bytes: the whole budget is 240 bytes of answer.
      EXPECT_EQ(answer.content, long_reply("budget", 240));
      EXPECT_EQ(answer.finish_reason, "length");
      EXPECT_EQ(answer.usage["completion_tokens"], 60);
      EXPECT_TRUE(usage_row_says(id, "outcome = 'completed' AND completion_tokens = 60"));
      EXPECT_EQ(upstream_->stats()["last_request"]["config"]["maxTokens"], 60 + 256)
          << "the client's budget plus the envelope allowance";
    }
  }
}

TEST_F(AnswerLimitsTest, AnAnswerWithinTheBudgetEndsNormally) {
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "stream" : "json");
    const auto answer = ask(reply_request("reply=short%20answer", stream, {{"max_tokens", 50}}));
    ASSERT_EQ(answer.status, 200) << answer.body;
    EXPECT_EQ(answer.content, "short answer");
    EXPECT_EQ(answer.finish_reason, "stop");
  }
}

TEST_F(AnswerLimitsTest, AnAnswerTheModelCutAtItsOwnBudgetEndsWithLength) {
  // Escaped CJK costs the model six bytes per character: its budget (the client's plus the
  // envelope allowance) runs out before the gateway's count of the answer reaches the client's.
  std::string cjk;
  for (int i = 0; i < 600; ++i) cjk += "%E4%B8%AD";  // 中
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "stream" : "json");
    const auto answer = ask(reply_request("reply=" + cjk + ",ascii", stream, {{"max_tokens", 400}}));
    ASSERT_EQ(answer.status, 200) << answer.body;
    EXPECT_EQ(answer.finish_reason, "length");
    EXPECT_GT(answer.content.size(), 300u * 3);
    EXPECT_LT(answer.content.size(), 400u * 3) << "the model's budget ended it, not the gateway's";
  }
}

TEST_F(AnswerLimitsTest, ACutEndsTheUpstreamTransferAtOnce) {
  // The fake would take seconds to send this answer; the cut ends its transfer long before.
  for (const json& limit : {json{{"max_tokens", 20}}, json{{"stop", "line 0003"}}}) {
    for (const bool stream : {false, true}) {
      SCOPED_TRACE(limit.dump() + (stream ? " stream" : " json"));
      upstream_->reset();
      const auto answer = ask(reply_request("long=20000,tag=slow,chunk=8-8,delay_ms=5", stream, limit));
      ASSERT_EQ(answer.status, 200) << answer.body;
      EXPECT_TRUE(eventually([&] { return upstream_->stats()["cancelled"] == 1; }))
          << upstream_->stats().dump();
      EXPECT_EQ(upstream_->stats()["completed"], 0);
    }
  }
}

TEST_F(AnswerLimitsTest, InvalidStopIsRejectedNamingStop) {
  for (const json& stop :
       {json(""), json(7), json::array({"1", "2", "3", "4", "5"}), json::array({"a", 1})}) {
    SCOPED_TRACE(stop.dump());
    const auto r = chat(gateway_->port(), gateway_->key(), reply_request("ok", false, {{"stop", stop}}));
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(json::parse(r.body)["error"]["param"], "stop") << r.body;
  }
}

TEST_F(AnswerLimitsTest, StopAtTheStartGivesAnEmptyAnswerEndedByStop) {
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "stream" : "json");
    const auto answer = ask(reply_request("reply=Hello%20there", stream, {{"stop", "Hello"}}));
    ASSERT_EQ(answer.status, 200) << answer.body;
    EXPECT_EQ(answer.content, "");
    EXPECT_EQ(answer.finish_reason, "stop");
    EXPECT_EQ(answer.usage["completion_tokens"], 0);
  }
}
