// Usage storage: rows written with their rollups in step, the usage report and the paginated
// request log read back as structs, every report against the sums of the request log, and the
// usage since an instant. The query plans behind them are in usage_query_plan_test.cc, the
// storage worker in storage_worker_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <random>
#include <set>

#include "expect_invalid.h"
#include "storage/usage_store.h"
#include "usage_rows.h"

using namespace gateway;
using namespace testing_support;

namespace {}  // namespace

TEST(UtcDay, DayBoundaries) {
  EXPECT_EQ(utc_day(0), "1970-01-01");
  EXPECT_EQ(utc_day(at("2026-03-01T00:00:00Z")), "2026-03-01");
  EXPECT_EQ(utc_day(at("2026-03-01T00:00:00Z") - 1), "2026-02-28");
  EXPECT_EQ(utc_day(at("2026-03-01T23:59:59Z", 999)), "2026-03-01");
}

// ---------------------------------------------------------------------------------------------
// write_usage + usage_report

class UsageReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Day 1: k1 (t1) three requests, two failing; day 2: one each for k2 (t1) and k3 (t2),
    // the first at midnight exactly; day 3: one for k3.
    batch_ = {row(at("2026-03-01T10:00:00Z"), "k1", "m1", "t1", "completed", 10, 5),
              row(at("2026-03-01T23:59:59Z", 999), "k1", "m2", "t1", "upstream_error", 1, 0),
              row(at("2026-03-02T00:00:00Z"), "k2", "m1", "t1", "completed", 20, 10),
              row(at("2026-03-02T12:00:00Z"), "k3", "m1", "t2", "client_cancelled", 3, 2),
              row(at("2026-03-03T08:00:00Z"), "k3", "m2", "t2", "completed", 7, 7),
              row(at("2026-03-01T11:00:00Z"), "k1", "m1", "t1", "rejected", 0, 0)};
    write_usage(m_.db, batch_);
  }
  UsageReport report(const UsageFilter& filter, const std::vector<std::string>& group_by = {}) {
    return usage_report(m_.db, filter, group_by);
  }
  /// {requests, errors, prompt, completion, total} of a report group or totals.
  static std::vector<std::int64_t> sums(const UsageSums& s) {
    return {s.requests, s.errors, s.prompt_tokens, s.completion_tokens, s.total_tokens()};
  }
  /// The value of dimension `name` in group `i` of `r`; fails if the report is not grouped by it.
  static std::string value(const UsageReport& r, std::size_t i, const std::string& name) {
    const auto at = std::find(r.group_by.begin(), r.group_by.end(), name);
    if (at == r.group_by.end() || i >= r.groups.size()) {
      ADD_FAILURE() << "no " << name << " in group " << i;
      return "";
    }
    return r.groups[i].values.at(static_cast<std::size_t>(at - r.group_by.begin()));
  }
  using Values = std::vector<std::string>;
  MigratedDb m_;
  std::deque<UsageRow> batch_;
};

TEST_F(UsageReportTest, WritesOneRequestRowEachAndKeepsTheDailyAggregateInStep) {
  EXPECT_EQ(count(m_.db, "SELECT COUNT(*) FROM usage_requests"), 6);
  EXPECT_EQ(count(m_.db, "SELECT SUM(requests) FROM usage_daily"), 6);
  EXPECT_EQ(count(m_.db, "SELECT COUNT(*) FROM usage_daily"), 5) << "k1/m1 on day 1 shares one row";
  EXPECT_EQ(count(m_.db,
                  "SELECT COUNT(*) FROM usage_requests WHERE total_tokens = prompt_tokens + "
                  "completion_tokens"),
            6);
  EXPECT_EQ(count(m_.db,
                  "SELECT requests FROM usage_daily WHERE day = '2026-03-01' AND key_id = 'k1' AND "
                  "model = 'm1'"),
            2);
  EXPECT_EQ(count(m_.db,
                  "SELECT errors FROM usage_daily WHERE day = '2026-03-01' AND key_id = 'k1' AND "
                  "model = 'm1'"),
            1);
}

TEST_F(UsageReportTest, TotalsWithoutGrouping) {
  const auto r = report({});
  EXPECT_TRUE(r.group_by.empty());
  EXPECT_FALSE(r.from_day);
  EXPECT_FALSE(r.to_day);
  EXPECT_TRUE(r.groups.empty()) << "an ungrouped report has only totals";
  EXPECT_EQ(sums(r.totals), (std::vector<std::int64_t>{6, 3, 41, 24, 65}))
      << "errors are the requests whose outcome is not 'completed'";
}

TEST_F(UsageReportTest, GroupByDay) {
  const auto r = report({}, {"day"});
  ASSERT_EQ(r.groups.size(), 3u);
  EXPECT_EQ(value(r, 0, "day"), "2026-03-01");
  EXPECT_EQ(sums(r.groups[0].sums), (std::vector<std::int64_t>{3, 2, 11, 5, 16}))
      << "23:59:59.999 still belongs to its day";
  EXPECT_EQ(value(r, 1, "day"), "2026-03-02");
  EXPECT_EQ(sums(r.groups[1].sums), (std::vector<std::int64_t>{2, 1, 23, 12, 35})) << "midnight starts a day";
  EXPECT_EQ(value(r, 2, "day"), "2026-03-03");
  EXPECT_EQ(sums(r.groups[2].sums), (std::vector<std::int64_t>{1, 0, 7, 7, 14}));
  EXPECT_EQ(sums(r.totals), (std::vector<std::int64_t>{6, 3, 41, 24, 65}));
}

TEST_F(UsageReportTest, GroupByModelKeyAndTenant) {
  auto r = report({}, {"model"});
  ASSERT_EQ(r.groups.size(), 2u);
  EXPECT_EQ(value(r, 0, "model"), "m1");
  EXPECT_EQ(sums(r.groups[0].sums), (std::vector<std::int64_t>{4, 2, 33, 17, 50}));
  EXPECT_EQ(value(r, 1, "model"), "m2");
  EXPECT_EQ(sums(r.groups[1].sums), (std::vector<std::int64_t>{2, 1, 8, 7, 15}));

  r = report({}, {"key"});
  ASSERT_EQ(r.groups.size(), 3u);
  EXPECT_EQ(value(r, 0, "key"), "k1");
  EXPECT_EQ(r.groups[0].sums.requests, 3);
  EXPECT_EQ(value(r, 1, "key"), "k2");
  EXPECT_EQ(r.groups[1].sums.requests, 1);
  EXPECT_EQ(value(r, 2, "key"), "k3");
  EXPECT_EQ(r.groups[2].sums.requests, 2);
  EXPECT_EQ(r.group_by, Values{"key"});
  EXPECT_EQ(r.groups[0].values.size(), 1u) << "no day in a report grouped by key";

  r = report({}, {"tenant"});
  ASSERT_EQ(r.groups.size(), 2u);
  EXPECT_EQ(value(r, 0, "tenant"), "t1");
  EXPECT_EQ(sums(r.groups[0].sums), (std::vector<std::int64_t>{4, 2, 31, 15, 46}));
  EXPECT_EQ(value(r, 1, "tenant"), "t2");
  EXPECT_EQ(sums(r.groups[1].sums), (std::vector<std::int64_t>{2, 1, 10, 9, 19}));
}

TEST_F(UsageReportTest, GroupByCombinationsFollowTheDimensionOrder) {
  auto r = report({}, {"tenant", "day"});  // asked in another order
  EXPECT_EQ(r.group_by, (Values{"day", "tenant"}));
  ASSERT_EQ(r.groups.size(), 4u);
  const std::vector<std::pair<std::string, std::string>> expected{
      {"2026-03-01", "t1"}, {"2026-03-02", "t1"}, {"2026-03-02", "t2"}, {"2026-03-03", "t2"}};
  const std::vector<int> requests{3, 1, 1, 1};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(value(r, i, "day"), expected[i].first) << i;
    EXPECT_EQ(value(r, i, "tenant"), expected[i].second) << i;
    EXPECT_EQ(r.groups[i].sums.requests, requests[i]) << i;
  }

  r = report({}, {"key", "model"});
  EXPECT_EQ(r.group_by, (Values{"model", "key"}));
  ASSERT_EQ(r.groups.size(), 5u);
  EXPECT_EQ(value(r, 0, "model"), "m1");
  EXPECT_EQ(value(r, 0, "key"), "k1");
  EXPECT_EQ(r.groups[0].sums.requests, 2);
  EXPECT_EQ(r.groups[0].sums.errors, 1);
  EXPECT_EQ(value(r, 4, "model"), "m2");
  EXPECT_EQ(value(r, 4, "key"), "k3");

  r = report({}, {"day", "model", "key", "tenant"});
  EXPECT_EQ(r.groups.size(), 5u) << "one group per usage_daily row";
  EXPECT_EQ(sums(r.totals), (std::vector<std::int64_t>{6, 3, 41, 24, 65}));
}

TEST_F(UsageReportTest, Filters) {
  UsageFilter f;
  f.tenant_id = "t2";
  EXPECT_EQ(sums(report(f).totals), (std::vector<std::int64_t>{2, 1, 10, 9, 19}));
  f = {};
  f.key_id = "k1";
  EXPECT_EQ(sums(report(f).totals), (std::vector<std::int64_t>{3, 2, 11, 5, 16}));
  f = {};
  f.model = "m2";
  EXPECT_EQ(report(f).totals.requests, 2);
  f = {};
  f.tenant_id = "t1";
  f.model = "m1";
  EXPECT_EQ(report(f).totals.requests, 3);
  f.key_id = "k2";
  EXPECT_EQ(report(f).totals.requests, 1);
  f = {};
  f.key_id = "nobody";
  auto r = report(f, {"day"});
  EXPECT_TRUE(r.groups.empty());
  EXPECT_EQ(sums(r.totals), (std::vector<std::int64_t>{0, 0, 0, 0, 0}));
  EXPECT_EQ(sums(report(f).totals), (std::vector<std::int64_t>{0, 0, 0, 0, 0}))
      << "SUM() of nothing is zero, not null";
}

TEST_F(UsageReportTest, TooManyGroupsIsRefusedNamingGroupBy) {
  const auto groups = report({}, {"model", "key"}).groups.size();
  ASSERT_GT(groups, 2u);
  EXPECT_EQ(usage_report(m_.db, {}, {"model", "key"}, groups).groups.size(), groups)
      << "exactly the cap is fine";
  expect_invalid(
      [&] {
        usage_report(m_.db, {}, {"model", "key"}, groups - 1);
      },
      "group_by", "one group over the cap");
}

TEST_F(UsageReportTest, RangesCoverWholeUtcDays) {
  UsageFilter f;
  f.range = range("2026-03-02", "2026-03-02");
  auto r = report(f, {"day"});
  EXPECT_EQ(r.from_day.value_or("-"), "2026-03-02");
  EXPECT_EQ(r.to_day.value_or("-"), "2026-03-02");
  ASSERT_EQ(r.groups.size(), 1u);
  EXPECT_EQ(r.totals.requests, 2);

  f.range = range("2026-03-02T12:00:00Z", std::nullopt);
  r = report(f);
  EXPECT_EQ(r.from_day.value_or("-"), "2026-03-02");
  EXPECT_FALSE(r.to_day);
  EXPECT_EQ(r.totals.requests, 3) << "the report counts the whole first day";

  f.range = range(std::nullopt, "2026-03-02T00:00:00Z");  // exclusive: day 1 only
  r = report(f);
  EXPECT_FALSE(r.from_day);
  EXPECT_EQ(r.to_day.value_or("-"), "2026-03-01");
  EXPECT_EQ(r.totals.requests, 3);

  f.range = range(std::nullopt, "2026-03-02T00:00:01Z");
  EXPECT_EQ(report(f).totals.requests, 5) << "a range ending inside day 2 includes all of day 2";

  f.range = range("2026-03-04", std::nullopt);
  EXPECT_EQ(report(f).totals.requests, 0);
}

// ---------------------------------------------------------------------------------------------
// request_log

class RequestLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Inserted out of time order so that ids and timestamps disagree; several share a ts.
    const std::vector<std::int64_t> times{5000, 2000, 3000, 5000, 1000, 2000, 4000, 5000, 2000, 3000};
    std::deque<UsageRow> batch;
    for (std::size_t i = 0; i < times.size(); ++i) {
      auto r = row(times[i], i % 3 == 0 ? "ka" : "kb", i % 2 == 0 ? "m1" : "m2", i < 6 ? "t1" : "t2",
                   i == 4 ? "upstream_error" : "completed", 10, static_cast<std::int64_t>(i),
                   i % 4 == 0 ? "alice" : "bob");
      r.request_id = "req_" + std::to_string(i);
      r.stream = i % 2 == 1;
      if (i == 1) r.ttft_ms = 17;
      batch.push_back(r);
      rows_.push_back({times[i], static_cast<std::int64_t>(i) + 1, r});  // ids start at 1
    }
    write_usage(m_.db, batch);
  }
  struct Stored {
    std::int64_t ts;
    std::int64_t id;
    UsageRow row;
  };
  /// Request ids of the stored rows matching `keep`, newest first.
  std::vector<std::string> expected(const std::function<bool(const UsageRow&)>& keep) const {
    auto sorted = rows_;
    std::sort(sorted.begin(), sorted.end(),
              [](const Stored& a, const Stored& b) { return a.ts != b.ts ? a.ts > b.ts : a.id > b.id; });
    std::vector<std::string> ids;
    for (const auto& s : sorted)
      if (keep(s.row)) ids.push_back(s.row.request_id);
    return ids;
  }
  /// Walks every page of `limit` rows; fails on a repeated row or a malformed page.
  std::vector<std::string> walk(const UsageFilter& filter, int limit, const std::string& outcome = "") {
    std::vector<std::string> seen;
    RequestCursor cursor;
    for (int pages = 0; pages < 100; ++pages) {
      const auto page = request_log(m_.db, filter, outcome, cursor, limit);
      EXPECT_LE(page.rows.size(), static_cast<std::size_t>(limit));
      for (const auto& r : page.rows) seen.push_back(r.row.request_id);
      if (!page.next) return seen;
      EXPECT_EQ(page.rows.size(), static_cast<std::size_t>(limit)) << "only the last page is short";
      EXPECT_EQ(page.next->ts_ms, page.rows.back().row.ts_ms)
          << "the next page starts after this one's last row";
      EXPECT_EQ(page.next->id, page.rows.back().id);
      cursor = RequestCursor::decode(page.next->encode());
    }
    ADD_FAILURE() << "pagination does not end";
    return seen;
  }
  MigratedDb m_;
  std::vector<Stored> rows_;
};

TEST_F(RequestLogTest, NewestFirstWithAllFields) {
  const auto page = request_log(m_.db, {}, "", {}, 100);
  EXPECT_FALSE(page.next);
  std::vector<std::string> ids;
  for (const auto& r : page.rows) ids.push_back(r.row.request_id);
  EXPECT_EQ(ids, expected([](const UsageRow&) { return true; }));
  EXPECT_EQ(ids.front(), "req_7") << "the latest of the three rows at ts 5000 (highest id)";
  EXPECT_EQ(ids.back(), "req_4");
  const auto& first = page.rows.back();  // req_4
  EXPECT_EQ(first.id, 5) << "the fifth row inserted";
  EXPECT_EQ(first.row.ts_ms, 1000);
  EXPECT_EQ(first.row.tenant_id, "t1");
  EXPECT_EQ(first.row.key_id, "kb");
  EXPECT_EQ(first.row.user, "alice");
  EXPECT_EQ(first.row.model, "m1");
  EXPECT_EQ(first.row.upstream_model, "m1-upstream");
  EXPECT_FALSE(first.row.stream);
  EXPECT_EQ(first.row.status, 502);
  EXPECT_EQ(first.row.outcome, "upstream_error");
  EXPECT_EQ(first.row.prompt_tokens, 10);
  EXPECT_EQ(first.row.completion_tokens, 4);
  EXPECT_EQ(first.total_tokens, 14);
  EXPECT_TRUE(first.row.estimated);
  EXPECT_EQ(first.row.duration_ms, 42);
  EXPECT_FALSE(first.row.ttft_ms);
  const auto with_ttft = std::find_if(page.rows.begin(), page.rows.end(),
                                      [](const LoggedRequest& r) { return r.row.request_id == "req_1"; });
  ASSERT_NE(with_ttft, page.rows.end());
  EXPECT_EQ(with_ttft->row.ttft_ms, std::optional<std::int64_t>(17));
  EXPECT_TRUE(with_ttft->row.stream);
}

TEST_F(RequestLogTest, EveryPageSizeWalksEveryRowExactlyOnce) {
  const auto all = expected([](const UsageRow&) { return true; });
  for (int limit = 1; limit <= 12; ++limit) {
    const auto seen = walk({}, limit);
    EXPECT_EQ(seen, all) << "limit " << limit;
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size()) << "limit " << limit;
  }
}

TEST_F(RequestLogTest, Filters) {
  struct Case {
    const char* name;
    UsageFilter filter;
    std::string outcome;
    std::function<bool(const UsageRow&)> keep;
  };
  std::vector<Case> cases;
  UsageFilter f;
  f.key_id = "ka";
  cases.push_back({"key", f, "", [](const UsageRow& r) { return r.key_id == "ka"; }});
  f = {};
  f.tenant_id = "t2";
  cases.push_back({"tenant", f, "", [](const UsageRow& r) { return r.tenant_id == "t2"; }});
  f = {};
  f.user = "alice";
  cases.push_back({"user", f, "", [](const UsageRow& r) { return r.user == "alice"; }});
  f = {};
  f.model = "m2";
  cases.push_back({"model", f, "", [](const UsageRow& r) { return r.model == "m2"; }});
  cases.push_back(
      {"outcome", {}, "upstream_error", [](const UsageRow& r) { return r.outcome != "completed"; }});
  f = {};
  f.tenant_id = "t1";
  f.model = "m1";
  cases.push_back({"tenant+model", f, "completed", [](const UsageRow& r) {
                     return r.tenant_id == "t1" && r.model == "m1" && r.outcome == "completed";
                   }});
  f = {};
  f.range = {2000, 5000};  // [from, to)
  cases.push_back({"range", f, "", [](const UsageRow& r) { return r.ts_ms >= 2000 && r.ts_ms < 5000; }});
  f.key_id = "kb";
  cases.push_back({"range+key", f, "",
                   [](const UsageRow& r) { return r.ts_ms >= 2000 && r.ts_ms < 5000 && r.key_id == "kb"; }});
  f = {};
  f.key_id = "nobody";
  cases.push_back({"no match", f, "", [](const UsageRow&) { return false; }});
  for (const auto& c : cases) {
    const auto want = expected(c.keep);
    for (int limit : {1, 2, 3, 100})
      EXPECT_EQ(walk(c.filter, limit, c.outcome), want) << c.name << " " << limit;
  }
}

TEST(RequestCursor, RoundTrip) {
  for (const RequestCursor c :
       {RequestCursor{}, RequestCursor{0, 0}, RequestCursor{1772323200123, 42}, RequestCursor{5000, 1}}) {
    const auto back = RequestCursor::decode(c.encode());
    EXPECT_EQ(back.ts_ms, c.ts_ms) << c.encode();
    EXPECT_EQ(back.id, c.id) << c.encode();
  }
}

TEST(RequestCursor, DecodeRejectsJunk) {
  for (const std::string junk :
       {"", "_", "abc", "1_", "_1", "1", "1_2_3", "1-2", "1_2x", "x1_2", " 1_2", "1 _2", "1_ 2", "1.5_2",
        "99999999999999999999_1", "1_99999999999999999999", "MTIzXzQ1"}) {
    expect_invalid([&] { RequestCursor::decode(junk); }, "cursor", "cursor=" + junk);
  }
}

// ---------------------------------------------------------------------------------------------
// Rollups against the request log

/// Random usage over four months; every report, whichever rollups it reads, must equal the same
/// sums computed from the request log itself.
TEST(UsageRollups, EveryReportEqualsTheSumsOfTheRequestLog) {
  MigratedDb m;
  std::mt19937 random(7);
  std::deque<UsageRow> rows;
  const std::vector<std::string> models{"m1", "m2", "m3"}, outcomes{"completed", "completed", "timeout"};
  const auto start = at("2026-01-01T00:00:00Z");
  for (int i = 0; i < 3000; ++i) {
    const int key = static_cast<int>(random() % 6);
    rows.push_back(row(start + static_cast<std::int64_t>(random() % (120ull * 86'400'000)),
                       "k" + std::to_string(key), models[random() % 3], "t" + std::to_string(key % 3),
                       outcomes[random() % 3], random() % 100, random() % 50));
  }
  write_usage(m.db, rows);
  const std::vector<std::optional<std::string>> bounds{std::nullopt, "2026-01-01", "2026-01-17",
                                                       "2026-01-31", "2026-02-01", "2026-02-28",
                                                       "2026-03-01", "2026-03-15", "2026-04-30"};
  const std::vector<std::vector<std::string>> groupings{
      {}, {"day"}, {"model"}, {"key"}, {"tenant"}, {"model", "key"}, {"day", "tenant"}};
  int checked = 0;
  for (const auto& from : bounds) {
    for (const auto& to : bounds) {
      if (from && to && *from > *to) continue;
      for (const auto& group_by : groupings) {
        for (int f = 0; f < 4; ++f) {
          UsageFilter filter;
          filter.range = range(from, to);
          if (f == 1) filter.tenant_id = "t1";
          if (f == 2) filter.key_id = "k4";
          if (f == 3) filter.model = "m2";
          const auto report = usage_report(m.db, filter, group_by);
          // The reference: the request log grouped the same way.
          std::string where = " WHERE 1";
          if (from) where += " AND day >= '" + *from + "'";
          if (to) where += " AND day <= '" + *to + "'";
          if (!filter.tenant_id.empty()) where += " AND tenant_id = '" + filter.tenant_id + "'";
          if (!filter.key_id.empty()) where += " AND key_id = '" + filter.key_id + "'";
          if (!filter.model.empty()) where += " AND model = '" + filter.model + "'";
          std::string select, group;
          for (const auto& name : group_by) {
            const std::string column = name == "key" ? "key_id" : name == "tenant" ? "tenant_id" : name;
            select += column + " || '|' || ";
            group += (group.empty() ? "" : ", ") + column;
          }
          auto q = m.db.prepare(
              "SELECT " + select +
              "'', COUNT(*), SUM(outcome != 'completed'), SUM(prompt_tokens), "
              "SUM(completion_tokens) FROM (SELECT strftime('%Y-%m-%d', ts / 1000, 'unixepoch') AS "
              "day, * FROM usage_requests)" +
              where + (group.empty() ? "" : " GROUP BY " + group + " ORDER BY " + group));
          std::vector<std::string> expected, actual;
          std::int64_t requests = 0;
          while (q.step()) {
            if (q.integer(1) == 0) continue;
            requests += q.integer(1);
            expected.push_back(q.text(0) + std::to_string(q.integer(1)) + "/" + std::to_string(q.integer(2)) +
                               "/" + std::to_string(q.integer(3)) + "/" + std::to_string(q.integer(4)));
          }
          for (const auto& g : report.groups) {
            std::string line;
            for (const auto& value : g.values) line += value + "|";
            actual.push_back(line + std::to_string(g.sums.requests) + "/" + std::to_string(g.sums.errors) +
                             "/" + std::to_string(g.sums.prompt_tokens) + "/" +
                             std::to_string(g.sums.completion_tokens));
          }
          const std::string what = "from " + from.value_or("-") + " to " + to.value_or("-") + " filter " +
                                   std::to_string(f) + " group_by " + std::to_string(group_by.size());
          EXPECT_EQ(report.totals.requests, requests) << what;
          if (!group_by.empty()) {
            EXPECT_EQ(actual, expected) << what;
          }
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 1000);
}

TEST(UsageSince, SumsEachKeysRequestsAndTokensFromAnyInstant) {
  MigratedDb m;
  write_usage(m.db, {row(at("2026-03-30T22:00:00Z"), "k1", "m1", "t1"),  // before the period
                     row(at("2026-03-31T03:00:00Z"), "k1", "m1", "t1"),  // part of a day, from the log
                     row(at("2026-03-31T23:59:59Z"), "k1", "m2", "t1", "upstream_error", 10, 0),
                     row(at("2026-04-01T00:00:00Z"), "k1", "m1", "t1"),  // whole days, from the rollup
                     row(at("2026-04-02T12:00:00Z"), "k2", "m1", "t1", "rejected", 0, 0),
                     row(at("2026-04-02T12:00:01Z"), "k2", "m1", "t1"),
                     row(at("2026-04-02T12:00:02Z"), "", "m1", "")});  // no key: not a key's usage
  const auto usage = usage_since(m.db, at("2026-03-31T02:00:00Z"));
  ASSERT_EQ(usage.size(), 2U);
  EXPECT_EQ(usage[0].key_id, "k1");
  EXPECT_EQ(usage[0].tenant_id, "t1");
  EXPECT_EQ(usage[0].requests, 3);
  EXPECT_EQ(usage[0].tokens, 15 + 10 + 15);
  EXPECT_EQ(usage[1].key_id, "k2");
  EXPECT_EQ(usage[1].requests, 1) << "a request refused as the client's fault is not counted";
  EXPECT_EQ(usage[1].tokens, 15);

  const auto from_midnight = usage_since(m.db, at("2026-04-01"));
  ASSERT_EQ(from_midnight.size(), 2U);
  EXPECT_EQ(from_midnight[0].requests, 1);
  EXPECT_EQ(from_midnight[0].tokens, 15);
  EXPECT_TRUE(usage_since(m.db, at("2026-04-03")).empty());
}

TEST(UsageSince, CountsRejectedRowsWrittenBeforeTheQuotaMigration) {
  TempDb file;
  db::Database db(file.path());
  auto migrations = db::embedded_migrations();
  migrations.pop_back();  // the schema before the day rollup counted rejected requests
  db::migrate(db, migrations);
  const auto now = unix_now() * 1000, ts = now - 3'600'000;
  // Two requests of one key as the older schema recorded them: one completed, one rejected.
  for (const char* outcome : {"completed", "rejected"}) {
    db.prepare(
          "INSERT INTO usage_requests (ts, request_id, tenant_id, key_id, user, model, upstream_model, "
          "stream, "
          "status, outcome, prompt_tokens, completion_tokens, total_tokens, estimated, duration_ms) "
          "VALUES (?, ?, 't1', 'k1', 'u', 'm1', 'm1', 0, 200, ?, 0, 0, 0, 1, 1)")
        .bind(1, ts)
        .bind(2, std::string("req_") + outcome)
        .bind(3, std::string(outcome))
        .run();
  }
  db.prepare(
        "INSERT INTO usage_daily (day, key_id, model, tenant_id, requests, errors, prompt_tokens, "
        "completion_tokens) VALUES (?, 'k1', 'm1', 't1', 2, 1, 0, 0)")
      .bind(1, utc_day(ts))
      .run();
  db::migrate(db);
  const auto usage = usage_since(db, now - 86'400'000);
  ASSERT_EQ(usage.size(), 1U);
  EXPECT_EQ(usage[0].requests, 1) << "recent rejected requests are filled in from the request log";
}
