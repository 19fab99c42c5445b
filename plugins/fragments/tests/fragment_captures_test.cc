// Unit tests of the streaming parser against real Fragments answers: every capture at every
// split point, byte by byte and in its original chunks.
#include "fragment_stream_parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chunked_body.h"
#include "parser_feeding.h"

#ifndef FRAGMENTS_WIRE_DIR
#error "FRAGMENTS_WIRE_DIR must be the path of tests/fixtures/fragments-wire"
#endif

namespace e2b::fragments {
namespace {

using namespace parser_testing;
using nlohmann::json;
using test::CapturedResponse;
constexpr std::string_view kCommentary = "I will answer the user in plain text inside the code field.";

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

}  // namespace
}  // namespace e2b::fragments
