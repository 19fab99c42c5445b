// Usage accounting in SQLite: one row per chat request in usage_requests, and rollups kept in
// step on every write (day × key × model, month × key × model, day × model), so reports never
// scan the request log and a year of usage answers from a few thousand rollup rows.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "gateway/plugin.h"
#include "storage/sqlite.h"

namespace gateway {

struct UsageRow {
  std::int64_t ts_ms = 0;
  std::string request_id;
  std::string tenant_id;
  std::string key_id;
  std::string user;
  std::string model;
  std::string upstream_model;
  bool stream = false;
  int status = 0;
  std::string outcome;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  bool estimated = true;
  std::int64_t duration_ms = 0;
  std::optional<std::int64_t> ttft_ms;
};

/// The usage row for a finished chat request.
UsageRow usage_row(const RequestRecord& record);

/// Inserts `batch` and updates the daily aggregate, in one transaction.
void write_usage(db::Database& db, const std::deque<UsageRow>& batch);

/// "YYYY-MM-DD" (UTC) of a unix-milliseconds time.
std::string utc_day(std::int64_t ts_ms);

/// A time range [from_ms, to_ms) in unix milliseconds.
struct TimeRange {
  std::int64_t from_ms = 0;
  std::int64_t to_ms = INT64_MAX;
};

/// Filters shared by usage reports and the request log; empty fields match everything.
struct UsageFilter {
  std::string tenant_id;
  std::string key_id;
  std::string user;
  std::string model;
  TimeRange range;
};

/// Dimensions a usage report can be grouped by.
inline const std::vector<std::string>& usage_dimensions() {
  static const std::vector<std::string> all{"day", "model", "key", "tenant"};
  return all;
}

/// Request, error and token sums of some usage.
struct UsageSums {
  std::int64_t requests = 0;
  std::int64_t errors = 0;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t total_tokens() const { return prompt_tokens + completion_tokens; }
};

/// One group of a usage report: its value of each grouped dimension, and its sums.
struct UsageGroup {
  std::vector<std::string> values;  ///< one per UsageReport::group_by, in that order
  UsageSums sums;
};

/// A usage report as the rollups answer it.
struct UsageReport {
  std::vector<std::string> group_by;            ///< the grouped dimensions, in usage_dimensions() order
  std::optional<std::string> from_day, to_day;  ///< the whole UTC days covered; unset = unbounded
  std::vector<UsageGroup> groups;               ///< in group order; empty when ungrouped
  UsageSums totals;
};

/// Sums of the usage matching `filter` (whole UTC days), grouped by `group_by` (a subset of
/// usage_dimensions(), reordered to that order; empty = one total). A report of more than
/// `max_groups` groups throws std::invalid_argument naming group_by: it would hold the storage
/// thread and the client's memory for too long.
UsageReport usage_report(db::Database& db, const UsageFilter& filter,
                         const std::vector<std::string>& group_by, std::size_t max_groups = 100'000);

/// When the key last made a chat request (unix milliseconds), from the request log.
std::optional<std::int64_t> last_used_ms(db::Database& db, const std::string& key_id);

/// Every key's usage from `from_ms` (unix milliseconds) on: whole UTC days from the day rollup,
/// the part of a day before them from the request log. Requests refused as the client's fault
/// (outcome `rejected`) are not counted as requests; tokens are prompt plus completion.
std::vector<KeyUsage> usage_since(db::Database& db, std::int64_t from_ms);

/// UsageHistory over the usage rows of `db`, which must outlive it.
class StoredUsageHistory : public UsageHistory {
 public:
  explicit StoredUsageHistory(db::Database& db) : db_(db) {}
  std::vector<KeyUsage> usage_since(std::chrono::system_clock::time_point from) const override {
    return gateway::usage_since(
        db_, std::chrono::duration_cast<std::chrono::milliseconds>(from.time_since_epoch()).count());
  }

 private:
  db::Database& db_;
};

/// Where a page of the request log starts: after the row at (ts_ms, id), newest first.
struct RequestCursor {
  std::int64_t ts_ms = INT64_MAX;
  std::int64_t id = INT64_MAX;
  std::string encode() const;
  /// Throws std::invalid_argument for anything encode() did not make.
  static RequestCursor decode(const std::string& text);
};

/// One row of the request log as stored.
struct LoggedRequest {
  std::int64_t id = 0;
  UsageRow row;
  std::int64_t total_tokens = 0;
};

/// One page of the request log, newest first.
struct RequestPage {
  std::vector<LoggedRequest> rows;
  std::optional<RequestCursor> next;  ///< where the next page starts; unset on the last page
};

/// One page of at most `limit` rows of the request log matching `filter` and `outcome` (empty =
/// any), newest first, after `after`.
RequestPage request_log(db::Database& db, const UsageFilter& filter, const std::string& outcome,
                        const RequestCursor& after, int limit);

}  // namespace gateway
