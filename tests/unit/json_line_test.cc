// The JSON Lines writer of the JSON log format: escaping that no input can break, timestamps.
#include "gateway/json_writer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "util/log.h"

namespace gateway {
namespace {

using namespace std::chrono;

std::string json_quoted(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

/// What nlohmann::json writes for `text` with invalid UTF-8 replaced: the reference.
std::string nlohmann_quoted(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

const std::string kReplacement = "\xEF\xBF\xBD";

TEST(JsonLineTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(json_quoted("say \"hi\"\\ok"), R"("say \"hi\"\\ok")");
  EXPECT_EQ(json_quoted("a\nb\rc\td\be\ff"), R"("a\nb\rc\td\be\ff")");
  EXPECT_EQ(json_quoted(std::string("nul\0x\x01\x1f", 7)), R"("nul\u0000x\u0001\u001f")");
  for (int c = 0; c < 0x20; ++c) {
    const std::string raw(1, static_cast<char>(c));
    const auto out = json_quoted(raw);
    EXPECT_TRUE(
        std::all_of(out.begin(), out.end(), [](char b) { return static_cast<unsigned char>(b) >= 0x20; }))
        << "control character " << c << " left raw";
    EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), raw);
  }
}

TEST(JsonLineTest, ValidUtf8PassesUnchanged) {
  const std::string text = "h\xC3\xA9llo \xE2\x9C\x93 \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF \x7F";
  EXPECT_EQ(json_quoted(text), "\"" + text + "\"");
}

TEST(JsonLineTest, EachIllFormedSequenceBecomesReplacementCharacters) {
  struct Case {
    std::string input;
    std::string expected;
  };
  const auto r = kReplacement;
  const Case cases[] = {
      {"\xFF", r},
      {"a\xC3", "a" + r},                   // cut short at the end
      {"\xE2\x82x", r + "x"},               // cut short before an ASCII byte
      {"\xC0\xAF", r + r},                  // overlong '/'
      {"\xE0\x80\x80", r + r + r},          // overlong
      {"\xED\xA0\x80", r + r + r},          // a UTF-16 surrogate
      {"\xF4\x90\x80\x80", r + r + r + r},  // above U+10FFFF
      {"\x80\xBF", r + r},                  // lone continuation bytes
      {"\xC3\xC3\xA9", r + "\xC3\xA9"},     // the byte that broke a sequence starts the next
      {"\xF0\x9F\x98\"", r + "\\\""},       // and may be one that needs escaping
  };
  for (const auto& c : cases) {
    EXPECT_EQ(json_quoted(c.input), "\"" + c.expected + "\"") << nlohmann::json(c.expected).dump();
    EXPECT_EQ(json_quoted(c.input), nlohmann_quoted(c.input)) << "differs from nlohmann's replacement";
  }
}

TEST(JsonLineTest, AnyBytesGiveWhatNlohmannWritesWithReplacement) {
  std::mt19937 random(20261201);  // fixed seed: the same inputs every run
  std::uniform_int_distribution<int> length(0, 24);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> pick(0, 3);
  for (int round = 0; round < 5000; ++round) {
    std::string text;
    for (int i = length(random); i > 0; --i) {
      // Mostly bytes at or above 0x80, so that near-valid multi-byte sequences are common.
      text += static_cast<char>(pick(random) == 0 ? byte(random) : 0x80 + byte(random) / 2);
    }
    const auto out = json_quoted(text);
    ASSERT_EQ(out, nlohmann_quoted(text)) << "input " << testing::PrintToString(text);
    ASSERT_TRUE(nlohmann::json::accept(out)) << out;
  }
}

TEST(JsonLineTest, TimeIsRfc3339UtcWithMilliseconds) {
  const sys_days day = year{2026} / December / 1;
  std::string out;
  append_json_time(out, day + 9h + 58min + 27s + 123ms + 999us);
  EXPECT_EQ(out, "\"2026-12-01T09:58:27.123Z\"");
  out.clear();
  append_json_time(out, system_clock::time_point{});
  EXPECT_EQ(out, "\"1970-01-01T00:00:00.000Z\"");
}

TEST(JsonLineTest, ObjectWriterWritesEachKindOfField) {
  std::string line = "prefix:";
  JsonObjectWriter(line)
      .string("s", "a\"b")
      .string_or_null("empty", "")
      .string_or_null("full", "x")
      .number("n", -42)
      .boolean("t", true)
      .boolean("f", false)
      .null("z")
      .number_or_null("n?", std::nullopt)
      .number_or_null("n!", 7)
      .boolean_or_null("b?", std::nullopt)
      .boolean_or_null("b!", false)
      .time("at", system_clock::time_point{} + 1500ms)
      .close();
  EXPECT_EQ(
      line,
      R"(prefix:{"s":"a\"b","empty":null,"full":"x","n":-42,"t":true,"f":false,"z":null,"n?":null,"n!":7,)"
      R"("b?":null,"b!":false,)"
      R"("at":"1970-01-01T00:00:01.500Z"})");
}

TEST(JsonLineTest, NestedObjectsAndArraysGoWhereTheirFieldOrItemIs) {
  std::string out;
  JsonObjectWriter outer(out);
  JsonArrayWriter list(outer.field("list"));
  JsonObjectWriter(list.item()).number("a", 1).close();
  list.item() += "2";
  JsonArrayWriter(list.item()).close();
  list.close();
  outer.field("raw") += R"([""])";
  outer.string("after", "x").close();
  EXPECT_EQ(out, R"({"list":[{"a":1},2,[]],"raw":[""],"after":"x"})");
  EXPECT_FALSE(nlohmann::json::parse(out, nullptr, false).is_discarded());
}

TEST(JsonLineTest, MessageLinesCarryTimeLevelAndTheEscapedMessage) {
  const auto time = sys_days{year{2026} / January / 2} + 3h + 4min + 5s + 6ms;
  const auto line = json_log_line(time, LogLevel::Warn, "cannot \"open\"\nthe file \xFF");
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed, nlohmann::json({{"time", "2026-01-02T03:04:05.006Z"},
                                    {"level", "warn"},
                                    {"message", "cannot \"open\"\nthe file " + kReplacement}}));
  EXPECT_EQ(line.rfind(R"({"time":)", 0), 0u) << "time comes first: " << line;
  EXPECT_EQ(nlohmann::json::parse(json_log_line(time, LogLevel::Debug, ""))["level"], "debug");
  EXPECT_EQ(nlohmann::json::parse(json_log_line(time, LogLevel::Info, ""))["level"], "info");
  EXPECT_EQ(nlohmann::json::parse(json_log_line(time, LogLevel::Error, ""))["level"], "error");
}

}  // namespace
}  // namespace gateway
