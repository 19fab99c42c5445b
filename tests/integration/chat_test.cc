// Chat completions through the real gateway against the fake Fragments upstream: answers byte
// for byte, the OpenAI response shapes, and what the gateway sends upstream.
#include <gtest/gtest.h>

#include <cstdio>

#include "harness.h"

using namespace harness;
using nlohmann::json;

class ChatTest : public GatewaySuite<DefaultSettings> {};

TEST_F(ChatTest, NonStreamAnswerIsTheCodeFieldByteForByte) {
  json body{
      {"model", "gpt-4o"},
      {"messages", json::array({{{"role", "user"}, {"content", "Hello 中文 😀 \"quoted\" back\\slash"}}})}};
  const auto r = chat(gateway_->port(), gateway_->key(), body);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto answer = json::parse(r.body);
  EXPECT_EQ(answer["object"], "chat.completion");
  EXPECT_TRUE(answer["id"].get<std::string>().starts_with("chatcmpl-"));
  EXPECT_EQ(answer["model"], "gpt-4o");
  EXPECT_EQ(answer["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(answer["choices"][0]["message"]["content"], "Echo: Hello 中文 😀 \"quoted\" back\\slash");
  EXPECT_EQ(answer["choices"][0]["finish_reason"], "stop");
  const auto& usage = answer["usage"];
  EXPECT_GT(usage["prompt_tokens"].get<int>(), 0);
  EXPECT_GT(usage["completion_tokens"].get<int>(), 0);
  EXPECT_EQ(usage["total_tokens"].get<int>(),
            usage["prompt_tokens"].get<int>() + usage["completion_tokens"].get<int>());
  EXPECT_FALSE(r.headers.at("x-request-id").empty());
}

TEST_F(ChatTest, StreamCarriesTheSameIdRoleFirstFinishLastThenDone) {
  const auto r = chat(gateway_->port(), gateway_->key(), scenario_request("tricky", true));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers.at("content-type"), "text/event-stream; charset=utf-8");
  EXPECT_TRUE(r.complete);
  const auto events = sse_data(r.body);
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.back(), "[DONE]");
  std::string id;
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    const auto chunk = json::parse(events[i]);
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    if (id.empty()) id = chunk["id"];
    EXPECT_EQ(chunk["id"], id) << "every chunk carries the same id";
    const bool last = i + 2 == events.size();
    EXPECT_EQ(chunk["choices"][0]["finish_reason"].is_null(), !last);
  }
  EXPECT_EQ(json::parse(events.front())["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(json::parse(events[events.size() - 2])["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(streamed_content(r.body), "He said \"hi\"\\ path C:\\tmp\ttab\nnewline 中文 😀🎉 é");
}

TEST_F(ChatTest, StreamAndNonStreamAgreeOnNastilyChunkedAnswers) {
  const std::string text = "Nasty: \\\" \\u00e9 中文 😀🎉 tab\there\nline2 — end";
  json body{{"model", "gpt-4o"}, {"messages", json::array({{{"role", "user"}, {"content", text}}})}};
  const auto plain = chat(gateway_->port(), gateway_->key(), body);
  body["stream"] = true;
  const auto streamed = chat(gateway_->port(), gateway_->key(), body);
  ASSERT_EQ(plain.status, 200);
  ASSERT_EQ(streamed.status, 200);
  EXPECT_EQ(json::parse(plain.body)["choices"][0]["message"]["content"], "Echo: " + text);
  EXPECT_EQ(streamed_content(streamed.body), "Echo: " + text);
}

TEST_F(ChatTest, IncludeUsageAddsAUsageChunkBeforeDone) {
  auto body = scenario_request("ok", true);
  body["stream_options"] = {{"include_usage", true}};
  const auto r = chat(gateway_->port(), gateway_->key(), body);
  ASSERT_EQ(r.status, 200);
  const auto events = sse_data(r.body);
  ASSERT_GE(events.size(), 3u);
  const auto usage_chunk = json::parse(events[events.size() - 2]);
  EXPECT_TRUE(usage_chunk["choices"].empty());
  EXPECT_GT(usage_chunk["usage"]["total_tokens"].get<int>(), 0);
  EXPECT_TRUE(json::parse(events.front())["usage"].is_null());
}

TEST_F(ChatTest, LongAnswerArrivesCompleteInBothModes) {
  const auto plain = chat(gateway_->port(), gateway_->key(), scenario_request("long=200000,tag=big", false));
  const auto streamed =
      chat(gateway_->port(), gateway_->key(), scenario_request("long=200000,tag=big", true));
  ASSERT_EQ(plain.status, 200);
  ASSERT_EQ(streamed.status, 200);
  std::string expected;
  for (int i = 0; expected.size() < 200000; ++i) {
    char line[64];
    std::snprintf(line, sizeof line, "big line %04d\n", i);
    expected += line;
  }
  expected.resize(200000);
  EXPECT_EQ(json::parse(plain.body)["choices"][0]["message"]["content"], expected);
  EXPECT_EQ(streamed_content(streamed.body), expected);
}

TEST_F(ChatTest, SendsCamelCaseSettingsAndOmitsWhatTheClientOmitted) {
  json body{
      {"model", "gpt-4o"},
      {"temperature", 0.7},
      {"top_p", 0.9},
      {"max_tokens", 321},
      {"presence_penalty", 0.5},
      {"frequency_penalty", 0.25},
      {"stop", "END"},
      {"messages",
       json::array({{{"role", "system"}, {"content", "Be nice."}},
                    {{"role", "user"}, {"content", "one"}},
                    {{"role", "user"}, {"content", json::array({{{"type", "text"}, {"text", "two"}}})}}})}};
  ASSERT_EQ(chat(gateway_->port(), gateway_->key(), body).status, 200);
  const auto sent = upstream_->stats()["last_request"];
  const auto& config = sent["config"];
  EXPECT_EQ(config["temperature"], 0.7);
  EXPECT_EQ(config["topP"], 0.9);
  EXPECT_EQ(config["maxTokens"], 321 + 256) << "the client's budget plus the envelope allowance";
  EXPECT_EQ(config["presencePenalty"], 0.5);
  EXPECT_EQ(config["frequencyPenalty"], 0.25);
  EXPECT_FALSE(config.contains("stopSequences")) << "the gateway applies stop to the answer itself";
  EXPECT_FALSE(config.contains("topK"));
  EXPECT_FALSE(config.contains("max_tokens"));
  EXPECT_FALSE(config.contains("top_p"));
  EXPECT_EQ(config["model"], "gpt-4o");
  EXPECT_EQ(sent["model"]["providerId"], "openai");
  EXPECT_EQ(sent["messages"][0], json({{"role", "system"}, {"content", "Be nice."}}));
  EXPECT_EQ(sent["messages"][1]["content"][0]["text"], "one\ntwo") << "consecutive user messages are merged";
  EXPECT_EQ(sent["messages"].size(), 2u);
  const auto instructions = sent["template"]["text"]["instructions"].get<std::string>();
  EXPECT_NE(instructions.find("code"), std::string::npos) << "the chat instruction reaches the prompt";
  EXPECT_NE(instructions.find("Be brief."), std::string::npos) << "per-model instructions are appended";

  const auto first_user = sent["userID"];
  ASSERT_EQ(chat(gateway_->port(), gateway_->key(), scenario_request("ok", false)).status, 200);
  EXPECT_EQ(upstream_->stats()["last_request"]["userID"], first_user) << "userID is derived from the key";
}

TEST_F(ChatTest, ImagesReachMultimodalModelsAsFragmentsImageParts) {
  json content =
      json::array({{{"type", "text"}, {"text", "what is this"}},
                   {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,AAAA"}}}}});
  json body{{"model", "gpt-4o"}, {"messages", json::array({{{"role", "user"}, {"content", content}}})}};
  ASSERT_EQ(chat(gateway_->port(), gateway_->key(), body).status, 200);
  const auto parts = upstream_->stats()["last_request"]["messages"][0]["content"];
  EXPECT_EQ(parts[1], json({{"type", "image"}, {"image", "data:image/png;base64,AAAA"}}));

  body["model"] = "gpt-4o-mini";
  const auto refused = chat(gateway_->port(), gateway_->key(), body);
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(json::parse(refused.body)["error"]["code"], "image_not_supported");
}

TEST_F(ChatTest, AliasesResolveAndModelsAreListed) {
  const auto r =
      chat(gateway_->port(), gateway_->key(), scenario_request("ok", false, "claude-3-7-sonnet-latest"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(upstream_->stats()["last_request"]["model"]["id"], "claude-sonnet-4-5-20250929");
  const auto models =
      http(gateway_->port(), "GET", "/v1/models", {{"Authorization", "Bearer " + gateway_->key()}});
  ASSERT_EQ(models.status, 200);
  const auto list = json::parse(models.body);
  EXPECT_EQ(list["object"], "list");
  std::vector<std::string> ids;
  for (const auto& m : list["data"]) ids.push_back(m["id"]);
  EXPECT_NE(std::find(ids.begin(), ids.end(), "claude-3-7-sonnet-latest"), ids.end());
  EXPECT_NE(std::find(ids.begin(), ids.end(), "llama3.1"), ids.end());
  EXPECT_EQ(list["data"][0]["object"], "model");
}

TEST_F(ChatTest, KeyRestrictedToModelsSeesOnlyThoseAndIsRefusedOthers) {
  const std::string limited = "sk-test-limited-0123456789";
  const auto models = http(gateway_->port(), "GET", "/v1/models", {{"x-api-key", limited}});
  ASSERT_EQ(models.status, 200);
  EXPECT_EQ(json::parse(models.body)["data"].size(), 1u);
  const auto refused = chat(gateway_->port(), limited, scenario_request("ok", false, "gpt-4o"));
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(json::parse(refused.body)["error"]["code"], "model_not_allowed");
  EXPECT_EQ(chat(gateway_->port(), limited, scenario_request("ok", false, "gpt-4o-mini")).status, 200);
}

TEST_F(ChatTest, CommentaryAnswersWhenCodeIsEmptyAndFencesAreCleaned) {
  const auto empty = chat(gateway_->port(), gateway_->key(), scenario_request("emptycode", false));
  ASSERT_EQ(empty.status, 200);
  EXPECT_EQ(json::parse(empty.body)["choices"][0]["message"]["content"], "Only commentary here.");
  const auto fence = chat(gateway_->port(), gateway_->key(), scenario_request("fence", true));
  ASSERT_EQ(fence.status, 200);
  EXPECT_EQ(streamed_content(fence.body), "Echo: scenario:fence");
  const auto prose = chat(gateway_->port(), gateway_->key(), scenario_request("prose", false));
  ASSERT_EQ(prose.status, 200);
  EXPECT_EQ(json::parse(prose.body)["choices"][0]["message"]["content"], "Echo: scenario:prose");
}

TEST_F(ChatTest, RequestIdIsEchoedAndKeysNeverReachTheLog) {
  const auto r = chat(gateway_->port(), gateway_->key(), scenario_request("ok", false),
                      {{"X-Request-ID", "my-trace-42"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at("x-request-id"), "my-trace-42");
  ASSERT_TRUE(
      eventually([&] { return gateway_->log().find("request_id=my-trace-42") != std::string::npos; }));
  const auto log = gateway_->log();
  EXPECT_EQ(log.find(gateway_->key()), std::string::npos);
  EXPECT_NE(log.find("key=sk-test-int…"), std::string::npos);
  EXPECT_EQ(log.find("scenario:ok"), std::string::npos) << "no prompt text at info level";
}

TEST_F(ChatTest, SeedReadmeCurlExamplesWorkVerbatim) {
  const std::string base = "http://localhost:" + std::to_string(gateway_->port());
  const std::string key = gateway_->key();
  const std::string messages =
      R"("messages": [{"role": "system", "content": "你是一个有用的AI助手。"}, {"role": "user", "content": "你好，介绍一下自己"}])";
  const std::string models_cmd =
      "curl -s -X GET " + base + "/v1/models -H \"Authorization: Bearer " + key + "\"";
  const std::string chat_cmd = "curl -s -X POST " + base +
                               "/v1/chat/completions -H \"Content-Type: application/json\" "
                               "-H \"Authorization: Bearer " +
                               key + "\" -d '{\"model\": \"claude-3-7-sonnet-latest\", " + messages +
                               ", \"temperature\": 0.7, \"max_tokens\": 500}'";
  const std::string stream_cmd = "curl -s -X POST " + base +
                                 "/v1/chat/completions -H \"Content-Type: application/json\" "
                                 "-H \"Authorization: Bearer " +
                                 key + "\" --no-buffer -d '{\"model\": \"claude-3-7-sonnet-latest\", " +
                                 messages + ", \"temperature\": 0.7, \"max_tokens\": 500, \"stream\": true}'";
  auto run = [](const std::string& cmd) {
    std::string out;
    FILE* pipe = popen(cmd.c_str(), "r");
    char buf[4096];
    while (pipe && fgets(buf, sizeof buf, pipe)) out += buf;
    if (pipe) pclose(pipe);
    return out;
  };
  EXPECT_EQ(json::parse(run(models_cmd))["object"], "list");
  EXPECT_EQ(json::parse(run(chat_cmd))["choices"][0]["message"]["content"], "Echo: 你好，介绍一下自己");
  EXPECT_EQ(streamed_content(run(stream_cmd)), "Echo: 你好，介绍一下自己");
}

struct ReasoningSettings {
  static void apply(GatewayOptions& options) { options.fragments_config_yaml = "{commentary: reasoning}"; }
};

class ReasoningTest : public GatewaySuite<ReasoningSettings> {};

TEST_F(ReasoningTest, CommentaryStreamsAsReasoningContentBeforeTheAnswer) {
  const auto r = chat(gateway_->port(), gateway_->key(), scenario_request("ok", true));
  ASSERT_EQ(r.status, 200);
  std::string reasoning;
  bool content_seen = false;
  bool reasoning_after_content = false;
  for (const auto& data : sse_data(r.body)) {
    if (data == "[DONE]") continue;
    const auto delta = json::parse(data)["choices"][0]["delta"];
    if (delta.contains("reasoning_content")) {
      reasoning += delta["reasoning_content"].get<std::string>();
      reasoning_after_content = reasoning_after_content || content_seen;
    }
    if (delta.contains("content") && !delta["content"].get<std::string>().empty()) content_seen = true;
  }
  EXPECT_EQ(reasoning, "I will answer the user in plain text inside the code field.");
  EXPECT_FALSE(reasoning_after_content);
  EXPECT_EQ(streamed_content(r.body), "Echo: scenario:ok");
  const auto plain = chat(gateway_->port(), gateway_->key(), scenario_request("ok", false));
  EXPECT_EQ(json::parse(plain.body)["choices"][0]["message"]["reasoning_content"],
            "I will answer the user in plain text inside the code field.");
}
