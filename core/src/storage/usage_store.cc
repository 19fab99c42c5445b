// Usage rows: what a finished request records, written in batches with their rollups in step.
#include "storage/usage_store.h"

#include <chrono>
#include <ctime>
#include <map>
#include <string>
#include <tuple>

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

namespace {

/// What one batch adds to one rollup row.
struct RollupTotals {
  std::string tenant_id;  // written when the row is new; a key's tenant does not change
  std::int64_t requests = 0;
  std::int64_t errors = 0;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t rejected = 0;

  void add(const UsageRow& row) {
    if (requests++ == 0) tenant_id = row.tenant_id;
    errors += row.outcome == outcome_name(Outcome::Completed) ? 0 : 1;
    prompt_tokens += row.prompt_tokens;
    completion_tokens += row.completion_tokens;
    rejected += row.outcome == outcome_name(Outcome::Rejected) ? 1 : 0;
  }
};

/// The UTC day of each row, computed once per distinct day of a batch.
class DayOf {
 public:
  const std::string& operator()(std::int64_t ts_ms) {
    const std::int64_t day_number = ts_ms >= 0 ? ts_ms / kDayMs : (ts_ms - kDayMs + 1) / kDayMs;
    if (day_number != day_number_ || day_.empty()) {
      day_number_ = day_number;
      day_ = utc_day(ts_ms);
    }
    return day_;
  }

 private:
  static constexpr std::int64_t kDayMs = 86'400'000;
  std::int64_t day_number_ = 0;
  std::string day_;
};

}  // namespace

void write_usage(db::Database& db, const std::deque<UsageRow>& batch) {
  db::Transaction tx(db);
  auto insert = db.prepare(
      "INSERT INTO usage_requests (ts, request_id, tenant_id, key_id, user, model, upstream_model, stream, "
      "status, outcome, prompt_tokens, completion_tokens, total_tokens, estimated, duration_ms, ttft_ms) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  // The rollups, kept in step in the same transaction (see migrations/0003_admin_queries.sql);
  // the day rollup also counts rejected requests (migrations/0004_quota_rollups.sql). Rows of a
  // batch are summed per rollup row first: one upsert per (day, key, model), not per request.
  using KeyModel = std::tuple<std::string, std::string, std::string>;  // period, key_id, model
  std::map<KeyModel, RollupTotals> daily;
  std::map<KeyModel, RollupTotals> monthly;
  std::map<std::pair<std::string, std::string>, RollupTotals> daily_models;  // day, model
  DayOf day_of;
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
    const std::string& day = day_of(r.ts_ms);
    daily[{day, r.key_id, r.model}].add(r);
    monthly[{day.substr(0, 7), r.key_id, r.model}].add(r);
    daily_models[{day, r.model}].add(r);
  }
  const auto upsert = [&db](const std::string& table, const std::string& key_columns, bool per_key,
                            bool rejected) {
    return db.prepare(
        "INSERT INTO " + table + " (" + key_columns + (per_key ? ", tenant_id" : "") +
        ", requests, errors, prompt_tokens, completion_tokens" + (rejected ? ", rejected" : "") +
        ") VALUES (?, " + (per_key ? "?, ?, ?" : "?") + ", ?, ?, ?, ?" + (rejected ? ", ?" : "") +
        ") ON CONFLICT (" + key_columns +
        ") DO UPDATE SET requests = requests + excluded.requests, errors = errors + excluded.errors, "
        "prompt_tokens = prompt_tokens + excluded.prompt_tokens, "
        "completion_tokens = completion_tokens + excluded.completion_tokens" +
        (rejected ? ", rejected = rejected + excluded.rejected" : ""));
  };
  const auto write_per_key = [&upsert](const std::string& table, const std::string& period_column,
                                       const std::map<KeyModel, RollupTotals>& rows, bool rejected) {
    auto statement = upsert(table, period_column + ", key_id, model", true, rejected);
    for (const auto& [key, totals] : rows) {
      statement.bind(1, std::get<0>(key))
          .bind(2, std::get<1>(key))
          .bind(3, std::get<2>(key))
          .bind(4, totals.tenant_id)
          .bind(5, totals.requests)
          .bind(6, totals.errors)
          .bind(7, totals.prompt_tokens)
          .bind(8, totals.completion_tokens);
      if (rejected) statement.bind(9, totals.rejected);
      statement.run();
    }
  };
  write_per_key("usage_daily", "day", daily, true);
  write_per_key("usage_monthly", "month", monthly, false);
  auto per_model = upsert("usage_daily_models", "day, model", false, false);
  for (const auto& [key, totals] : daily_models) {
    per_model.bind(1, key.first)
        .bind(2, key.second)
        .bind(3, totals.requests)
        .bind(4, totals.errors)
        .bind(5, totals.prompt_tokens)
        .bind(6, totals.completion_tokens)
        .run();
  }
  tx.commit();
}

}  // namespace gateway
