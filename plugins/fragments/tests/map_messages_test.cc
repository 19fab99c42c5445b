// Unit tests of map_messages: OpenAI chat messages as the Fragments message list (roles, merging,
// text and image parts, tool results, and what is refused).
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>

#include <nlohmann/json.hpp>

#include "request_builder.h"
#include "request_builder_test_support.h"

namespace e2b::fragments {
namespace {

using namespace request_testing;
using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// map_messages

TEST(MapMessages, SystemAndDeveloperBecomeOneSystemString) {
  const json out = ok(map_messages(json::array({{{"role", "system"}, {"content", "Be nice."}},
                                                {{"role", "developer"}, {"content", "Be brief."}},
                                                {{"role", "user"}, {"content", "hi"}}}),
                                   false));
  EXPECT_EQ(out, (json::array({{{"role", "system"}, {"content", "Be nice.\nBe brief."}}, user_text("hi")})));
}

TEST(MapMessages, DeveloperAloneBecomesSystem) {
  const json out = ok(map_messages(json::array({{{"role", "developer"}, {"content", "Rules."}}}), false));
  EXPECT_EQ(out, (json::array({{{"role", "system"}, {"content", "Rules."}}})));
}

TEST(MapMessages, SystemContentPartsBecomeAString) {
  const json out = ok(map_messages(
      json::array({{{"role", "system"}, {"content", {text_part("one"), text_part("two")}}}}), false));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["role"], "system");
  EXPECT_EQ(out[0]["content"], "one\ntwo");
}

TEST(MapMessages, UserStringBecomesOneTextPart) {
  EXPECT_EQ(ok(map_messages(json::array({{{"role", "user"}, {"content", "hello"}}}), false)),
            json::array({user_text("hello")}));
}

TEST(MapMessages, TextPartsAreJoinedWithNewline) {
  const json out = ok(map_messages(
      json::array({{{"role", "user"}, {"content", {text_part("a"), text_part("b"), text_part("c")}}}}),
      false));
  EXPECT_EQ(out, json::array({user_text("a\nb\nc")}));
}

TEST(MapMessages, AssistantKeepsItsRole) {
  const json out = ok(map_messages(
      json::array({{{"role", "user"}, {"content", "q"}}, {{"role", "assistant"}, {"content", "a"}}}), false));
  EXPECT_EQ(out, (json::array({user_text("q"), {{"role", "assistant"}, {"content", {text_part("a")}}}})));
}

TEST(MapMessages, ConsecutiveSameRoleMessagesAreMerged) {
  const json out = ok(map_messages(json::array({{{"role", "user"}, {"content", "one"}},
                                                {{"role", "user"}, {"content", {text_part("two")}}},
                                                {{"role", "assistant"}, {"content", "three"}},
                                                {{"role", "assistant"}, {"content", "four"}},
                                                {{"role", "user"}, {"content", "five"}}}),
                                   false));
  EXPECT_EQ(out, (json::array({user_text("one\ntwo"),
                               {{"role", "assistant"}, {"content", {text_part("three\nfour")}}},
                               user_text("five")})));
}

TEST(MapMessages, AlternatingRolesAreNotMerged) {
  const json in = json::array({{{"role", "user"}, {"content", "1"}},
                               {{"role", "assistant"}, {"content", "2"}},
                               {{"role", "user"}, {"content", "3"}}});
  EXPECT_EQ(ok(map_messages(in, false)).size(), 3u);
}

TEST(MapMessages, EmptyMessagesAreDropped) {
  const json out = ok(map_messages(json::array({{{"role", "system"}, {"content", ""}},
                                                {{"role", "user"}, {"content", json::array()}},
                                                {{"role", "assistant"}, {"content", nullptr}},
                                                {{"role", "assistant"}},
                                                {{"role", "user"}, {"content", "real"}}}),
                                   false));
  EXPECT_EQ(out, json::array({user_text("real")}));
}

TEST(MapMessages, OnlyEmptyMessagesGiveAnEmptyList) {
  EXPECT_EQ(ok(map_messages(json::array({{{"role", "user"}, {"content", ""}}}), false)), json::array());
}

TEST(MapMessages, NoTwoConsecutiveOutputMessagesShareARole) {
  // A dropped message between two same-role messages must not leave them adjacent and separate.
  const json out = ok(map_messages(json::array({{{"role", "user"}, {"content", "a"}},
                                                {{"role", "assistant"}, {"content", ""}},
                                                {{"role", "user"}, {"content", "b"}}}),
                                   false));
  for (std::size_t i = 1; i < out.size(); ++i) EXPECT_NE(out[i]["role"], out[i - 1]["role"]) << out.dump();
  EXPECT_EQ(out, json::array({user_text("a\nb")}));
}

TEST(MapMessages, ImageBecomesFragmentsImagePartForMultimodalModel) {
  const json out = ok(map_messages(
      json::array({{{"role", "user"}, {"content", {text_part("What is this?"), image_part(kDataUrl)}}}}),
      true));
  EXPECT_EQ(
      out,
      (json::array({{{"role", "user"},
                     {"content", {text_part("What is this?"), {{"type", "image"}, {"image", kDataUrl}}}}}})));
}

TEST(MapMessages, ImageOnlyUserMessageIsKept) {
  const json out =
      ok(map_messages(json::array({{{"role", "user"}, {"content", {image_part(kDataUrl)}}}}), true));
  EXPECT_EQ(out,
            (json::array({{{"role", "user"}, {"content", {{{"type", "image"}, {"image", kDataUrl}}}}}})));
}

TEST(MapMessages, MergedUserMessagesKeepAllImages) {
  const json out =
      ok(map_messages(json::array({{{"role", "user"}, {"content", {text_part("a"), image_part("data:1")}}},
                                   {{"role", "user"}, {"content", {text_part("b"), image_part("data:2")}}}}),
                      true));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["content"], (json::array({text_part("a\nb"),
                                             {{"type", "image"}, {"image", "data:1"}},
                                             {{"type", "image"}, {"image", "data:2"}}})));
}

TEST(MapMessages, ImageForTextOnlyModelIsRejected) {
  expect_400(
      map_messages(json::array({{{"role", "user"}, {"content", {text_part("x"), image_part(kDataUrl)}}}}),
                   false),
      "image_not_supported", "messages[0].content[1]");
}

TEST(MapMessages, ImageInAssistantMessageIsRejected) {
  expect_400(map_messages(json::array({{{"role", "user"}, {"content", "draw"}},
                                       {{"role", "assistant"}, {"content", {image_part(kDataUrl)}}}}),
                          true),
             "image_not_supported", "messages[1].content");
}

TEST(MapMessages, ImageInSystemMessageIsRejected) {
  expect_400(map_messages(json::array({{{"role", "system"}, {"content", {image_part(kDataUrl)}}}}), true),
             "image_not_supported", "messages[0].content");
}

TEST(MapMessages, ImageWithoutUrlIsRejected) {
  expect_400(
      map_messages(json::array({{{"role", "user"},
                                 {"content", {{{"type", "image_url"}, {"image_url", json::object()}}}}}}),
                   true),
      "invalid_value", "messages[0].content[0].image_url.url");
  expect_400(map_messages(json::array({{{"role", "user"}, {"content", {{{"type", "image_url"}}}}}}), true),
             "invalid_value", "messages[0].content[0].image_url.url");
}

TEST(MapMessages, AudioAndFilePartsAreUnsupported) {
  for (const char* type : {"input_audio", "file"}) {
    SCOPED_TRACE(type);
    expect_400(map_messages(json::array({{{"role", "user"}, {"content", {{{"type", type}}}}}}), true),
               "unsupported_parameter", "messages[0].content[0]");
  }
}

TEST(MapMessages, UnknownPartTypeIsRejected) {
  expect_400(map_messages(
                 json::array({{{"role", "user"}, {"content", {text_part("a"), {{"type", "video"}}}}}}), true),
             "invalid_value", "messages[0].content[1].type");
}

TEST(MapMessages, ToolResultBecomesUserText) {
  const json out =
      ok(map_messages(json::array({{{"role", "user"}, {"content", "What is 6*7?"}},
                                   {{"role", "assistant"}, {"content", "Let me compute."}},
                                   {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "42"}}}),
                      false));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2], user_text("Tool result:\n42"));
}

TEST(MapMessages, ToolResultPartsAreJoined) {
  const json out = ok(map_messages(
      json::array({{{"role", "assistant"}, {"content", "calling"}},
                   {{"role", "tool"}, {"tool_call_id", "c"}, {"content", {text_part("a"), text_part("b")}}}}),
      false));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1], user_text("Tool result:\na\nb"));
}

TEST(MapMessages, ToolResultAfterUserMergesIntoIt) {
  const json out = ok(map_messages(json::array({{{"role", "user"}, {"content", "q"}},
                                                {{"role", "tool"}, {"tool_call_id", "c"}, {"content", "r"}}}),
                                   false));
  EXPECT_EQ(out, json::array({user_text("q\nTool result:\nr")}));
}

/// Merges `messages` on another thread, failing the test if that takes longer than two
/// minutes: a liveness bound, as merging in linear time takes seconds even in sanitizer builds
/// while merging in quadratic time takes many minutes.
json merge_within_two_minutes(const json& messages, bool multimodal) {
  auto merging = std::async(std::launch::async, [&] { return map_messages(messages, multimodal); });
  if (merging.wait_for(std::chrono::minutes(2)) != std::future_status::ready)
    ADD_FAILURE() << "merging " << messages.size() << " messages did not finish within two minutes";
  return ok(merging.get());
}

TEST(MapMessages, ManySameRoleMessagesMergeIntoOne) {
  constexpr std::size_t kMessages = 200'000;
  const std::string filler(90, 'x');
  json system = json::array(), user = json::array();
  std::string expected;
  for (std::size_t i = 0; i < kMessages; ++i) {
    const std::string text = std::to_string(i) + filler;
    system.push_back({{"role", i % 2 == 0 ? "system" : "developer"}, {"content", text}});
    user.push_back({{"role", "user"}, {"content", {text_part(text)}}});
    expected += (i == 0 ? "" : "\n") + text;
  }

  const json merged_system = merge_within_two_minutes(system, false);
  ASSERT_EQ(merged_system.size(), 1u);
  EXPECT_EQ(merged_system[0]["role"], "system");
  EXPECT_TRUE(merged_system[0]["content"] == expected) << "the system text differs";

  const json merged_user = merge_within_two_minutes(user, false);
  ASSERT_EQ(merged_user.size(), 1u);
  ASSERT_EQ(merged_user[0]["content"].size(), 1u);
  EXPECT_TRUE(merged_user[0]["content"][0]["text"] == expected) << "the user text differs";
}

}  // namespace
}  // namespace e2b::fragments
