// Unit tests of chat-request validation: every refused field named, and what a valid request
// reports (model, stream flags, stop sequences, the token budget).
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

}  // namespace
}  // namespace gateway::openai
