// Unit tests of the OpenAI response objects and SSE events, and of the token estimates.
#include "openai/chat_format.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace gateway::openai {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Token estimates

std::string repeat(const std::string& text, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += text;
  return out;
}

TEST(TokenEstimator, EmptyTextIsZero) {
  EXPECT_EQ(TokenEstimator().tokens(), 0);
  EXPECT_EQ(estimate_tokens(""), 0);
}

TEST(TokenEstimator, AsciiCountsOneTokenPerFourBytes) {
  for (int n : {1, 2, 25, 1000}) EXPECT_EQ(estimate_tokens(repeat("abcd", n)), n) << n;
  EXPECT_EQ(estimate_tokens("a"), 1);
  EXPECT_EQ(estimate_tokens("abcde"), 2);
}

TEST(TokenEstimator, CjkAndEmojiCountOnePerCharacter) {
  EXPECT_EQ(estimate_tokens("中文回复"), 4);
  EXPECT_EQ(estimate_tokens(repeat("漢", 100)), 100);
  EXPECT_EQ(estimate_tokens("😀🎉"), 2);
  EXPECT_EQ(estimate_tokens("ab中"), 2);  // one wide + ceil(2 / 4)
}

TEST(TokenEstimator, PiecesAddUpToTheWhole) {
  const std::string text = "Hello, wörld! 中文回复 😀🎉 done";
  const auto whole = estimate_tokens(text);
  for (std::size_t split = 0; split <= text.size(); ++split) {  // including inside multi-byte characters
    TokenEstimator estimator;
    estimator.add(std::string_view(text).substr(0, split));
    estimator.add(std::string_view(text).substr(split));
    EXPECT_EQ(estimator.tokens(), whole) << "split at byte " << split;
  }
  TokenEstimator bytewise;
  for (char c : text) bytewise.add(std::string_view(&c, 1));
  EXPECT_EQ(bytewise.tokens(), whole);
}

TEST(TokenEstimator, TwoByteCharactersAreNotCountedAsWide) {
  const auto tokens = estimate_tokens(repeat("é", 40));  // 80 bytes, 40 characters
  EXPECT_GE(tokens, 10);
  EXPECT_LE(tokens, 20);
}

TEST(TokenEstimator, AccumulatesAcrossAdds) {
  TokenEstimator estimator;
  estimator.add("ab");
  estimator.add("cd");
  EXPECT_EQ(estimator.tokens(), 1);
  estimator.add("中");
  EXPECT_EQ(estimator.tokens(), 2);
}

json message(const std::string& role, json content) {
  return {{"role", role}, {"content", std::move(content)}};
}

TEST(EstimatePromptTokens, EachMessageAddsOverheadPlusItsText) {
  const auto none = estimate_prompt_tokens(json::array());
  const auto one_empty = estimate_prompt_tokens(json::array({message("user", "")}));
  const auto two_empty = estimate_prompt_tokens(json::array({message("user", ""), message("assistant", "")}));
  const auto per_message = one_empty - none;
  EXPECT_GE(none, 0);
  EXPECT_GT(per_message, 0);
  EXPECT_EQ(two_empty - one_empty, per_message);
  const std::string text = repeat("abcd", 10) + "中文";
  EXPECT_EQ(estimate_prompt_tokens(json::array({message("user", text)})), one_empty + estimate_tokens(text));
}

TEST(EstimatePromptTokens, CountsTextPartsButNotImages) {
  const auto one_empty = estimate_prompt_tokens(json::array({message("user", "")}));
  const json parts = json::array(
      {{{"type", "text"}, {"text", repeat("abcd", 3)}},
       {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64," + repeat("A", 4000)}}}},
       {{"type", "text"}, {"text", "中文"}}});
  EXPECT_EQ(estimate_prompt_tokens(json::array({message("user", parts)})), one_empty + 3 + 2);
}

TEST(EstimatePromptTokens, NullOrMissingContentCountsOnlyOverhead) {
  const auto one_empty = estimate_prompt_tokens(json::array({message("user", "")}));
  EXPECT_EQ(estimate_prompt_tokens(json::array({message("assistant", nullptr)})), one_empty);
  EXPECT_EQ(estimate_prompt_tokens(json::array({{{"role", "assistant"}}})), one_empty);
}

// ---------------------------------------------------------------------------------------------
// Response objects

TEST(ResponseObjects, ChunkHasTheOpenAIShape) {
  const json c = json::parse(chunk({"chatcmpl-1", 1700000000, "gpt-4o"}, {.text = "Hi"}, nullptr, false));
  EXPECT_EQ(c["id"], "chatcmpl-1");
  EXPECT_EQ(c["object"], "chat.completion.chunk");
  EXPECT_EQ(c["created"], 1700000000);
  EXPECT_EQ(c["model"], "gpt-4o");
  ASSERT_TRUE(c["choices"].is_array());
  ASSERT_EQ(c["choices"].size(), 1u);
  const json& choice = c["choices"][0];
  EXPECT_EQ(choice["index"], 0);
  EXPECT_EQ(choice["delta"], (json{{"content", "Hi"}}));
  EXPECT_TRUE(choice.contains("finish_reason") && choice["finish_reason"].is_null());
  EXPECT_FALSE(c.contains("usage"));
}

TEST(ResponseObjects, ChunkDeltas) {
  const AnswerIdentity answer{"chatcmpl-1", 1, "gpt-4o"};
  const auto delta_of = [&](const ChunkDelta& delta) {
    return json::parse(chunk(answer, delta, nullptr, false))["choices"][0]["delta"];
  };
  EXPECT_EQ(delta_of({.opening = true}), (json{{"role", "assistant"}, {"content", ""}}));
  EXPECT_EQ(delta_of({.reasoning = true, .text = "hm"}), (json{{"reasoning_content", "hm"}}));
  EXPECT_EQ(delta_of({}), json::object());
}

TEST(ResponseObjects, ChunksSayUsageNullWhenUsageWasAskedFor) {
  const json c = json::parse(chunk({"chatcmpl-1", 1, "gpt-4o"}, {.text = "Hi"}, nullptr, true));
  ASSERT_TRUE(c.contains("usage"));
  EXPECT_TRUE(c["usage"].is_null());
}

TEST(ResponseObjects, FinalChunkCarriesFinishReason) {
  const json c = json::parse(chunk({"chatcmpl-1", 1, "gpt-4o"}, {}, "length", false));
  EXPECT_EQ(c["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(c["choices"][0]["delta"], json::object());
}

TEST(ResponseObjects, UsageChunkHasNoChoices) {
  const json c = json::parse(usage_chunk({"chatcmpl-1", 1, "gpt-4o"}, Usage{3, 4, true}));
  EXPECT_EQ(c["object"], "chat.completion.chunk");
  EXPECT_EQ(c["choices"], json::array());
  EXPECT_EQ(c["usage"], (json{{"prompt_tokens", 3}, {"completion_tokens", 4}, {"total_tokens", 7}}));
}

TEST(ResponseObjects, CompletionHasTheOpenAIShape) {
  const json c = json::parse(completion({"chatcmpl-2", 1700000001, "4o"}, "The answer.", "",
                                        FinishReason::Stop, Usage{12, 5, true}));
  EXPECT_EQ(c["id"], "chatcmpl-2");
  EXPECT_EQ(c["object"], "chat.completion");
  EXPECT_EQ(c["created"], 1700000001);
  EXPECT_EQ(c["model"], "4o");
  ASSERT_EQ(c["choices"].size(), 1u);
  const json& choice = c["choices"][0];
  EXPECT_EQ(choice["index"], 0);
  EXPECT_EQ(choice["message"]["role"], "assistant");
  EXPECT_EQ(choice["message"]["content"], "The answer.");
  EXPECT_FALSE(choice["message"].contains("reasoning_content"));
  EXPECT_EQ(choice["finish_reason"], "stop");
  EXPECT_EQ(c["usage"], (json{{"prompt_tokens", 12}, {"completion_tokens", 5}, {"total_tokens", 17}}));
}

TEST(ResponseObjects, CompletionCarriesReasoningAndLength) {
  const json c =
      json::parse(completion({"id", 1, "m"}, "partial", "thinking...", FinishReason::Length, Usage{}));
  EXPECT_EQ(c["choices"][0]["message"]["reasoning_content"], "thinking...");
  EXPECT_EQ(c["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(c["usage"]["total_tokens"], 0);
}

TEST(ResponseObjects, FinishReasonNames) {
  EXPECT_STREQ(finish_reason_name(FinishReason::Stop), "stop");
  EXPECT_STREQ(finish_reason_name(FinishReason::Length), "length");
}

/// The SSE event of a chunk whose delta carries `text`.
std::string text_event(std::string_view text) {
  return sse_event(chunk({"chatcmpl-1", 1, "gpt-4o"}, {.text = text}, nullptr, false));
}

/// The content of the chunk in `event`; fails the test unless it is one well-formed event.
std::string content_of(const std::string& event) {
  EXPECT_TRUE(event.starts_with("data: ") && event.ends_with("\n\n")) << event;
  const std::string payload = event.substr(6, event.size() - 8);
  EXPECT_EQ(payload.find('\n'), std::string::npos) << event;
  // Throws if the payload were not valid JSON or not valid UTF-8.
  return json::parse(payload)["choices"][0]["delta"]["content"].get<std::string>();
}

TEST(SseEvent, IsOneDataLine) {
  EXPECT_EQ(content_of(text_event("line one\nline two")), "line one\nline two");
}

TEST(SseEvent, KeepsValidUtf8Unescaped) {
  const std::string event = text_event("中文 😀");
  EXPECT_NE(event.find("中文 😀"), std::string::npos) << event;
}

TEST(SseEvent, ReplacesInvalidUtf8InsteadOfThrowing) {
  std::string event;
  ASSERT_NO_THROW(event = text_event("ok \xff\xfe and \xe4\xb8"));  // stray bytes, truncated 中
  const std::string content = content_of(event);
  EXPECT_TRUE(content.starts_with("ok ")) << content;
  EXPECT_NE(content.find("\xEF\xBF\xBD"), std::string::npos) << content;  // U+FFFD
  EXPECT_NE(content.find(" and "), std::string::npos) << content;
  EXPECT_EQ(content.find('\xff'), std::string::npos);
}

}  // namespace
}  // namespace gateway::openai
