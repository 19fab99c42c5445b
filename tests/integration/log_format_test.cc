// The log settings on the real binary: log.format json (every stderr line one JSON object, access
// lines with their fixed fields) and log.access false (no access lines, everything else kept).
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "harness.h"

namespace {

using namespace harness;
using nlohmann::json;

const std::string kLimitedKey = "sk-test-limited-0123456789";  // user limited@example.com, gpt-4o-mini

/// Every line of `log`, without the newlines; fails the current test when the log does not end
/// with a whole line.
std::vector<std::string> lines_of(const std::string& log) {
  EXPECT_TRUE(log.empty() || log.back() == '\n') << "the last line is cut: " << log;
  std::vector<std::string> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

/// The JSON access line of `request_id` once the gateway has written it (null if it never does).
json json_access_line(const Gateway& gateway, const std::string& request_id) {
  const std::string marker = "\"request_id\":\"" + request_id + "\"";
  json found;
  eventually([&] {
    for (const auto& line : lines_of(gateway.log())) {
      if (line.find(marker) != std::string::npos) {
        found = json::parse(line);
        return true;
      }
    }
    return false;
  });
  return found;
}

/// Whether some line of the gateway's log holds `text`.
bool logged(const Gateway& gateway, const std::string& text) {
  return gateway.log().find(text) != std::string::npos;
}

TEST(LogFormatTest, JsonFormatWritesEveryLineAsAJsonObjectWithFixedAccessFields) {
  FakeUpstream upstream;
  GatewayOptions options;
  options.upstream_base = upstream.base_url();
  options.log_format = "json";
  Gateway gateway(options);

  const auto chat_id = new_request_id("json-log-chat");
  const auto answer = chat(gateway.port(), kLimitedKey, scenario_request("ok", false, "gpt-4o-mini"),
                           {{"X-Request-ID", chat_id}});
  ASSERT_EQ(answer.status, 200) << answer.body;
  const auto usage = json::parse(answer.body)["usage"];
  const auto refused_id = new_request_id("json-log-401");
  const auto refused = chat(gateway.port(), "sk-test-wrong-0123456789", scenario_request("ok", false),
                            {{"X-Request-ID", refused_id}});
  ASSERT_EQ(refused.status, 401);
  const auto odd_id = new_request_id("json-log-path");
  const auto odd = http(gateway.port(), "GET", "/v1/\"quoted\"\\path",
                        {{"X-Request-ID", odd_id}, {"Authorization", "Bearer " + kLimitedKey}});
  ASSERT_EQ(odd.status, 404);

  const auto line = json_access_line(gateway, chat_id);
  ASSERT_TRUE(line.is_object()) << "no JSON access line for " << chat_id << ": " << gateway.log();
  const auto refused_line = json_access_line(gateway, refused_id);
  ASSERT_TRUE(refused_line.is_object()) << "no JSON access line for " << refused_id;
  const auto odd_line = json_access_line(gateway, odd_id);
  ASSERT_TRUE(odd_line.is_object()) << "no JSON access line for " << odd_id;
  ASSERT_EQ(gateway.stop(), 0);  // the shutdown lines too, then everything is flushed

  // Every line on stderr, from the first startup line to "stopped", is one JSON object.
  const auto log = gateway.log();
  const auto lines = lines_of(log);
  ASSERT_GE(lines.size(), 6u) << log;
  const std::vector<std::string> fixed = {"time",
                                          "level",
                                          "request_id",
                                          "method",
                                          "path",
                                          "status",
                                          "outcome",
                                          "error",
                                          "tenant",
                                          "key",
                                          "user",
                                          "model",
                                          "stream",
                                          "duration_ms",
                                          "ttft_ms",
                                          "prompt_tokens",
                                          "completion_tokens"};
  int access_lines = 0;
  for (const auto& text : lines) {
    json parsed;
    ASSERT_NO_THROW(parsed = json::parse(text)) << "not JSON: " << text;
    ASSERT_TRUE(parsed.is_object()) << text;
    EXPECT_TRUE(parsed["time"].is_string()) << text;
    EXPECT_TRUE(parsed["level"].is_string()) << text;
    if (parsed.contains("request_id")) {
      ++access_lines;
      EXPECT_EQ(parsed.size(), fixed.size()) << text;
      for (const auto& field : fixed) EXPECT_TRUE(parsed.contains(field)) << field << " missing: " << text;
    } else {
      EXPECT_EQ(parsed.size(), 3u) << text;
      EXPECT_TRUE(parsed["message"].is_string()) << text;
    }
  }
  EXPECT_EQ(access_lines, 3);
  EXPECT_NE(log.find("listening on"), std::string::npos);
  EXPECT_NE(log.find(R"("message":"stopped")"), std::string::npos);
  EXPECT_TRUE(std::regex_match(line["time"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << line["time"];

  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["method"], "POST");
  EXPECT_EQ(line["path"], "/v1/chat/completions");
  EXPECT_EQ(line["status"], 200);
  EXPECT_EQ(line["outcome"], "completed");
  EXPECT_TRUE(line["error"].is_null());
  EXPECT_EQ(line["model"], "gpt-4o-mini");
  EXPECT_EQ(line["stream"], false);
  EXPECT_EQ(line["tenant"], "static");
  EXPECT_EQ(line["user"], "limited@example.com");
  EXPECT_EQ(line["prompt_tokens"], usage["prompt_tokens"]);
  EXPECT_EQ(line["completion_tokens"], usage["completion_tokens"]);
  EXPECT_GT(line["completion_tokens"].get<int>(), 0);
  EXPECT_TRUE(line["duration_ms"].is_number_integer());
  // The key is its mask: a short prefix of the secret and an ellipsis, never the secret.
  const auto mask = line["key"].get<std::string>();
  const std::string ellipsis = "\xE2\x80\xA6";
  ASSERT_TRUE(mask.ends_with(ellipsis)) << mask;
  const auto shown = mask.substr(0, mask.size() - ellipsis.size());
  EXPECT_TRUE(kLimitedKey.starts_with(shown)) << mask;
  EXPECT_LT(shown.size(), kLimitedKey.size() / 2) << mask;
  EXPECT_EQ(log.find(kLimitedKey), std::string::npos);
  EXPECT_EQ(log.find("sk-test-wrong-0123456789"), std::string::npos);
  EXPECT_EQ(log.find("scenario:ok"), std::string::npos) << "no prompt text at info level";

  EXPECT_EQ(refused_line["status"], 401);
  EXPECT_EQ(refused_line["outcome"], "rejected");
  EXPECT_TRUE(refused_line["error"].is_string());
  EXPECT_TRUE(refused_line["key"].is_null());
  EXPECT_TRUE(refused_line["tenant"].is_null());
  EXPECT_TRUE(refused_line["user"].is_null());
  EXPECT_TRUE(refused_line["ttft_ms"].is_null());

  EXPECT_EQ(odd_line["path"], "/v1/\"quoted\"\\path");
  EXPECT_EQ(odd_line["status"], 404);
  EXPECT_TRUE(odd_line["prompt_tokens"].is_null()) << "not the chat route";
}

TEST(LogFormatTest, AccessSwitchOffDropsOnlyTheAccessLines) {
  FakeUpstream upstream;
  GatewayOptions options;
  options.upstream_base = upstream.base_url();
  options.log_access = false;
  Gateway gateway(options);

  const auto chat_id = new_request_id("no-access-log");
  const auto answer =
      chat(gateway.port(), gateway.key(), scenario_request("ok", false), {{"X-Request-ID", chat_id}});
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(json::parse(answer.body)["choices"][0]["message"]["content"], "Echo: scenario:ok");
  const auto refused_id = new_request_id("no-access-log-401");
  ASSERT_EQ(chat(gateway.port(), "sk-test-wrong-0123456789", scenario_request("ok", false),
                 {{"X-Request-ID", refused_id}})
                .status,
            401);
  // The log phase still runs: both requests get their usage rows.
  const auto db = gateway.storage_path();
  EXPECT_EQ(usage_column(db, chat_id, "outcome"), "completed");
  EXPECT_EQ(usage_column(db, chat_id, "status"), "200");
  EXPECT_EQ(usage_column(db, refused_id, "outcome"), "rejected");
  ASSERT_EQ(gateway.stop(), 0);  // flushes whatever was queued for stderr

  const auto log = gateway.log();
  EXPECT_EQ(log.find(chat_id), std::string::npos) << log;
  EXPECT_EQ(log.find(refused_id), std::string::npos) << log;
  EXPECT_EQ(log.find("request_id="), std::string::npos) << log;
  EXPECT_NE(log.find(" listening on "), std::string::npos) << "startup lines stay: " << log;
  EXPECT_NE(log.find(" info plugin "), std::string::npos) << "startup lines stay: " << log;
  EXPECT_NE(log.find(" info stopped"), std::string::npos) << log;
}

TEST(LogFormatTest, AccessSwitchOnWritesTheTextLineAsBefore) {
  FakeUpstream upstream;
  GatewayOptions options;
  options.upstream_base = upstream.base_url();
  Gateway gateway(options);  // log.format text and log.access true, written out
  const auto chat_id = new_request_id("text-access-log");
  ASSERT_EQ(
      chat(gateway.port(), gateway.key(), scenario_request("ok", false), {{"X-Request-ID", chat_id}}).status,
      200);
  const auto line = access_log_line(gateway, chat_id);
  ASSERT_FALSE(line.empty()) << gateway.log();
  EXPECT_TRUE(
      std::regex_search(line, std::regex(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info request_id=)")))
      << line;
  EXPECT_NE(line.find(" status=200 "), std::string::npos) << line;
  EXPECT_NE(line.find(" outcome=completed "), std::string::npos) << line;
  EXPECT_FALSE(logged(gateway, "{\"time\"")) << "no JSON in the text format";
}

}  // namespace
