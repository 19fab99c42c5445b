// Unit tests of the depth-bounded JSON parser.
#include "gateway/json_limits.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace gateway {
namespace {

using nlohmann::json;

/// `depth` arrays nested in each other: "[[[…]]]".
std::string nested_arrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

/// `depth` objects nested in each other: {"a":{"a":…{}}}.
std::string nested_objects(std::size_t depth) {
  std::string text;
  for (std::size_t i = 1; i < depth; ++i) text += "{\"a\":";
  return text + "{}" + std::string(depth - 1, '}');
}

/// How deep `value` nests, walking down its first child (which is all the helpers above build).
std::size_t first_child_depth(const json& value) {
  std::size_t depth = 0;
  for (const json* v = &value; v->is_structured(); v = &v->front()) {
    ++depth;
    if (v->empty()) break;
  }
  return depth;
}

TEST(ParseBoundedJson, AcceptsExactlyTheLimit) {
  for (const auto& text : {nested_arrays(kMaxJsonDepth), nested_objects(kMaxJsonDepth)}) {
    const auto parsed = parse_bounded_json(text);
    ASSERT_TRUE(parsed.ok()) << text;
    EXPECT_EQ(first_child_depth(parsed.value), kMaxJsonDepth);
    EXPECT_EQ(parsed.value, json::parse(text)) << "the same value as the unbounded parser";
  }
}

TEST(ParseBoundedJson, RefusesOneLevelMore) {
  for (const auto& text : {nested_arrays(kMaxJsonDepth + 1), nested_objects(kMaxJsonDepth + 1)}) {
    const auto parsed = parse_bounded_json(text);
    EXPECT_EQ(parsed.failure, JsonFailure::TooDeep) << text;
    EXPECT_TRUE(parsed.value.is_discarded());
  }
}

TEST(ParseBoundedJson, CountsArraysAndObjectsTogether) {
  std::string mixed;
  for (std::size_t i = 0; i < kMaxJsonDepth; ++i) mixed += i % 2 == 0 ? "[" : "{\"k\":";
  const std::string at_limit = mixed + "1" + [&] {
    std::string closing;
    for (std::size_t i = kMaxJsonDepth; i-- > 0;) closing += i % 2 == 0 ? "]" : "}";
    return closing;
  }();
  EXPECT_TRUE(parse_bounded_json(at_limit).ok());
  EXPECT_EQ(parse_bounded_json("[" + at_limit + "]").failure, JsonFailure::TooDeep);
}

TEST(ParseBoundedJson, SiblingsDoNotAddUp) {
  // Depth is nesting, not the number of containers: closing one frees its level again.
  std::string wide = "[";
  for (int i = 0; i < 1000; ++i) wide += (i == 0 ? "" : ",") + nested_arrays(kMaxJsonDepth - 1);
  wide += "]";
  const auto parsed = parse_bounded_json(wide);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.value.size(), 1000u);
}

TEST(ParseBoundedJson, DeepValueInsideAnOrdinaryBodyIsRefused) {
  const std::string body =
      R"({"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"text","text":"hi","x":)" +
      nested_arrays(100'000) + "}]}]}";
  EXPECT_EQ(parse_bounded_json(body).failure, JsonFailure::TooDeep);
}

TEST(ParseBoundedJson, MillionLevelsAreRefusedWithoutRecursion) {
  // Unterminated and complete, arrays and objects: each is refused at level 65, so neither the
  // parse nor dropping the partial value goes anywhere near a million levels.
  const std::size_t depth = 1'000'000;
  EXPECT_EQ(parse_bounded_json(nested_arrays(depth)).failure, JsonFailure::TooDeep);
  EXPECT_EQ(parse_bounded_json(std::string(depth, '[')).failure, JsonFailure::TooDeep);
  EXPECT_EQ(parse_bounded_json(nested_objects(depth)).failure, JsonFailure::TooDeep);
}

TEST(ParseBoundedJson, AnyLimitCanBeChosen) {
  EXPECT_TRUE(parse_bounded_json("[[1]]", 2).ok());
  EXPECT_EQ(parse_bounded_json("[[[1]]]", 2).failure, JsonFailure::TooDeep);
  EXPECT_TRUE(parse_bounded_json("7", 0).ok());
  EXPECT_EQ(parse_bounded_json("[]", 0).failure, JsonFailure::TooDeep);
}

TEST(ParseBoundedJson, SyntaxErrorsAreNotTooDeep) {
  for (const char* text : {"", "{", "[1,]", "{\"a\":1} x", "nul", "\"\\ud800\"", "[1] [2]", "{'a':1}"}) {
    const auto parsed = parse_bounded_json(text);
    EXPECT_EQ(parsed.failure, JsonFailure::Syntax) << text;
    EXPECT_TRUE(parsed.value.is_discarded()) << text;
  }
}

TEST(ParseBoundedJson, ParsesOrdinaryDocumentsLikeTheUnboundedParser) {
  for (const char* text :
       {"{}", "[]", "null", "true", "-1.5e3", "\"h\\u00e9llo\"", "  {\"a\": [1, {\"b\": null}]}  ",
        R"({"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}],"stream":true})"}) {
    const auto parsed = parse_bounded_json(text);
    ASSERT_TRUE(parsed.ok()) << text;
    EXPECT_EQ(parsed.value, json::parse(text)) << text;
  }
}

TEST(TooDeepMessage, NamesTheLimit) {
  EXPECT_EQ(too_deep_message("The request body"), "The request body nests JSON deeper than 64 levels");
  EXPECT_EQ(too_deep_message("The body", 3), "The body nests JSON deeper than 3 levels");
}

TEST(NestsDeeperThan, MeasuresContainersOnly) {
  EXPECT_FALSE(nests_deeper_than(json(1), 0));
  EXPECT_TRUE(nests_deeper_than(json::object(), 0));
  EXPECT_FALSE(nests_deeper_than(json::object(), 1));
  const json three = json::parse(R"({"a":[1,{"b":2}],"c":"x"})");
  EXPECT_FALSE(nests_deeper_than(three, 3));
  EXPECT_TRUE(nests_deeper_than(three, 2));
}

TEST(NestsDeeperThan, StopsLookingPastTheLimit) {
  // A value as deep as the parser ever allows, checked against a small limit.
  const json deep = json::parse(nested_arrays(kMaxJsonDepth));
  EXPECT_TRUE(nests_deeper_than(deep, 5));
  EXPECT_FALSE(nests_deeper_than(deep, kMaxJsonDepth));
}

}  // namespace
}  // namespace gateway
