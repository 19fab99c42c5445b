// The access log line in both formats: the text line as it always was, and the JSON object with
// its fixed field set.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "pipeline/log_worker.h"

namespace gateway {
namespace {

using namespace std::chrono;
using nlohmann::json;

const std::vector<std::string> kFixedFields = {"time",
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

/// The field names of a JSON object line, in the order they were written.
std::vector<std::string> field_names(const std::string& line) {
  std::vector<std::string> names;
  const auto parsed = nlohmann::ordered_json::parse(line);
  for (const auto& [name, value] : parsed.items()) names.push_back(name);
  return names;
}

/// A streamed chat answer of an authenticated key, every field filled in.
RequestRecord full_record() {
  RequestRecord r;
  r.request_id = "req-0123";
  r.started_at = sys_days{year{2026} / December / 1} + 10h + 20min + 30s + 400ms;
  r.elapsed = 1234567us;
  r.duration = duration_cast<milliseconds>(r.elapsed);
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.route = Route::ChatCompletions;
  r.model = "gpt-4o";
  r.upstream_model = "gpt-4o-2024";
  r.stream = true;
  r.status = 200;
  r.outcome = Outcome::Completed;
  r.principal.authenticated = true;
  r.principal.key_id = "key_7f3a9c2e5b1d4f60";
  r.principal.key_mask = "sk-e2b-ab12\xE2\x80\xA6";  // "sk-e2b-ab12…"
  r.principal.tenant_id = "tenant-acme";
  r.principal.user = "ana@example.com";
  r.usage = {.prompt_tokens = 17, .completion_tokens = 42, .estimated = false};
  r.time_to_first_token = 250ms;
  return r;
}

TEST(AccessLineTest, TextLineIsUnchanged) {
  EXPECT_EQ(access_line(full_record()),
            "request_id=req-0123 method=POST path=/v1/chat/completions status=200 duration_ms=1234 "
            "model=gpt-4o stream=true outcome=completed ttft_ms=250 prompt_tokens=17 completion_tokens=42 "
            "key=sk-e2b-ab12\xE2\x80\xA6");
}

TEST(AccessLineTest, JsonLineOfAFullRecordHasEveryValue) {
  const auto line = access_json_line(full_record());
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(field_names(line), kFixedFields);
  EXPECT_EQ(json::parse(line), json({{"time", "2026-12-01T10:20:31.634Z"},  // when the request ended
                                     {"level", "info"},
                                     {"request_id", "req-0123"},
                                     {"method", "POST"},
                                     {"path", "/v1/chat/completions"},
                                     {"status", 200},
                                     {"outcome", "completed"},
                                     {"error", nullptr},
                                     {"tenant", "tenant-acme"},
                                     {"key", "sk-e2b-ab12\xE2\x80\xA6"},
                                     {"user", "ana@example.com"},
                                     {"model", "gpt-4o"},
                                     {"stream", true},
                                     {"duration_ms", 1234},
                                     {"ttft_ms", 250},
                                     {"prompt_tokens", 17},
                                     {"completion_tokens", 42}}));
}

TEST(AccessLineTest, JsonLineOfAMinimalRecordHasEveryFieldWithNulls) {
  RequestRecord r;  // nothing known: no id, no route, no caller
  const auto line = access_json_line(r);
  EXPECT_EQ(field_names(line), kFixedFields);
  const auto parsed = json::parse(line);
  for (const char* field : {"request_id", "method", "path", "error", "tenant", "key", "user", "model",
                            "stream", "ttft_ms", "prompt_tokens", "completion_tokens"}) {
    EXPECT_TRUE(parsed[field].is_null()) << field << ": " << line;
  }
  EXPECT_EQ(parsed["level"], "info");
  EXPECT_EQ(parsed["status"], 0);
  EXPECT_EQ(parsed["outcome"], "completed");
  EXPECT_EQ(parsed["duration_ms"], 0);
  EXPECT_EQ(parsed["time"], "1970-01-01T00:00:00.000Z");
}

TEST(AccessLineTest, JsonLineOfARefusedChatNamesTheErrorAndCountsTokens) {
  RequestRecord r;
  r.request_id = "req-401";
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.route = Route::ChatCompletions;
  r.status = 401;
  r.outcome = Outcome::Rejected;
  r.error_code = "invalid_api_key";
  const auto parsed = json::parse(access_json_line(r));
  EXPECT_EQ(parsed["status"], 401);
  EXPECT_EQ(parsed["outcome"], "rejected");
  EXPECT_EQ(parsed["error"], "invalid_api_key");
  EXPECT_TRUE(parsed["key"].is_null());
  EXPECT_TRUE(parsed["model"].is_null());
  EXPECT_TRUE(parsed["stream"].is_null()) << "unknown before the body was read";
  EXPECT_EQ(parsed["prompt_tokens"], 0);  // the chat route always counts, like its usage row
  EXPECT_EQ(parsed["completion_tokens"], 0);
}

TEST(AccessLineTest, JsonLineShowsTheKeysMaskAndNothingElseOfTheKey) {
  const auto r = full_record();
  const auto line = access_json_line(r);
  EXPECT_EQ(json::parse(line)["key"], r.principal.key_mask);
  EXPECT_EQ(line.find(r.principal.key_id), std::string::npos) << line;
  // No key-shaped value longer than a mask's few characters anywhere in the line.
  EXPECT_FALSE(std::regex_search(line, std::regex("sk-[A-Za-z0-9_-]{12,}"))) << line;
}

TEST(AccessLineTest, JsonLineEscapesWhatTheClientSent) {
  auto r = full_record();
  r.path =
      "/v1/\"quoted\"\\path\nwith\x01"
      "control\xFF";
  r.principal.user = "ana\"\r\n{\"injected\":true}\xC3";
  r.model = "gpt\t4o";
  const auto line = access_json_line(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  const auto parsed = json::parse(line);
  EXPECT_EQ(field_names(line), kFixedFields) << "nothing injected";
  EXPECT_EQ(parsed["path"],
            "/v1/\"quoted\"\\path\nwith\x01"
            "control\xEF\xBF\xBD");
  EXPECT_EQ(parsed["user"], "ana\"\r\n{\"injected\":true}\xEF\xBF\xBD");
  EXPECT_EQ(parsed["model"], "gpt\t4o");
}

TEST(AccessLineTest, JsonLineWithoutAFirstTokenHasANullTtft) {
  auto r = full_record();
  r.stream = false;
  r.time_to_first_token.reset();
  const auto parsed = json::parse(access_json_line(r));
  EXPECT_EQ(parsed["stream"], false);
  EXPECT_TRUE(parsed["ttft_ms"].is_null());
}

TEST(AccessLineTest, TextPrefixIsTheLoggersTimeAndLevel) {
  const auto time = system_clock::time_point(milliseconds(1796144006144));  // 2026-12-01T16:53:26.144Z
  std::string prefix;
  append_text_line_prefix(prefix, time, LogLevel::Info);
  EXPECT_EQ(prefix, "2026-12-01T16:53:26.144Z info ");
  prefix.clear();
  append_text_line_prefix(prefix, time, LogLevel::Warn);
  EXPECT_EQ(prefix, "2026-12-01T16:53:26.144Z warning ") << "spdlog's level names, as the logger writes them";
}

TEST(LogWorkerBatchTest, BatchEndRunsAfterTheRecordsOfEachBatch) {
  std::mutex mutex;
  std::vector<std::string> seen;  // "r" per record, "end" per batch end
  {
    LogWorker worker(
        [&](const RequestRecord&, const Generation*) {
          std::lock_guard lock(mutex);
          seen.push_back("r");
        },
        1000,
        [&] {
          std::lock_guard lock(mutex);
          seen.push_back("end");
        });
    for (int i = 0; i < 200; ++i) worker.submit(RequestRecord{});
    worker.stop();
  }
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(std::count(seen.begin(), seen.end(), "r"), 200);
  EXPECT_EQ(seen.back(), "end") << "the last records' batch was closed";
  EXPECT_EQ(seen.front(), "r") << "no empty batch";
  for (std::size_t i = 1; i < seen.size(); ++i)
    EXPECT_FALSE(seen[i] == "end" && seen[i - 1] == "end") << "no empty batch at " << i;
}

}  // namespace
}  // namespace gateway
