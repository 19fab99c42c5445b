// Usage-query benchmark: fills a SQLite file through the gateway's own write path with a year of
// usage (default 100,000 requests a day) and times the queries behind GET /admin/v1/usage,
// GET /admin/v1/requests and GET /v1/me/usage. Prints a Markdown table.
//
//   usage_query_bench --db /tmp/usage-year.db [--days 365] [--per-day 100000] [--runs 20]
// An existing file with data is reused, so a second run only times the queries.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "admin/reports.h"
#include "storage/storage.h"
#include "storage/usage_store.h"

namespace {

using namespace gateway;
using gateway::admin::parse_time_range;
using Clock = std::chrono::steady_clock;

constexpr int kTenants = 20;
constexpr int kKeysPerTenant = 10;
const std::vector<std::string> kModels{
    "gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "claude-haiku-4-5", "gemini-2.5-pro", "gemini-2.5-flash",
    "o3",     "o4-mini",     "mistral-large",     "llama-3.3-70b",    "grok-3",         "deepseek-v3"};

std::string key_id(int k) {
  char id[32];
  std::snprintf(id, sizeof id, "key_%04d", k);
  return id;
}

std::string tenant_id(int t) {
  char id[32];
  std::snprintf(id, sizeof id, "ten_%02d", t);
  return id;
}

/// Generates the usage through write_usage(). The request-log indexes are dropped while filling
/// and rebuilt after (sorting once beats a year of random index inserts); the queries then see
/// exactly the schema the migrations made.
void fill(db::Database& db, int days, int per_day) {
  std::vector<std::pair<std::string, std::string>> indexes;
  {
    auto q = db.prepare(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'usage_requests' AND sql IS "
        "NOT NULL");
    while (q.step()) indexes.emplace_back(q.text(0), q.text(1));
  }
  for (const auto& [name, sql] : indexes) db.exec("DROP INDEX " + name);
  std::mt19937_64 random(42);
  const std::int64_t day_ms = 86'400'000;
  const std::int64_t start = (unix_now() / 86400 - days + 1) * day_ms;
  const auto began = Clock::now();
  std::int64_t total = 0;
  for (int d = 0; d < days; ++d) {
    std::deque<UsageRow> batch;
    for (int i = 0; i < per_day; ++i) {
      UsageRow r;
      r.ts_ms = start + d * day_ms + static_cast<std::int64_t>(random() % day_ms);
      r.request_id = "req_" + std::to_string(total + i);
      const int key = static_cast<int>(random() % (kTenants * kKeysPerTenant));
      r.key_id = key_id(key);
      r.tenant_id = tenant_id(key / kKeysPerTenant);
      r.user = "user" + std::to_string(key) + "@example.com";
      r.model = kModels[random() % kModels.size()];
      r.upstream_model = r.model;
      r.stream = random() % 2 == 0;
      r.status = 200;
      r.outcome = random() % 20 == 0 ? "client_cancelled" : "completed";
      r.prompt_tokens = static_cast<std::int64_t>(random() % 2000);
      r.completion_tokens = static_cast<std::int64_t>(random() % 800);
      r.duration_ms = static_cast<std::int64_t>(random() % 20000);
      r.ttft_ms = static_cast<std::int64_t>(random() % 2000);
      batch.push_back(std::move(r));
      if (batch.size() == 5000) {
        write_usage(db, batch);
        batch.clear();
      }
    }
    if (!batch.empty()) write_usage(db, batch);
    total += per_day;
    if ((d + 1) % 30 == 0 || d + 1 == days) {
      const double seconds = std::chrono::duration<double>(Clock::now() - began).count();
      std::fprintf(stderr, "filled %d/%d days, %lld rows, %.0f rows/s\n", d + 1, days,
                   static_cast<long long>(total), static_cast<double>(total) / seconds);
    }
  }
  db.exec("PRAGMA cache_size = -2000000; PRAGMA temp_store = MEMORY");  // sort in memory
  for (const auto& [name, sql] : indexes) {
    std::fprintf(stderr, "rebuilding %s\n", name.c_str());
    db.exec(sql);
  }
  db.exec("PRAGMA cache_size = -2000; PRAGMA temp_store = DEFAULT");  // back to the gateway's
}

/// Median and worst wall time of `runs` calls, in milliseconds.
std::pair<double, double> time_ms(int runs, const std::function<std::size_t()>& query, std::size_t& rows) {
  std::vector<double> samples;
  for (int i = 0; i < runs; ++i) {
    const auto began = Clock::now();
    rows = query();
    samples.push_back(std::chrono::duration<double, std::milli>(Clock::now() - began).count());
  }
  std::sort(samples.begin(), samples.end());
  return {samples[samples.size() / 2], samples.back()};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"usage query benchmark"};
  std::string path = "/tmp/e2b-usage-bench.db";
  int days = 365, per_day = 100'000, runs = 20;
  cli.add_option("--db", path, "SQLite file (reused when it already holds data)");
  cli.add_option("--days", days, "days of usage to generate");
  cli.add_option("--per-day", per_day, "requests per day");
  cli.add_option("--runs", runs, "timed runs per query");
  CLI11_PARSE(cli, argc, argv);

  Storage store(path);  // creates and migrates
  auto& db = store.database();
  const bool empty = [&] {  // the statement must be gone before writing, or it pins the WAL
    auto count = db.prepare("SELECT COUNT(*) FROM usage_requests");
    count.step();
    return count.integer(0) == 0;
  }();
  if (empty) fill(db, days, per_day);
  auto rows_now = db.prepare("SELECT COUNT(*), (SELECT COUNT(*) FROM usage_daily) FROM usage_requests");
  rows_now.step();
  std::printf("usage_requests: %lld rows, usage_daily: %lld rows, file: %.1f GB\n\n",
              static_cast<long long>(rows_now.integer(0)), static_cast<long long>(rows_now.integer(1)),
              static_cast<double>(std::filesystem::file_size(path)) / 1e9);

  const auto now_ms = unix_now() * 1000;
  const auto year = parse_time_range(std::to_string(now_ms / 1000 - 365 * 86400), std::nullopt);
  const auto month = parse_time_range(std::to_string(now_ms / 1000 - 30 * 86400), std::nullopt);
  struct Case {
    std::string name;
    std::function<std::size_t()> query;
  };
  const auto report = [&](UsageFilter filter, std::vector<std::string> group_by) {
    return [&db, filter, group_by] {
      return static_cast<std::size_t>(usage_report(db, filter, group_by).totals.requests);
    };
  };
  const auto log = [&](UsageFilter filter, std::string outcome, int pages) {
    return [&db, filter, outcome, pages] {
      RequestCursor cursor;
      std::size_t seen = 0;
      for (int p = 0; p < pages; ++p) {
        auto page = request_log(db, filter, outcome, cursor, 200);
        seen += page.rows.size();
        if (!page.next) break;
        cursor = *page.next;
      }
      return seen;
    };
  };
  const std::vector<Case> cases{
      {"/usage, a year, group_by=day", report({"", "", "", "", year}, {"day"})},
      {"/usage, a year, group_by=model,key", report({"", "", "", "", year}, {"model", "key"})},
      {"/usage, a year, tenant=, group_by=day", report({tenant_id(3), "", "", "", year}, {"day"})},
      {"/usage, a year, key=, group_by=day,model (/v1/me/usage)",
       report({"", key_id(42), "", "", year}, {"day", "model"})},
      {"/usage, 30 days, model=, group_by=key", report({"", "", "", kModels[2], month}, {"key"})},
      {"/requests, newest 200", log({}, "", 1)},
      {"/requests, key=, 5 pages of 200", log({"", key_id(42), "", "", {}}, "", 5)},
      {"/requests, tenant= & 30 days, 5 pages of 200", log({tenant_id(3), "", "", "", month}, "", 5)},
      {"/requests, user=, 200", log({"", "", "user7@example.com", "", {}}, "", 1)},
      {"/requests, outcome=client_cancelled, 200", log({}, "client_cancelled", 1)},
  };
  std::printf("| query | rows | median ms | worst ms |\n|---|---:|---:|---:|\n");
  for (const auto& c : cases) {
    std::size_t rows = 0;
    const auto [median, worst] = time_ms(runs, c.query, rows);
    std::printf("| %s | %zu | %.2f | %.2f |\n", c.name.c_str(), rows, median, worst);
  }
  return 0;
}
