// Usage reports as the admin API and self-service answer them: the query parsing (time ranges,
// grouping) and the JSON views of usage reports and request-log pages.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "admin/reports.h"
#include "admin/views.h"
#include "expect_invalid.h"

using namespace gateway;
using gateway::admin::parse_time_range;
using gateway::testing_support::expect_invalid;
using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// parse_time_range

TEST(ParseTimeRange, NothingGivenIsUnbounded) {
  const auto range = parse_time_range(std::nullopt, std::nullopt);
  EXPECT_EQ(range.from_ms, 0);
  EXPECT_EQ(range.to_ms, INT64_MAX);
}

TEST(ParseTimeRange, DatesAreUtcAndABareToDateMeansTheEndOfThatDay) {
  constexpr std::int64_t kMarch1 = 1772323200000;  // 2026-03-01T00:00:00Z
  auto range = parse_time_range("2026-03-01", "2026-03-01");
  EXPECT_EQ(range.from_ms, kMarch1);
  EXPECT_EQ(range.to_ms, kMarch1 + 86'400'000) << "a bare date as `to` includes that whole day";
  range = parse_time_range("2026-03-01", "2026-03-03");
  EXPECT_EQ(range.to_ms, kMarch1 + 3 * 86'400'000);
  range = parse_time_range("2024-02-29", std::nullopt);  // leap day
  EXPECT_EQ(range.from_ms, 1709164800000);
  EXPECT_EQ(range.to_ms, INT64_MAX);
  range = parse_time_range(std::nullopt, "2026-03-01");
  EXPECT_EQ(range.from_ms, 0);
  EXPECT_EQ(range.to_ms, kMarch1 + 86'400'000);
}

TEST(ParseTimeRange, TimestampsAreExact) {
  constexpr std::int64_t kMarch1 = 1772323200000;
  const auto range = parse_time_range("2026-03-01T12:34:56Z", "2026-03-02T00:00:00Z");
  EXPECT_EQ(range.from_ms, kMarch1 + (12 * 3600 + 34 * 60 + 56) * 1000);
  EXPECT_EQ(range.to_ms, kMarch1 + 86'400'000) << "a full timestamp as `to` is not moved to the day's end";
  EXPECT_EQ(parse_time_range("1970-01-01T00:00:01Z", std::nullopt).from_ms, 1000);
}

TEST(ParseTimeRange, UnixSeconds) {
  const auto range = parse_time_range("1700000000", "1700000060");
  EXPECT_EQ(range.from_ms, 1'700'000'000'000);
  EXPECT_EQ(range.to_ms, 1'700'000'060'000) << "unix seconds as `to` are exact";
  EXPECT_EQ(parse_time_range("0", "1").to_ms, 1000);
}

TEST(ParseTimeRange, InvalidValuesNameTheirField) {
  const std::vector<std::string> invalid{"2026-02-30",
                                         "2025-02-29",
                                         "2026-13-01",
                                         "2026-00-10",
                                         "2026-01-00",
                                         "2026-04-31",
                                         "1969-12-31",
                                         "garbage",
                                         "",
                                         "2026-3-1",
                                         "2026/03/01",
                                         "2026-03-01T25:00:00Z",
                                         "2026-03-01T12:60:00Z",
                                         "2026-03-01T12:00:00",
                                         "2026-03-01T12:00:00+",
                                         "2026-03-01 12:00:00Z",
                                         "2026-03-01T12:00:00.000Z",
                                         "2026-+3-01",
                                         "2026- 3-01",
                                         " 2026-3-01",
                                         "2026-03-+1",
                                         "2026-03-01T+1:00:00Z",
                                         "-1700000000",
                                         "1700000000.5",
                                         "99999999999999999999",
                                         "100000000001"};
  for (const auto& value : invalid) {
    expect_invalid([&] { parse_time_range(value, std::nullopt); }, "from", "from=" + value);
    expect_invalid([&] { parse_time_range(std::nullopt, value); }, "to", "to=" + value);
  }
}

TEST(ParseTimeRange, FromMustBeBeforeTo) {
  expect_invalid([] { parse_time_range("2026-03-02", "2026-03-01"); }, "to", "to before from");
  expect_invalid([] { parse_time_range("1700000000", "1700000000"); }, "to", "empty range");
  expect_invalid([] { parse_time_range("2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z"); }, "to",
                 "empty range");
  expect_invalid([] { parse_time_range(std::nullopt, "0"); }, "to", "to at the epoch");
  EXPECT_NO_THROW(parse_time_range("2026-03-01T23:59:59Z", "2026-03-01")) << "inside the `to` day";
}

// ---------------------------------------------------------------------------------------------
// parse_group_by

TEST(ParseGroupBy, NamesInTheGivenOrderEachAllowed) {
  EXPECT_EQ(admin::parse_group_by("day"), (std::vector<std::string>{"day"}));
  EXPECT_EQ(admin::parse_group_by("tenant,day"), (std::vector<std::string>{"tenant", "day"}));
  EXPECT_TRUE(admin::parse_group_by("").empty());
  expect_invalid([] { admin::parse_group_by("user"); }, "group_by", "an unknown dimension");
  expect_invalid([] { admin::parse_group_by("key", {"day", "model"}); }, "group_by", "not allowed here");
}

// ---------------------------------------------------------------------------------------------
// JSON views of usage reports and request-log pages

TEST(UsageReportJson, AnUngroupedReportHasOnlyTotals) {
  UsageReport report;
  report.totals = {6, 3, 41, 24};
  EXPECT_EQ(
      admin::usage_report_json(report).dump(),
      R"({"from":null,"group_by":[],"object":"usage_report","to":null,)"
      R"("totals":{"completion_tokens":24,"errors":3,"prompt_tokens":41,"requests":6,"total_tokens":65}})");
}

TEST(UsageReportJson, GroupsNameTheirDimensions) {
  UsageReport report;
  report.group_by = {"day", "tenant"};
  report.from_day = "2026-03-01";
  report.to_day = "2026-03-02";
  report.groups = {{{"2026-03-01", "t1"}, {3, 2, 11, 5}}, {{"2026-03-02", "t2"}, {1, 0, 7, 7}}};
  report.totals = {4, 2, 18, 12};
  EXPECT_EQ(
      admin::usage_report_json(report).dump(),
      R"({"data":[)"
      R"({"completion_tokens":5,"day":"2026-03-01","errors":2,"prompt_tokens":11,"requests":3,)"
      R"("tenant":"t1","total_tokens":16},)"
      R"({"completion_tokens":7,"day":"2026-03-02","errors":0,"prompt_tokens":7,"requests":1,)"
      R"("tenant":"t2","total_tokens":14}],)"
      R"("from":"2026-03-01","group_by":["day","tenant"],"object":"usage_report","to":"2026-03-02",)"
      R"("totals":{"completion_tokens":12,"errors":2,"prompt_tokens":18,"requests":4,"total_tokens":30}})");
  report.groups.clear();
  EXPECT_EQ(admin::usage_report_json(report)["data"], json::array()) << "a grouped report always has data";
}

TEST(RequestPageJson, EveryFieldAndTheCursor) {
  LoggedRequest logged;
  logged.id = 5;
  logged.row.ts_ms = 1000;
  logged.row.request_id = "req_4";
  logged.row.tenant_id = "t1";
  logged.row.key_id = "kb";
  logged.row.user = "alice";
  logged.row.model = "m1";
  logged.row.upstream_model = "m1-upstream";
  logged.row.status = 502;
  logged.row.outcome = "upstream_error";
  logged.row.prompt_tokens = 10;
  logged.row.completion_tokens = 4;
  logged.total_tokens = 14;
  logged.row.duration_ms = 42;
  RequestPage page;
  page.rows = {logged};
  const std::string row =
      R"({"duration_ms":42,"key":"kb","model":"m1","object":"request","outcome":"upstream_error",)"
      R"("request_id":"req_4","status":502,"stream":false,"tenant":"t1","ts_ms":1000,"ttft_ms":null,)"
      R"("upstream_model":"m1-upstream",)"
      R"("usage":{"completion_tokens":4,"estimated":true,"prompt_tokens":10,"total_tokens":14},"user":"alice"})";
  EXPECT_EQ(admin::request_page_json(page).dump(),
            R"({"data":[)" + row + R"(],"has_more":false,"next_cursor":null,"object":"list"})");

  page.rows[0].row.stream = true;
  page.rows[0].row.ttft_ms = 17;
  page.next = RequestCursor{1000, 5};
  const auto answer = admin::request_page_json(page);
  EXPECT_EQ(answer["has_more"], true);
  EXPECT_EQ(answer["next_cursor"], "1000_5");
  EXPECT_EQ(answer["data"][0]["ttft_ms"], 17);
  EXPECT_EQ(answer["data"][0]["stream"], true);
}
