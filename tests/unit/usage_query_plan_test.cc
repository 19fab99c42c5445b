// The query plans of the SQL the usage report and the request log really run, captured with
// sqlite3_trace_v2: each walks an index or a rollup, never a scan of the request log.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "storage/usage_store.h"
#include "usage_rows.h"

using namespace gateway;
using namespace testing_support;

namespace {

/// Captures the SQL text of every statement `run` executes on `db`.
std::vector<std::string> statements_of(db::Database& db, const std::function<void()>& run) {
  std::vector<std::string> sql;
  sqlite3_trace_v2(
      db.handle(), SQLITE_TRACE_STMT,
      [](unsigned, void* context, void* statement, void*) {
        const char* text = sqlite3_sql(static_cast<sqlite3_stmt*>(statement));
        if (text) static_cast<std::vector<std::string>*>(context)->push_back(text);
        return 0;
      },
      &sql);
  run();
  sqlite3_trace_v2(db.handle(), 0, nullptr, nullptr);
  return sql;
}

/// The EXPLAIN QUERY PLAN details of `sql`, one line each.
std::string plan_of(db::Database& db, const std::string& sql) {
  auto q = db.prepare("EXPLAIN QUERY PLAN " + sql);
  std::string plan;
  while (q.step()) plan += q.text(3) + "\n";
  return plan;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool uses_index(const std::string& plan) {
  return has(plan, "USING INDEX") || has(plan, "USING COVERING INDEX") ||
         has(plan, "USING INTEGER PRIMARY KEY") || has(plan, "USING PRIMARY KEY");
}

class QueryPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::deque<UsageRow> batch;
    for (int i = 0; i < 200; ++i) {
      batch.push_back(row(at("2026-03-01T00:00:00Z", i * 3'600'000LL), "k" + std::to_string(i % 7),
                          "m" + std::to_string(i % 3), "t" + std::to_string(i % 2)));
    }
    write_usage(m_.db, batch);
  }
  /// The plan of the one SELECT `run` issues.
  std::string plan(const std::function<void()>& run) {
    const auto sql = statements_of(m_.db, run);
    EXPECT_EQ(sql.size(), 1u);
    if (sql.empty()) return "";
    return sql.front() + "\n" + plan_of(m_.db, sql.front());
  }
  MigratedDb m_;
};

}  // namespace

TEST_F(QueryPlanTest, RequestLogQueriesWalkAnIndexInOrder) {
  struct Case {
    const char* name;
    UsageFilter filter;
    std::string outcome;
  };
  std::vector<Case> cases;
  cases.push_back({"unfiltered", {}, ""});
  UsageFilter f;
  f.key_id = "k1";
  cases.push_back({"key", f, ""});
  f = {};
  f.tenant_id = "t1";
  cases.push_back({"tenant", f, ""});
  f = {};
  f.model = "m1";
  cases.push_back({"model", f, ""});
  f = {};
  f.user = "alice";
  cases.push_back({"user", f, ""});
  f = {};
  f.key_id = "k1";
  f.range = {at("2026-03-02T00:00:00Z"), at("2026-03-05T00:00:00Z")};
  cases.push_back({"key+range", f, ""});
  f = {};
  f.range = {at("2026-03-02T00:00:00Z"), at("2026-03-05T00:00:00Z")};
  cases.push_back({"range", f, ""});
  cases.push_back({"outcome", {}, "completed"});
  for (const auto& c : cases) {
    for (const RequestCursor cursor : {RequestCursor{}, RequestCursor{at("2026-03-04T00:00:00Z"), 50}}) {
      const auto p = plan([&] { request_log(m_.db, c.filter, c.outcome, cursor, 50); });
      EXPECT_TRUE(uses_index(p)) << c.name << "\n" << p;
      EXPECT_FALSE(has(p, "USE TEMP B-TREE")) << c.name << "\n" << p;
      EXPECT_FALSE(has(p, "MULTI-INDEX OR")) << c.name << "\n" << p;
    }
  }
  // The filtered ones use the index on their own column, not just the one on ts.
  for (const auto& [column, index] :
       std::vector<std::pair<std::string, std::string>>{{"key", "usage_requests_by_key"},
                                                        {"tenant", "usage_requests_by_tenant"},
                                                        {"model", "usage_requests_by_model"},
                                                        {"user", "usage_requests_by_user"}}) {
    UsageFilter filter;
    if (column == "key") filter.key_id = "k1";
    if (column == "tenant") filter.tenant_id = "t1";
    if (column == "model") filter.model = "m1";
    if (column == "user") filter.user = "alice";
    const auto p = plan([&] { request_log(m_.db, filter, "", {}, 50); });
    EXPECT_TRUE(has(p, index)) << column << "\n" << p;
  }
}

TEST_F(QueryPlanTest, UsageReportsByTenantOrKeyUseAnIndex) {
  for (const std::vector<std::string>& group_by :
       {std::vector<std::string>{}, {"day"}, {"model"}, {"day", "model"}, {"key"}}) {
    UsageFilter f;
    f.tenant_id = "t1";
    auto p = plan([&] { usage_report(m_.db, f, group_by); });
    EXPECT_TRUE(has(p, "usage_daily_by_tenant") || has(p, "usage_monthly_by_tenant")) << p;
    EXPECT_FALSE(has(p, "SCAN usage")) << p;
    f.range = range("2026-03-02", "2026-05-04");
    p = plan([&] { usage_report(m_.db, f, group_by); });
    EXPECT_TRUE(has(p, "usage_daily_by_tenant")) << p;
    EXPECT_FALSE(has(p, "SCAN usage")) << p;

    f = {};
    f.key_id = "k1";
    p = plan([&] { usage_report(m_.db, f, group_by); });
    EXPECT_TRUE(uses_index(p) && !has(p, "SCAN usage_daily\n")) << p;
    f.range = range("2026-03-02", "2026-05-04");
    p = plan([&] { usage_report(m_.db, f, group_by); });
    EXPECT_TRUE(uses_index(p) && !has(p, "SCAN usage")) << p;
  }
}

TEST_F(QueryPlanTest, ReportsWithoutKeysOrTenantsReadTheDayModelRollup) {
  for (const std::vector<std::string>& group_by :
       {std::vector<std::string>{}, {"day"}, {"model"}, {"day", "model"}}) {
    UsageFilter f;
    f.range = range("2026-03-02", "2026-05-04");
    const auto p = plan([&] { usage_report(m_.db, f, group_by); });
    EXPECT_TRUE(has(p, "usage_daily_models")) << p;
    EXPECT_FALSE(has(p, "SCAN usage")) << p;
  }
}
