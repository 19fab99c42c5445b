// Unit tests of the streaming parser on written bodies: escapes and multi-byte characters split
// anywhere, broken input, fallbacks for answers that are not JSON, bounds, and large answers.
#include "fragment_stream_parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "parser_feeding.h"

namespace e2b::fragments {
namespace {

using namespace parser_testing;
using nlohmann::json;

// ---- Explicit cases ----

struct Case {
  const char* name;
  std::vector<std::string_view> parts;
  std::vector<std::string> code_pieces;  // code returned by each feed()
  std::string commentary;
  bool code_was_string = true;
};

TEST(FragmentStreamParser, ExplicitBodies) {
  const std::vector<Case> cases = {
      {"escape split after the backslash", {R"({"code":"ld\"!\)", R"(n"})"}, {"ld\"!", "\n"}, ""},
      {"\\u split after the backslash", {R"({"code":"\u4e2d\)", R"(u6587"})"}, {"中", "文"}, ""},
      {"empty code", {R"({"commentary":"Only commentary here.","code":""})"}, {""}, "Only commentary here."},
      {"schema mismatch", {R"({"commentary":"missing fields","code":42})"}, {""}, "missing fields", false},
      {"code null", {R"({"code":null,"commentary":"c"})"}, {""}, "c", false},
      {"code array", {R"({"code":["x"],"commentary":"c"})"}, {""}, "c", false},
      {"code object", {R"({"code":{"code":"x"},"commentary":"c"})"}, {""}, "c", false},
      {"code true/number", {R"({"code":true,"x":-1.5e+3,"commentary":"c"})"}, {""}, "c", false},
      {"pretty, repeated key",
       {"\r\n {\r\n\t\"code\" :\n \"a\\nb\" ,\n\t\"code\"\t:\t\"c\"\r\n}\n"},
       {"a\nbc"},
       ""},
      {"trailing commas", {R"({"x":[1,2,],"code":"b",})"}, {"b"}, ""},
      {"trailing text", {R"({"code":"a"} {"code":"b"})", R"("code":"c" } prose)"}, {"a", ""}, ""},
      {"only top-level keys",
       {R"({"meta":{"code":"no","commentary":"no"},"list":[{"code":"no"},"code",["commentary"]],)"
        R"("x":"}\"{[\\","n":[1,-2.5e3,true,false,null,{"z":"]"}],"\u0063ode":"yes",)"
        R"("commentaryXXXXXXXXXXXXXXXXXXXXXXXXXX":"no","commentary":"c"})"},
       {"yes"},
       "c"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Fed run = feed_all(c.parts);
    std::string code, body;
    for (std::size_t k = 0; k < c.parts.size(); ++k) {
      EXPECT_EQ(run.pieces[k].code, c.code_pieces[k]) << "feed " << k;
      code += c.code_pieces[k];
      body += c.parts[k];
    }
    for (const Fed& r : {run, feed_bytes(body)}) {
      EXPECT_EQ(r.code, code);
      EXPECT_EQ(r.commentary, c.commentary);
      EXPECT_EQ(r.outcome.code_was_string, c.code_was_string);
      EXPECT_EQ(r.outcome.shape, BodyShape::CompleteObject);
      EXPECT_TRUE(r.pieces_valid);
    }
  }
}

TEST(FragmentStreamParser, SurrogatePairSplitAnywhere) {
  const std::string body = R"({"code":"a\ud83d\ude00b"})";
  const std::size_t pair = body.find("\\ud83d");
  for (std::size_t i = 0; i <= body.size(); ++i) {
    const Fed run = feed_all({std::string_view(body).substr(0, i), std::string_view(body).substr(i)});
    const char* first = i < pair ? "" : i < pair + 12 ? "a" : i < pair + 13 ? "a😀" : "a😀b";
    EXPECT_EQ(run.pieces[0].code, first) << i;
    EXPECT_EQ(run.code, "a😀b") << i;
    EXPECT_TRUE(run.pieces_valid) << i;
  }
  EXPECT_EQ(feed_bytes(body).code, "a😀b");
}

TEST(FragmentStreamParser, RawMultiByteSplitAnywhere) {
  const std::string body = "{\"code\":\"中😀é\"}";
  const std::size_t start = body.find("中");
  for (std::size_t i = 0; i <= body.size(); ++i) {
    const Fed run = feed_all({std::string_view(body).substr(0, i), std::string_view(body).substr(i)});
    const char* first = i < start + 3 ? "" : i < start + 7 ? "中" : i < start + 9 ? "中😀" : "中😀é";
    EXPECT_EQ(run.pieces[0].code, first) << i;
    EXPECT_EQ(run.code, "中😀é") << i;
    EXPECT_TRUE(run.pieces_valid) << i;
  }
}

TEST(FragmentStreamParser, BrokenEscapesAndBytesBecomeReplacementChars) {
  const std::string r(kFffd);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"(\ud83d)", r},
      {R"(\ude00)", r},
      {R"(\ud83dx)", r + "x"},
      {R"(\ud83d\n)", r + "\n"},
      {R"(\ud83d\ud83d\ude00)", r + "😀"},
      {R"(\ud83d\u0041)", r + "A"},
      {R"(\u12G4)", r + "G4"},
      {R"(\u12)", r},
      {R"(\')", "'"},
      {"\xFF!", r + "!"},
      {"\xE4\xB8!", r + "!"},
      {"\xC0\xAF", r + r},
      {"\xED\xA0\x80", r + r + r},
      {R"(\u0000)", std::string(1, '\0')},
  };
  for (const auto& [literal, decoded] : cases) {
    const std::string body = "{\"code\":\"" + literal + "\"}";
    for (const Fed& run : {feed_all({body}), feed_bytes(body)}) {
      EXPECT_EQ(run.code, decoded) << literal;
      EXPECT_TRUE(run.pieces_valid) << literal;
      EXPECT_EQ(run.outcome.shape, BodyShape::CompleteObject) << literal;
    }
  }
}

TEST(FragmentStreamParser, ReportsWhenTheObjectClosed) {
  FragmentStreamParser parser;
  parser.feed(R"({"code":"a")");
  EXPECT_FALSE(parser.object_closed());
  parser.feed("} more");
  EXPECT_TRUE(parser.object_closed());
}

TEST(FragmentStreamParser, NotJsonFallbacks) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"```json\n{\"commentary\":\"c\",\"code\":\"fenced\"}\n```", "fenced"},
      {"\n```\n{\"commentary\":\"only\",\"code\":\"\"}\n```\n", "only"},
      {"```json\n{\"commentary\":\"c\"}\n```", "c"},
      {"```\nplain words\n```", "plain words"},
      {"Here you go:\n```json\n{\"code\":\"inner\"}\n```\nBye", "inner"},
      {"  Just prose.  \n", "Just prose."},
      {"[1,2]", "[1,2]"},
      {"bad \xFF byte", "bad \xEF\xBF\xBD byte"},
  };
  for (const auto& [body, fallback] : cases) {
    for (const Fed& run : {feed_all({body}), feed_bytes(body)}) {
      EXPECT_EQ(run.outcome.shape, BodyShape::NotJson) << body;
      EXPECT_EQ(run.outcome.fallback, fallback) << body;
      EXPECT_EQ(run.code + run.commentary, "") << body;
    }
  }
}

TEST(FragmentStreamParser, NotJsonBufferIsCapped) {
  FragmentStreamParser parser;
  const std::string block(1 << 16, 'x');
  for (int i = 0; i < 144; ++i) parser.feed(block);  // 9 MiB
  EXPECT_EQ(parser.finish().fallback.size(), kMaxBufferedBody);
}

TEST(FragmentStreamParser, EmptyBodies) {
  EXPECT_EQ(FragmentStreamParser().finish().shape, BodyShape::Empty);
  EXPECT_EQ(feed_all({""}).outcome.shape, BodyShape::Empty);
  EXPECT_EQ(feed_all({" \r\n", "\t "}).outcome.shape, BodyShape::Empty);
}

TEST(FragmentStreamParser, TruncatedInsideCode) {
  const Fed run = feed_all({R"({"commentary":"abc","code":"de)", R"(\u4e)"});
  EXPECT_EQ(run.outcome.shape, BodyShape::TruncatedObject);
  EXPECT_EQ(run.pieces[0].code, "de");
  EXPECT_EQ(run.outcome.rest.code, kFffd);
  EXPECT_EQ(run.commentary, "abc");
  EXPECT_TRUE(run.outcome.code_was_string);
  EXPECT_FALSE(run.outcome.syntax_error);
  EXPECT_EQ(run.outcome.fallback, "");
}

TEST(FragmentStreamParser, SyntaxErrorsStopExtraction) {
  for (const char* body : {R"({"code":"a" "b"})", R"({"code":"a":1})", R"({"x":tru,"code":"b"})",
                           R"({"x":1],"code":"b"})", R"({"x" 1,"code":"b"})", R"({code:"b"})",
                           R"({"x":[1,,2],"code":"b"})", R"({"x":truex})", R"({"x":-1a})", "{,}"}) {
    FragmentStreamParser parser;
    std::string code = parser.feed(body).code;
    code += parser.feed(R"(,"code":"later"})").code;
    const ParseOutcome o = parser.finish();
    EXPECT_EQ(o.shape, BodyShape::TruncatedObject) << body;
    EXPECT_TRUE(o.syntax_error) << body;
    EXPECT_EQ(o.fallback, std::string(body) + R"(,"code":"later"})") << body;
    EXPECT_TRUE(code == "" || code == "a") << body << " -> " << code;
  }
}

TEST(FragmentStreamParser, NestingIsBounded) {
  const Fed deep = feed_all({"{\"x\":" + std::string(100000, '['), std::string(100000, ']') + "}"});
  EXPECT_TRUE(deep.outcome.syntax_error);
  const std::size_t ok_depth = kMaxNesting - 1;  // plus the root object
  const Fed fine =
      feed_all({"{\"x\":" + std::string(ok_depth, '[') + std::string(ok_depth, ']') + ",\"code\":\"deep\"}"});
  EXPECT_EQ(fine.code, "deep");
  EXPECT_EQ(fine.outcome.shape, BodyShape::CompleteObject);
}

TEST(FallbackText, AnObjectNestedPastTheJsonLimitStaysText) {
  // The upstream's text is parsed with the same 64-level bound as client JSON, so a hostile
  // reply is shown as it came instead of being built into a deep tree.
  const std::string body =
      "{\"deep\":" + std::string(100000, '[') + std::string(100000, ']') + ",\"code\":\"x\"}";
  EXPECT_TRUE(fallback_text(body) == body) << "the reply was read as an object";
  const std::string shallow = "{\"deep\":" + std::string(60, '[') + std::string(60, ']') + ",\"code\":\"x\"}";
  EXPECT_EQ(fallback_text(shallow), "x");
}

TEST(FragmentStreamParser, LargeCodeStreamsThrough) {
  std::string text;
  for (int i = 0; i < 200000; ++i) text += "line \\\"" + std::to_string(i) + "\\\"\\n中";
  const std::string body = "{\"code\":\"" + text + "\"}";
  FragmentStreamParser parser;
  std::string code;
  for (std::size_t i = 0; i < body.size(); i += 4093)
    code += parser.feed(std::string_view(body).substr(i, 4093)).code;
  EXPECT_EQ(parser.finish().shape, BodyShape::CompleteObject);
  // Not EXPECT_EQ: gtest's line diff of two 4 MB strings would take minutes.
  const auto want = json::parse(body)["code"].get<std::string>();
  EXPECT_TRUE(code == want) << "got " << code.size() << " bytes, want " << want.size();
}

}  // namespace
}  // namespace e2b::fragments
