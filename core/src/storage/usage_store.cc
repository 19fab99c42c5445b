// Usage rows: what a finished request records, written in batches with their rollups in step.
#include "storage/usage_store.h"

#include <chrono>
#include <ctime>

namespace gateway {

UsageRow usage_row(const RequestRecord& r) {
  UsageRow row;
  row.ts_ms = std::chrono::duration_cast<std::chrono::milliseconds>(r.started_at.time_since_epoch()).count();
  row.request_id = r.request_id;
  row.tenant_id = r.principal.tenant_id;
  row.key_id = r.principal.key_id;
  row.user = r.principal.user;
  row.model = r.model;
  row.upstream_model = r.upstream_model;
  row.stream = r.stream;
  row.status = r.status;
  row.outcome = outcome_name(r.outcome);
  row.prompt_tokens = r.usage.prompt_tokens;
  row.completion_tokens = r.usage.completion_tokens;
  row.estimated = r.usage.estimated;
  row.duration_ms = r.duration.count();
  if (r.time_to_first_token) row.ttft_ms = r.time_to_first_token->count();
  return row;
}

std::string utc_day(std::int64_t ts_ms) {
  const std::time_t seconds = static_cast<std::time_t>(ts_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char day[16];
  std::strftime(day, sizeof day, "%Y-%m-%d", &tm);
  return day;
}

void write_usage(db::Database& db, const std::deque<UsageRow>& batch) {
  db::Transaction tx(db);
  auto insert = db.prepare(
      "INSERT INTO usage_requests (ts, request_id, tenant_id, key_id, user, model, upstream_model, stream, "
      "status, outcome, prompt_tokens, completion_tokens, total_tokens, estimated, duration_ms, ttft_ms) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  // The rollups, kept in step in the same transaction (see migrations/0003_admin_queries.sql);
  // the day rollup also counts rejected requests (migrations/0004_quota_rollups.sql).
  const auto rollup = [&db](const std::string& table, const std::string& key_columns, bool rejected) {
    const bool per_key = key_columns.find("key_id") != std::string::npos;
    return db.prepare("INSERT INTO " + table + " (" + key_columns + (per_key ? ", tenant_id" : "") +
                      ", requests, errors, prompt_tokens, completion_tokens" +
                      (rejected ? ", rejected" : "") + ") VALUES (?, " + (per_key ? "?, ?, ?" : "?") +
                      ", 1, ?, ?, ?" + (rejected ? ", ?" : "") + ") ON CONFLICT (" + key_columns +
                      ") DO UPDATE SET requests = requests + 1, errors = errors + excluded.errors, "
                      "prompt_tokens = prompt_tokens + excluded.prompt_tokens, "
                      "completion_tokens = completion_tokens + excluded.completion_tokens" +
                      (rejected ? ", rejected = rejected + excluded.rejected" : ""));
  };
  auto daily = rollup("usage_daily", "day, key_id, model", true);
  auto monthly = rollup("usage_monthly", "month, key_id, model", false);
  auto daily_models = rollup("usage_daily_models", "day, model", false);
  for (const auto& r : batch) {
    insert.bind(1, r.ts_ms)
        .bind(2, r.request_id)
        .bind(3, r.tenant_id)
        .bind(4, r.key_id)
        .bind(5, r.user)
        .bind(6, r.model)
        .bind(7, r.upstream_model)
        .bind(8, std::int64_t{r.stream})
        .bind(9, std::int64_t{r.status})
        .bind(10, r.outcome)
        .bind(11, r.prompt_tokens)
        .bind(12, r.completion_tokens)
        .bind(13, r.prompt_tokens + r.completion_tokens)
        .bind(14, std::int64_t{r.estimated})
        .bind(15, r.duration_ms)
        .bind(16, r.ttft_ms)
        .run();
    const std::string day = utc_day(r.ts_ms);
    const std::int64_t error = r.outcome == "completed" ? 0 : 1;
    for (auto* statement : {&daily, &monthly}) {
      statement->bind(1, statement == &daily ? day : day.substr(0, 7))
          .bind(2, r.key_id)
          .bind(3, r.model)
          .bind(4, r.tenant_id)
          .bind(5, error)
          .bind(6, r.prompt_tokens)
          .bind(7, r.completion_tokens);
    }
    daily.bind(8, std::int64_t{r.outcome == outcome_name(Outcome::Rejected)}).run();
    monthly.run();
    daily_models.bind(1, day)
        .bind(2, r.model)
        .bind(3, error)
        .bind(4, r.prompt_tokens)
        .bind(5, r.completion_tokens)
        .run();
  }
  tx.commit();
}

}  // namespace gateway
