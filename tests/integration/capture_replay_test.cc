// Every real Fragments response capture in tests/fixtures/fragments-wire/, replayed byte for byte
// by the fake upstream through the real gateway, in both modes. The expected answer is decoded
// here from the capture's own bytes, independently of the gateway; error statuses must map as
// the README's error table says.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "harness.h"

using namespace harness;
using nlohmann::json;

namespace {

std::filesystem::path captures_dir() {
  return source_dir() / "tests/fixtures/fragments-wire";
}

/// Names (without .raw) of every capture of a Fragments response.
std::vector<std::string> capture_names() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(captures_dir())) {
    if (entry.path().extension() == ".raw") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

/// A capture's response: its status, de-chunked body, and whether the body was terminated.
struct Capture {
  int status = 0;
  std::string body;
  bool terminated = false;
};

Capture read_capture(const std::string& name) {
  std::ifstream in(captures_dir() / (name + ".raw"), std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  const std::string raw = bytes.str();
  Capture capture;
  const auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || !raw.starts_with("HTTP/1.1 ")) return capture;
  capture.status = std::stoi(raw.substr(9, 3));
  std::size_t pos = head_end + 4;
  for (;;) {
    const auto eol = raw.find("\r\n", pos);
    if (eol == std::string::npos) break;
    const std::size_t size = std::stoul(raw.substr(pos, eol - pos), nullptr, 16);
    if (size == 0) {
      capture.terminated = true;
      break;
    }
    if (eol + 2 + size > raw.size()) {  // cut inside a chunk: keep what arrived
      capture.body += raw.substr(eol + 2);
      break;
    }
    capture.body += raw.substr(eol + 2, size);
    pos = eol + 2 + size + 2;
  }
  return capture;
}

/// What the client should get for a capture.
struct Expected {
  int status = 200;        ///< non-streamed status
  std::string error_code;  ///< empty for an answer
  std::string content;     ///< the answer, when there is one
};

/// The Fragments object in a body: the whole body, or the first `{` to the last `}` that closes it
/// (a ```json fence, text after the object). Null when no complete object is there.
json fragment_object(const std::string& body) {
  const auto start = body.find('{');
  if (start == std::string::npos) return nullptr;
  for (auto end = body.rfind('}'); end != std::string::npos && end > start; end = body.rfind('}', end - 1)) {
    auto parsed = json::parse(body.substr(start, end - start + 1), nullptr, false);
    if (parsed.is_object()) return parsed;
  }
  return nullptr;
}

/// Error statuses as the README's error table maps them.
Expected mapped_error(int upstream_status) {
  switch (upstream_status) {
    case 429:
      return {429, "rate_limit_exceeded", ""};
    case 503:
    case 529:
      return {503, "upstream_overloaded", ""};
    case 401:
    case 403:
      return {502, "upstream_auth_failed", ""};
    case 404:
    case 405:
      return {502, "upstream_misconfigured", ""};
    default:
      return {502, "upstream_error", ""};
  }
}

Expected expected_for(const std::string& name, const Capture& capture) {
  if (capture.status != 200) return mapped_error(capture.status);
  if (!capture.terminated) {
    // Held open without more bytes ("stall" captures, like the real one) or closed early.
    if (name.find("stall") != std::string::npos) return {504, "upstream_timeout", ""};
    return {502, "upstream_disconnected", ""};
  }
  // A body that does not open a JSON object or a ```json fence is prose: the text as written.
  const auto first = capture.body.find_first_not_of(" \t\r\n");
  if (first == std::string::npos ||
      (capture.body[first] != '{' && capture.body.compare(first, 3, "```") != 0))
    return {200, "", capture.body};
  const auto object = fragment_object(capture.body);
  if (object.is_null()) return {502, "incomplete_answer", ""};
  // A code field that is not text counts as no code; then the commentary is the answer.
  const auto text_of = [&](const char* field) {
    const auto value = object.value(field, json());
    return value.is_string() ? value.get<std::string>() : std::string();
  };
  if (const auto code = text_of("code"); !code.empty()) return {200, "", code};
  if (const auto commentary = text_of("commentary"); !commentary.empty()) return {200, "", commentary};
  return {502, "empty_answer", ""};
}

/// The stall capture is held open by the fake upstream: a short idle timeout ends it.
struct ReplaySettings {
  static void apply(GatewayOptions& options) { options.idle_timeout_ms = 1000; }
};

}  // namespace

class CaptureReplayTest : public GatewaySuite<ReplaySettings>,
                          public ::testing::WithParamInterface<std::string> {
 protected:
  Response replay(bool stream) {
    return chat(gateway_->port(), gateway_->key(), scenario_request("replay=" + GetParam(), stream));
  }
};

TEST_P(CaptureReplayTest, GivesTheAnswerDecodedFromTheCaptureOrItsMappedError) {
  const auto capture = read_capture(GetParam());
  ASSERT_NE(capture.status, 0) << "not an HTTP response capture";
  const auto expected = expected_for(GetParam(), capture);

  const auto whole = replay(false);
  EXPECT_EQ(whole.status, expected.status) << whole.body;
  if (expected.error_code.empty()) {
    const auto answer = json::parse(whole.body, nullptr, false);
    ASSERT_TRUE(answer.is_object()) << whole.body;
    EXPECT_EQ(answer["choices"][0]["message"]["content"], expected.content);
    EXPECT_EQ(answer["choices"][0]["finish_reason"], "stop");
  } else {
    EXPECT_EQ(openai_error_code(whole), expected.error_code) << whole.body;
  }

  const auto streamed = replay(true);
  EXPECT_TRUE(streamed.complete) << "a terminated chunked body";
  if (expected.error_code.empty()) {
    ASSERT_EQ(streamed.status, 200) << streamed.body;
    EXPECT_EQ(streamed_content(streamed.body), expected.content);
    EXPECT_EQ(sse_data(streamed.body).back(), "[DONE]");
    EXPECT_TRUE(stream_error_event(streamed.body).is_null()) << streamed.body;
  } else if (capture.status == 200) {  // the stream had started: an error event, then [DONE]
    ASSERT_EQ(streamed.status, 200) << streamed.body;
    const auto error = stream_error_event(streamed.body);
    ASSERT_TRUE(error.is_object()) << streamed.body;
    EXPECT_EQ(error["code"], expected.error_code);
  } else {
    EXPECT_EQ(streamed.status, expected.status) << streamed.body;
    EXPECT_EQ(openai_error_code(streamed), expected.error_code) << streamed.body;
  }
}

INSTANTIATE_TEST_SUITE_P(Captures, CaptureReplayTest, ::testing::ValuesIn(capture_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(CaptureReplayCoverageTest, EveryCaptureIsReplayed) {
  // The parameterized test above runs once per .raw file; this guards against an empty or moved
  // fixture directory making it run nothing.
  EXPECT_GE(capture_names().size(), 50u);
}
