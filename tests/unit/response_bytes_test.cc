// The OpenAI response objects written by the JSON writer are byte for byte what the gateway sent
// when it built json trees and dumped them (bench/reference/tree_chat_format.cc).
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "openai/chat_format.h"
#include "reference/awkward_text.h"
#include "reference/tree_chat_format.h"

namespace gateway::openai {
namespace {

using nlohmann::json;
using testing_text::awkward_text;

constexpr int kAnswers = 2000;

/// An answer's identity with awkward text, and times and counts of every size and sign.
struct RandomAnswer {
  std::string id;
  std::int64_t created;
  std::string model;
  Usage usage;
};

std::int64_t random_count(std::mt19937& random) {
  switch (random() % 3) {
    case 0:
      return random() % 1000;
    case 1:
      return std::uniform_int_distribution<std::int64_t>(
          std::numeric_limits<std::int64_t>::min() / 2, std::numeric_limits<std::int64_t>::max() / 2)(random);
    default:
      return std::numeric_limits<std::int64_t>::max() / 2 - random() % 3;
  }
}

RandomAnswer random_answer(std::mt19937& random) {
  return {"chatcmpl-" + awkward_text(random, 3), random_count(random), awkward_text(random, 4),
          Usage{random_count(random), random_count(random), random() % 2 == 0}};
}

TEST(ResponseBytes, ChunksGiveTheBytesTheTreeGave) {
  std::mt19937 random(20261201);  // fixed seed: the same answers every run
  for (int i = 0; i < kAnswers; ++i) {
    const auto a = random_answer(random);
    const AnswerIdentity identity{a.id, a.created, a.model};
    const bool include_usage = random() % 2 == 0;
    const std::string text = awkward_text(random);
    const bool reasoning = random() % 3 == 0;
    const char* reason = random() % 2 == 0 ? "stop" : "length";
    SCOPED_TRACE("answer " + std::to_string(i));

    ASSERT_EQ(sse_event(chunk(identity, {.opening = true}, nullptr, include_usage)),
              tree_reference::chunk_event(a.id, a.created, a.model, {{"role", "assistant"}, {"content", ""}},
                                          nullptr, include_usage));
    if (!text.empty()) {  // the stream never sends an empty text delta
      ASSERT_EQ(sse_event(chunk(identity, {.reasoning = reasoning, .text = text}, nullptr, include_usage)),
                tree_reference::chunk_event(a.id, a.created, a.model,
                                            {{reasoning ? "reasoning_content" : "content", text}}, nullptr,
                                            include_usage));
    }
    ASSERT_EQ(sse_event(chunk(identity, {}, reason, include_usage)),
              tree_reference::chunk_event(a.id, a.created, a.model, json::object(), reason, include_usage));
    ASSERT_EQ(sse_event(usage_chunk(identity, a.usage)),
              tree_reference::usage_event(a.id, a.created, a.model, a.usage));
  }
}

TEST(ResponseBytes, CompletionsGiveTheBytesTheTreeGave) {
  std::mt19937 random(20261202);
  for (int i = 0; i < kAnswers; ++i) {
    const auto a = random_answer(random);
    const std::string content = awkward_text(random, 40);
    const std::string reasoning = random() % 2 == 0 ? std::string() : awkward_text(random);
    const FinishReason reason = random() % 2 == 0 ? FinishReason::Stop : FinishReason::Length;
    ASSERT_EQ(completion({a.id, a.created, a.model}, content, reasoning, reason, a.usage),
              tree_reference::completion_body(a.id, a.created, a.model, content, reasoning, reason, a.usage))
        << "answer " << i;
  }
}

}  // namespace
}  // namespace gateway::openai
