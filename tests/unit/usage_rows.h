// What the usage storage tests share: a migrated database in a temporary file, UTC times and
// ranges written as text, usage rows, and counting rows with SQL.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>

#include "storage/migrations.h"
#include "storage/storage.h"
#include "storage/usage_store.h"
#include "temp_db.h"

namespace gateway::testing_support {

/// A migrated database in a temporary file.
struct MigratedDb {
  TempDb file;
  db::Database db{file.path()};
  MigratedDb() { db::migrate(db); }
};

/// Unix milliseconds of "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (UTC) plus `extra_ms`.
inline std::int64_t at(const std::string& time, std::int64_t extra_ms = 0) {
  std::tm tm{};
  if (std::sscanf(time.c_str(), "%d-%d-%dT%d:%d:%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec) < 3)
    ADD_FAILURE() << "not a time: " << time;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + extra_ms;
}

/// The range the admin API makes of `from`/`to`: a bare date as `to` means the end of that day.
inline TimeRange range(const std::optional<std::string>& from, const std::optional<std::string>& to) {
  TimeRange r;
  if (from) r.from_ms = at(*from);
  if (to) r.to_ms = at(*to, to->size() == 10 ? 86'400'000 : 0);
  return r;
}

inline UsageRow row(std::int64_t ts_ms, const std::string& key, const std::string& model,
                    const std::string& tenant, const std::string& outcome = "completed",
                    std::int64_t prompt = 10, std::int64_t completion = 5,
                    const std::string& user = "alice") {
  UsageRow r;
  r.ts_ms = ts_ms;
  r.request_id = "req_" + std::to_string(ts_ms) + "_" + key + "_" + model + "_" + outcome;
  r.tenant_id = tenant;
  r.key_id = key;
  r.user = user;
  r.model = model;
  r.upstream_model = model + "-upstream";
  r.outcome = outcome;
  r.status = outcome == "completed" ? 200 : 502;
  r.prompt_tokens = prompt;
  r.completion_tokens = completion;
  r.duration_ms = 42;
  return r;
}

inline std::int64_t count(db::Database& db, const std::string& sql) {
  auto q = db.prepare(sql);
  EXPECT_TRUE(q.step()) << sql;
  return q.integer(0);
}

}  // namespace gateway::testing_support
