// Unit tests of chat-request validation, response objects and token estimates.
#include "openai/chat_format.h"

#include "gateway/chat_params.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <variant>

namespace gateway::openai {
namespace {

using nlohmann::json;

class ValidateChatRequest : public testing::Test {
 protected:
  ValidateChatRequest() {
    ModelInfo model;
    model.id = "gpt-4o";
    model.upstream_id = "gpt-4o-2024";
    model.provider_id = "openai";
    catalog.add(model);
    ModelInfo alias = model;
    alias.id = "4o";
    alias.alias_of = "gpt-4o";
    catalog.add(alias);
  }

  std::variant<ChatRequestInfo, LocalResponse> validate(const std::string& body) {
    return validate_chat_request(body, parsed, catalog);
  }

  std::variant<ChatRequestInfo, LocalResponse> validate(const json& body) { return validate(body.dump()); }

  /// A valid request with `extra` merged in (a null value in `extra` removes the key).
  static json request(const json& extra = json::object()) {
    json body{{"model", "gpt-4o"}, {"messages", json::array({{{"role", "user"}, {"content", "Hello"}}})}};
    for (const auto& [key, value] : extra.items()) {
      if (value.is_null())
        body.erase(key);
      else
        body[key] = value;
    }
    return body;
  }

  static json with_messages(json messages) { return request({{"messages", std::move(messages)}}); }

  /// Checks an OpenAI-shaped error and returns its `error` object.
  static json expect_error(const std::variant<ChatRequestInfo, LocalResponse>& result, int status,
                           const std::string& code, const json& param) {
    const auto* response = std::get_if<LocalResponse>(&result);
    if (response == nullptr) {
      ADD_FAILURE() << "request was accepted";
      return nullptr;
    }
    EXPECT_EQ(response->status, status);
    const json body = json::parse(response->body);
    const json& error = body.at("error");
    EXPECT_EQ(error.at("type"), "invalid_request_error");
    EXPECT_EQ(error.at("code"), code);
    EXPECT_EQ(error.at("param"), param);
    EXPECT_FALSE(error.at("message").get<std::string>().empty());
    return error;
  }

  static ChatRequestInfo expect_ok(const std::variant<ChatRequestInfo, LocalResponse>& result) {
    if (const auto* response = std::get_if<LocalResponse>(&result)) {
      ADD_FAILURE() << "rejected with " << response->status << ": " << response->body;
      return {};
    }
    return std::get<ChatRequestInfo>(result);
  }

  ModelCatalog catalog;
  json parsed;
};

TEST_F(ValidateChatRequest, MalformedJsonIsInvalidJson) {
  for (const char* body : {"{", "", "{\"model\": }", "not json", "{\"model\":\"gpt-4o\",}"}) {
    SCOPED_TRACE(body);
    expect_error(validate(std::string(body)), 400, "invalid_json", nullptr);
  }
}

TEST_F(ValidateChatRequest, JsonNestedPastTheLimitIsInvalidJsonNamingTheLimit) {
  const auto deep = [](std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  const std::string in_part_start =
      R"({"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"text","text":"hi","extra":)";
  for (const std::size_t depth : {std::size_t{60}, std::size_t{1000}, std::size_t{200'000}}) {
    SCOPED_TRACE(depth);
    // The part is at level 5, so its extra field exceeds 64 levels from a depth of 60 on.
    const auto error =
        expect_error(validate(in_part_start + deep(depth) + "}]}]}"), 400, "invalid_json", nullptr);
    EXPECT_NE(error.value("message", "").find("deeper than 64 levels"), std::string::npos) << error.dump();
    expect_error(validate(deep(depth)), 400, "invalid_json", nullptr);
  }
  const auto at_limit = in_part_start + deep(59) + "}]}]}";
  expect_ok(validate(at_limit));
  EXPECT_EQ(parsed, json::parse(at_limit)) << "the parsed body is handed on";
}

TEST_F(ValidateChatRequest, NonObjectBodyIsRejected) {
  for (const char* body : {"[]", "\"hello\"", "42", "null"}) {
    SCOPED_TRACE(body);
    expect_error(validate(std::string(body)), 400, "invalid_json", nullptr);
  }
}

TEST_F(ValidateChatRequest, MissingModelIsRejected) {
  for (const json& model : {json(nullptr), json(""), json(4), json::array({"gpt-4o"})}) {
    SCOPED_TRACE(model.dump());
    json body = request();
    if (model.is_null())
      body.erase("model");
    else
      body["model"] = model;
    expect_error(validate(body), 400, "missing_required_parameter", "model");
  }
}

TEST_F(ValidateChatRequest, MissingMessagesIsRejected) {
  expect_error(validate(request({{"messages", nullptr}})), 400, "missing_required_parameter", "messages");
}

TEST_F(ValidateChatRequest, NonArrayMessagesIsRejected) {
  for (const json& messages : {json("hi"), json::object(), json(1)}) {
    SCOPED_TRACE(messages.dump());
    json body = request();
    body["messages"] = messages;
    expect_error(validate(body), 400, "missing_required_parameter", "messages");
  }
}

TEST_F(ValidateChatRequest, EmptyMessagesIsRejected) {
  expect_error(validate(with_messages(json::array())), 400, "empty_array", "messages");
}

TEST_F(ValidateChatRequest, NonObjectMessageIsRejected) {
  expect_error(validate(with_messages({{{"role", "user"}, {"content", "a"}}, "b"})), 400, "invalid_value",
               "messages[1]");
}

TEST_F(ValidateChatRequest, BadRoleIsRejected) {
  for (const json& role : {json("robot"), json("User"), json(1), json(nullptr)}) {
    SCOPED_TRACE(role.dump());
    json message{{"content", "x"}};
    if (!role.is_null()) message["role"] = role;
    expect_error(validate(with_messages({{{"role", "user"}, {"content", "a"}}, message})), 400,
                 "invalid_value", "messages[1].role");
  }
}

TEST_F(ValidateChatRequest, EveryKnownRoleIsAccepted) {
  for (const char* role : {"system", "developer", "user", "assistant", "tool", "function"}) {
    SCOPED_TRACE(role);
    expect_ok(validate(with_messages({{{"role", role}, {"content", "x"}}})));
  }
}

TEST_F(ValidateChatRequest, BadContentTypeIsRejected) {
  for (const json& content : {json(5), json(true), json::object()}) {
    SCOPED_TRACE(content.dump());
    expect_error(validate(with_messages({{{"role", "user"}, {"content", content}}})), 400, "invalid_value",
                 "messages[0].content");
  }
}

TEST_F(ValidateChatRequest, NullOrMissingContentIsAccepted) {
  expect_ok(validate(with_messages({{{"role", "user"}, {"content", "q"}},
                                    {{"role", "assistant"}, {"content", nullptr}},
                                    {{"role", "assistant"}}})));
}

TEST_F(ValidateChatRequest, ContentPartWithoutTypeIsRejected) {
  for (const json& part : {json("text"), json{{"text", "a"}}, json{{"type", 3}}}) {
    SCOPED_TRACE(part.dump());
    expect_error(validate(with_messages({{{"role", "user"}, {"content", json::array({part})}}})), 400,
                 "invalid_value", "messages[0].content[0]");
  }
}

TEST_F(ValidateChatRequest, TextPartWithoutTextIsRejected) {
  for (const json& part : {json{{"type", "text"}}, json{{"type", "text"}, {"text", 1}},
                           json{{"type", "text"}, {"text", nullptr}}}) {
    SCOPED_TRACE(part.dump());
    const json content = json::array({{{"type", "text"}, {"text", "ok"}}, part});
    expect_error(validate(with_messages({{{"role", "user"}, {"content", content}}})), 400, "invalid_value",
                 "messages[0].content[1].text");
  }
}

TEST_F(ValidateChatRequest, StreamMustBeABoolean) {
  for (const json& stream : {json("true"), json(1)}) {
    SCOPED_TRACE(stream.dump());
    expect_error(validate(request({{"stream", stream}})), 400, "invalid_type", "stream");
  }
}

TEST_F(ValidateChatRequest, StreamOptionsRequireStream) {
  expect_error(validate(request({{"stream_options", {{"include_usage", true}}}})), 400, "invalid_value",
               "stream_options");
  expect_error(validate(request({{"stream", false}, {"stream_options", {{"include_usage", true}}}})), 400,
               "invalid_value", "stream_options");
}

TEST_F(ValidateChatRequest, StreamOptionsMustBeAnObject) {
  expect_error(validate(request({{"stream", true}, {"stream_options", "usage"}})), 400, "invalid_type",
               "stream_options");
}

TEST_F(ValidateChatRequest, IncludeUsageMustBeABoolean) {
  expect_error(validate(request({{"stream", true}, {"stream_options", {{"include_usage", "yes"}}}})), 400,
               "invalid_type", "stream_options.include_usage");
}

TEST_F(ValidateChatRequest, IncludeUsageIsReported) {
  const auto info =
      expect_ok(validate(request({{"stream", true}, {"stream_options", {{"include_usage", true}}}})));
  EXPECT_TRUE(info.stream);
  EXPECT_TRUE(info.include_usage);
  const auto without = expect_ok(validate(request({{"stream", true}, {"stream_options", json::object()}})));
  EXPECT_TRUE(without.stream);
  EXPECT_FALSE(without.include_usage);
}

TEST_F(ValidateChatRequest, StopIsAStringOrUpToFourNonEmptyStrings) {
  for (const json& stop : {json("END"), json::array(), json::array({"a"}), json::array({"1", "2", "3", "4"}),
                           json::array({"\n\n", "中文"})}) {
    SCOPED_TRACE(stop.dump());
    expect_ok(validate(request({{"stop", stop}})));
  }
  json body = request();
  body["stop"] = nullptr;
  expect_ok(validate(body));
}

TEST_F(ValidateChatRequest, StopOfTheWrongTypeIsRejectedNamingStop) {
  for (const json& stop :
       {json(7), json(true), json::object(), json::array({"ok", 7}), json::array({json::array({"a"})})}) {
    SCOPED_TRACE(stop.dump());
    expect_error(validate(request({{"stop", stop}})), 400, "invalid_type", "stop");
  }
}

TEST_F(ValidateChatRequest, EmptyStopSequencesOrMoreThanFourAreRejectedNamingStop) {
  for (const json& stop : {json(""), json::array({"a", ""}), json::array({"1", "2", "3", "4", "5"})}) {
    SCOPED_TRACE(stop.dump());
    expect_error(validate(request({{"stop", stop}})), 400, "invalid_value", "stop");
  }
}

TEST_F(ValidateChatRequest, MaxTokensMustBeAPositiveInteger) {
  for (const char* field : {"max_tokens", "max_completion_tokens"}) {
    for (const json& bad : {json(0), json(-5), json(1.5), json("100"), json(true)}) {
      SCOPED_TRACE(std::string(field) + "=" + bad.dump());
      expect_error(validate(request({{field, bad}})), 400, "invalid_type", field);
    }
    expect_ok(validate(request({{field, 1}})));
  }
}

TEST_F(ValidateChatRequest, MaxCompletionTokensWinsSoAnInvalidOlderFieldBesideItIsIgnored) {
  expect_ok(validate(request({{"max_completion_tokens", 10}, {"max_tokens", "many"}})));
  json body = request({{"max_tokens", 0}});
  body["max_completion_tokens"] = nullptr;
  expect_error(validate(body), 400, "invalid_type", "max_tokens");
}

TEST(StopSequences, AreReadInOrderFromAStringOrAnArray) {
  EXPECT_EQ(stop_sequences(json{{"stop", "END"}}), (std::vector<std::string>{"END"}));
  EXPECT_EQ(stop_sequences(json{{"stop", {"b", "a"}}}), (std::vector<std::string>{"b", "a"}));
  EXPECT_TRUE(stop_sequences(json{{"stop", nullptr}}).empty());
  EXPECT_TRUE(stop_sequences(json::object()).empty());
}

TEST(RequestedMaxTokens, PrefersMaxCompletionTokens) {
  EXPECT_EQ(requested_max_tokens(json{{"max_tokens", 5}}), 5);
  EXPECT_EQ(requested_max_tokens(json{{"max_tokens", 5}, {"max_completion_tokens", 9}}), 9);
  EXPECT_EQ(requested_max_tokens(json{{"max_tokens", 5}, {"max_completion_tokens", nullptr}}), 5);
  EXPECT_EQ(requested_max_tokens(json::object()), std::nullopt);
  EXPECT_EQ(requested_max_tokens(json{{"max_tokens", 0}}), std::nullopt);
}

TEST_F(ValidateChatRequest, UnknownModelIs404) {
  const json error = expect_error(validate(request({{"model", "gpt-9"}})), 404, "model_not_found", "model");
  EXPECT_NE(error["message"].get<std::string>().find("gpt-9"), std::string::npos) << error.dump();
}

TEST_F(ValidateChatRequest, ValidRequestReturnsModelAndFlags) {
  const auto info = expect_ok(validate(request()));
  EXPECT_EQ(info.model, catalog.find("gpt-4o"));
  EXPECT_FALSE(info.stream);
  EXPECT_FALSE(info.include_usage);
  EXPECT_EQ(parsed, request());
}

TEST_F(ValidateChatRequest, NullStreamMeansNotStreaming) {
  const auto info = expect_ok(validate(request({{"stream", false}})));
  EXPECT_FALSE(info.stream);
  json body = request();
  body["stream"] = nullptr;
  body["stream_options"] = nullptr;
  EXPECT_FALSE(expect_ok(validate(body)).stream);
}

TEST_F(ValidateChatRequest, StreamTrueIsReported) {
  const auto info = expect_ok(validate(request({{"stream", true}})));
  EXPECT_TRUE(info.stream);
  EXPECT_FALSE(info.include_usage);
}

TEST_F(ValidateChatRequest, AliasResolvesToItsOwnEntry) {
  const auto info = expect_ok(validate(request({{"model", "4o"}})));
  ASSERT_NE(info.model, nullptr);
  EXPECT_EQ(info.model->id, "4o");
  EXPECT_EQ(info.model->alias_of, "gpt-4o");
}

TEST_F(ValidateChatRequest, ImageAndTextPartsAreAccepted) {
  const json content =
      json::array({{{"type", "text"}, {"text", "what?"}},
                   {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,AA"}}}}});
  expect_ok(validate(with_messages({{{"role", "user"}, {"content", content}}})));
}

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
