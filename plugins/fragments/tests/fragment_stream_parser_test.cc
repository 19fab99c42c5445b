// Unit tests of the streaming parser: every capture at every split point, byte by byte and in its chunks.
#include "fragment_stream_parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chunked_body.h"

#ifndef FRAGMENTS_WIRE_DIR
#error "FRAGMENTS_WIRE_DIR must be the path of tests/fixtures/fragments-wire"
#endif

namespace e2b::fragments {
namespace {

using nlohmann::json;
using test::CapturedResponse;
constexpr std::string_view kFffd = "\xEF\xBF\xBD";
constexpr std::string_view kCommentary = "I will answer the user in plain text inside the code field.";

// Strict UTF-8 check, written independently of the parser's own Utf8Assembler.
bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n = 1;
    std::uint32_t cp = b;
    if (b >= 0x80) {
      if ((b & 0xE0) == 0xC0)
        n = 2, cp = b & 0x1F;
      else if ((b & 0xF0) == 0xE0)
        n = 3, cp = b & 0x0F;
      else if ((b & 0xF8) == 0xF0)
        n = 4, cp = b & 0x07;
      else
        return false;
      if (i + n > s.size()) return false;
      for (std::size_t k = 1; k < n; ++k) {
        const auto c = static_cast<unsigned char>(s[i + k]);
        if ((c & 0xC0) != 0x80) return false;
        cp = (cp << 6) | (c & 0x3F);
      }
      if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
          (cp >= 0xD800 && cp <= 0xDFFF))
        return false;
    }
    i += n;
  }
  return true;
}

/// Everything one sequence of feed() calls produced.
struct Fed {
  std::vector<ParsedText> pieces;
  ParseOutcome outcome;
  std::string code, commentary;  // all pieces plus outcome.rest
  bool pieces_valid = true;
};

Fed feed_all(const std::vector<std::string_view>& parts) {
  FragmentStreamParser parser;
  Fed run;
  auto take = [&run](const ParsedText& t) {
    run.pieces_valid = run.pieces_valid && valid_utf8(t.code) && valid_utf8(t.commentary);
    run.code += t.code;
    run.commentary += t.commentary;
  };
  for (std::string_view part : parts) take(run.pieces.emplace_back(parser.feed(part)));
  run.outcome = parser.finish();
  take(run.outcome.rest);
  return run;
}

Fed feed_bytes(std::string_view body) {
  std::vector<std::string_view> parts;
  for (std::size_t i = 0; i < body.size(); ++i) parts.push_back(body.substr(i, 1));
  return feed_all(parts);
}

/// Test oracle for one top-level string value of a fixture body: where its literal sits and
/// which decoded text a streaming parser must have produced after any number of body bytes.
/// Each escape (a surrogate pair counts as one) or raw UTF-8 character is decoded on its own
/// by nlohmann::json, so the oracle does not share code with the parser.
struct FieldOracle {
  std::vector<std::size_t> unit_end;     // body offset just past each decoded unit
  std::vector<std::size_t> decoded_len;  // length of `decoded` after that unit
  std::string decoded;

  static FieldOracle find(std::string_view body, std::string_view key) {
    FieldOracle oracle;
    const std::string quoted = "\"" + std::string(key) + "\"";
    for (auto at = body.find(quoted); at != std::string_view::npos; at = body.find(quoted, at + 1)) {
      std::size_t p = body.find_first_not_of(" \t\r\n", at + quoted.size());
      if (p == std::string_view::npos || body[p] != ':') continue;
      p = body.find_first_not_of(" \t\r\n", p + 1);
      if (p == std::string_view::npos || body[p] != '"') continue;
      for (++p; p < body.size() && body[p] != '"';) {
        std::size_t len = 1;
        const auto b = static_cast<unsigned char>(body[p]);
        if (b == '\\' && body[p + 1] == 'u') {
          const auto cp = std::stoul(std::string(body.substr(p + 2, 4)), nullptr, 16);
          len = cp >= 0xD800 && cp <= 0xDBFF ? 12 : 6;  // a surrogate pair decodes as one unit
        } else if (b == '\\') {
          len = 2;
        } else if (b >= 0xF0) {
          len = 4;
        } else if (b >= 0xE0) {
          len = 3;
        } else if (b >= 0xC0) {
          len = 2;
        }
        oracle.decoded += json::parse("\"" + std::string(body.substr(p, len)) + "\"").get<std::string>();
        p += len;
        oracle.unit_end.push_back(p);
        oracle.decoded_len.push_back(oracle.decoded.size());
      }
      break;
    }
    return oracle;
  }

  [[nodiscard]] std::string prefix(std::size_t consumed) const {
    const auto done = std::upper_bound(unit_end.begin(), unit_end.end(), consumed) - unit_end.begin();
    return decoded.substr(0, done == 0 ? 0 : decoded_len[done - 1]);
  }
};

struct Expected {
  BodyShape shape = BodyShape::CompleteObject;
  std::string code, commentary, fallback;
  bool code_was_string = false;
};

// 200 captures whose body nlohmann cannot parse as an object, with their outcome spelled out.
const std::map<std::string, Expected>& special_captures() {
  static const std::string bad =
      R"(Sorry, I cannot produce JSON right now. {"commentary": "oops", "code": "unterminated)";
  static const Expected truncated{BodyShape::TruncatedObject, "", std::string(kCommentary), "", false};
  static const std::map<std::string, Expected> m = {
      {"llm-ollama-badjson", {BodyShape::NotJson, "", "", bad, false}},
      {"llm-openai-badjson", {BodyShape::NotJson, "", "", bad, false}},
      {"llm-ollama-plaintext", {BodyShape::NotJson, "", "", "Just some plain text, no JSON at all.", false}},
      {"llm-ollama-codefence", {BodyShape::NotJson, "", "", "fenced", false}},
      {"llm-ollama-trailing", {BodyShape::CompleteObject, "ok", std::string(kCommentary), "", true}},
      {"llm-ollama-die", truncated},
      {"llm-openai-die", truncated},
      {"llm-ollama-stall", truncated},
  };
  return m;
}

Expected expected_for(const std::string& name, const std::string& body) {
  if (const auto it = special_captures().find(name); it != special_captures().end()) return it->second;
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    ADD_FAILURE() << name << ": not a JSON object; give it an entry in special_captures()";
    return {};
  }
  Expected e;
  if (j.contains("code") && j["code"].is_string()) e.code = j["code"], e.code_was_string = true;
  if (j.contains("commentary") && j["commentary"].is_string()) e.commentary = j["commentary"];
  return e;
}

::testing::AssertionResult matches(const Fed& run, const Expected& want) {
  const ParseOutcome& o = run.outcome;
  if (!run.pieces_valid) return ::testing::AssertionFailure() << "a piece is not valid UTF-8";
  if (o.shape != want.shape) return ::testing::AssertionFailure() << "shape " << int(o.shape);
  if (run.code != want.code) return ::testing::AssertionFailure() << "code: " << run.code;
  if (run.commentary != want.commentary)
    return ::testing::AssertionFailure() << "commentary: " << run.commentary;
  if (o.fallback != want.fallback) return ::testing::AssertionFailure() << "fallback: " << o.fallback;
  if (o.code_was_string != want.code_was_string) return ::testing::AssertionFailure() << "code_was_string";
  if (o.syntax_error) return ::testing::AssertionFailure() << "syntax_error";
  if (!o.rest.code.empty() || !o.rest.commentary.empty()) return ::testing::AssertionFailure() << "rest";
  return ::testing::AssertionSuccess();
}

std::vector<std::filesystem::path> raw_captures() {
  std::vector<std::filesystem::path> paths;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(FRAGMENTS_WIRE_DIR, ec))
    if (entry.path().extension() == ".raw") paths.push_back(entry.path());
  std::sort(paths.begin(), paths.end());
  return paths;
}

std::vector<std::string> ok_capture_names() {
  std::vector<std::string> names;
  for (const auto& path : raw_captures())
    if (test::load_capture(path.string()).status == 200) names.push_back(path.stem().string());
  return names;
}

CapturedResponse load(const std::string& name) {
  return test::load_capture(std::string(FRAGMENTS_WIRE_DIR) + "/" + name + ".raw");
}

class OkCapture : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    capture_ = load(GetParam());
    ASSERT_EQ(capture_.status, 200);
    want_ = expected_for(GetParam(), capture_.body);
    if (want_.shape != BodyShape::NotJson) {
      code_ = FieldOracle::find(capture_.body, "code");
      commentary_ = FieldOracle::find(capture_.body, "commentary");
    }
    // The oracles must reach the expected values, or the prefix checks below prove nothing.
    ASSERT_EQ(code_.decoded, want_.code);
    ASSERT_EQ(commentary_.decoded, want_.commentary);
  }
  // Feeds `parts`, checking after each one that exactly the completed text came out so far.
  void feed_checked(const std::vector<std::string_view>& parts) {
    const Fed run = feed_all(parts);
    std::size_t consumed = 0;
    std::string code, commentary;
    for (std::size_t k = 0; k < parts.size(); ++k) {
      consumed += parts[k].size();
      code += run.pieces[k].code;
      commentary += run.pieces[k].commentary;
      ASSERT_EQ(code, code_.prefix(consumed)) << "after " << consumed << " bytes";
      ASSERT_EQ(commentary, commentary_.prefix(consumed)) << "after " << consumed << " bytes";
    }
    ASSERT_TRUE(matches(run, want_));
  }
  CapturedResponse capture_;
  Expected want_;
  FieldOracle code_, commentary_;
};

TEST_P(OkCapture, WholeBody) {
  feed_checked({capture_.body});
}

TEST_P(OkCapture, EverySplitPosition) {
  const std::string_view body = capture_.body;
  for (std::size_t i = 0; i <= body.size(); ++i) {
    SCOPED_TRACE("split at " + std::to_string(i));
    feed_checked({body.substr(0, i), body.substr(i)});
  }
}

TEST_P(OkCapture, ByteByByte) {
  std::vector<std::string_view> parts;
  for (std::size_t i = 0; i < capture_.body.size(); ++i)
    parts.push_back(std::string_view(capture_.body).substr(i, 1));
  feed_checked(parts);
}

TEST_P(OkCapture, OriginalChunks) {
  feed_checked(std::vector<std::string_view>(capture_.chunks.begin(), capture_.chunks.end()));
}

INSTANTIATE_TEST_SUITE_P(Wire, OkCapture, ::testing::ValuesIn(ok_capture_names()), [](const auto& info) {
  std::string name = info.param;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
});

TEST(WireCaptures, InventoryCoversEveryOkCapture) {
  const auto names = ok_capture_names();
  EXPECT_GE(names.size(), 21u);
  for (const auto& [name, _] : special_captures())
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
}

TEST(WireCaptures, ErrorBodiesAreProseOrEmpty) {
  int checked = 0;
  for (const auto& path : raw_captures()) {
    const auto capture = test::load_capture(path.string());
    if (capture.status == 200) continue;
    ++checked;
    const Fed run = feed_all({capture.body});
    EXPECT_EQ(run.outcome.shape, capture.body.empty() ? BodyShape::Empty : BodyShape::NotJson) << path;
    EXPECT_EQ(run.outcome.fallback, capture.body) << path;
    EXPECT_EQ(run.code + run.commentary, "") << path;
  }
  EXPECT_GE(checked, 25);
}

TEST(ChunkedBody, DecodesCaptures) {
  const auto ok = load("ok-stream-ollama");
  EXPECT_EQ(ok.status, 200);
  EXPECT_TRUE(ok.terminated);
  EXPECT_EQ(ok.body.size(), 502u);
  ASSERT_GT(ok.chunks.size(), 50u);
  EXPECT_EQ(ok.chunks.front(), "{\"co");
  std::string joined;
  for (const auto& c : ok.chunks) joined += c;
  EXPECT_EQ(joined, ok.body);
  ASSERT_GE(ok.headers.size(), 3u);
  EXPECT_EQ(ok.headers[2],
            (std::pair<std::string, std::string>{"content-type", "text/plain; charset=utf-8"}));

  const auto die = load("llm-ollama-die");
  EXPECT_FALSE(die.terminated);
  EXPECT_EQ(die.body.size(), 219u);
  EXPECT_TRUE(die.body.ends_with("\"has_additional_dependencies\":fals"));

  const auto empty = load("req-empty-body");
  EXPECT_EQ(empty.status, 500);
  EXPECT_TRUE(empty.terminated);
  EXPECT_EQ(empty.body, "");

  const auto cut =
      test::parse_captured_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
  EXPECT_EQ(cut.body, "hel");
  EXPECT_FALSE(cut.terminated);
}

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
