// Usage read back: the usage report from the rollups, per-key usage since an instant (quota
// rebuilds), last use, and the paginated request log. Written by usage_store.cc.
#include "storage/usage_store.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <stdexcept>
#include <variant>

namespace gateway {
namespace {

/// A WHERE clause assembled from the filters that are set, with its bound values in order.
struct Conditions {
  std::string sql;
  std::vector<std::variant<std::string, std::int64_t>> values;

  /// Appends `condition` with one bound value per `?` in it.
  template <typename... T>
  void add(const char* condition, T... value) {
    sql += sql.empty() ? " WHERE " : " AND ";
    sql += condition;
    (values.emplace_back(std::move(value)), ...);
  }
  void add_if(const char* condition, const std::string& value) {
    if (!value.empty()) add(condition, value);
  }
  void bind(db::Statement& statement, int first = 1) const {
    int i = first;
    for (const auto& v : values) std::visit([&](const auto& x) { statement.bind(i++, x); }, v);
  }
};

}  // namespace

namespace {

/// "YYYY-MM" of the month after (`step` 1) or before (`step` -1) `month`.
std::string shift_month(const std::string& month, int step) {
  int year = std::stoi(month.substr(0, 4)), number = std::stoi(month.substr(5, 2)) + step;
  if (number == 13) year += 1, number = 1;
  if (number == 0) year -= 1, number = 12;
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02d", year, number);
  return text;
}

/// "YYYY-MM-DD" of the last day of `month` ("YYYY-MM").
std::string last_day_of(const std::string& month) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const int year = std::stoi(month.substr(0, 4)), number = std::stoi(month.substr(5, 2));
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month + "-" + std::to_string(days[number - 1] + (number == 2 && leap ? 1 : 0));
}

/// One table a usage report reads, between two inclusive bounds of its period column (empty =
/// unbounded).
struct Span {
  const char* table;
  const char* period;  ///< "day" or "month"
  std::string low, high;
};

/// The smallest rollups that cover [from_day, to_day] for a report that needs keys or tenants
/// but not days: whole months from usage_monthly, the days at either end from usage_daily.
std::vector<Span> monthly_spans(const std::string& from_day, const std::string& to_day) {
  const std::string first_month = from_day.empty()            ? ""
                                  : from_day.ends_with("-01") ? from_day.substr(0, 7)
                                                              : shift_month(from_day.substr(0, 7), 1);
  const std::string last_month = to_day.empty() ? ""
                                 : to_day == last_day_of(to_day.substr(0, 7))
                                     ? to_day.substr(0, 7)
                                     : shift_month(to_day.substr(0, 7), -1);
  if (!first_month.empty() && !last_month.empty() && first_month > last_month) {
    return {{"usage_daily", "day", from_day, to_day}};  // no whole month inside
  }
  std::vector<Span> spans{{"usage_monthly", "month", first_month, last_month}};
  if (!from_day.empty() && !from_day.ends_with("-01"))
    spans.push_back({"usage_daily", "day", from_day, last_day_of(from_day.substr(0, 7))});
  if (!to_day.empty() && to_day.substr(0, 7) != last_month)
    spans.push_back({"usage_daily", "day", to_day.substr(0, 7) + "-01", to_day});
  return spans;
}

}  // namespace

UsageReport usage_report(db::Database& db, const UsageFilter& filter,
                         const std::vector<std::string>& group_by, std::size_t max_groups) {
  const auto grouped = [&](const char* name) {
    return std::find(group_by.begin(), group_by.end(), name) != group_by.end();
  };
  static const std::vector<std::pair<std::string, std::string>> columns{
      {"day", "day"}, {"model", "model"}, {"key", "key_id"}, {"tenant", "tenant_id"}};
  std::string select, group;
  std::vector<std::string> names;
  for (const auto& [name, column] : columns) {
    if (!grouped(name.c_str())) continue;
    select += column + ", ";
    group += (group.empty() ? "" : ", ") + column;
    names.push_back(name);
  }
  const bool bounded_from = filter.range.from_ms > 0, bounded_to = filter.range.to_ms != INT64_MAX;
  const std::string from_day = bounded_from ? utc_day(filter.range.from_ms) : "";
  const std::string to_day = bounded_to ? utc_day(filter.range.to_ms - 1) : "";

  // Read the smallest rollup that can answer: day × model when no key or tenant is involved,
  // whole months when days are not asked for, day × key × model otherwise.
  const bool per_key =
      !filter.key_id.empty() || !filter.tenant_id.empty() || grouped("key") || grouped("tenant");
  const std::vector<Span> spans =
      !per_key         ? std::vector<Span>{{"usage_daily_models", "day", from_day, to_day}}
      : grouped("day") ? std::vector<Span>{{"usage_daily", "day", from_day, to_day}}
                       : monthly_spans(from_day, to_day);
  std::string sql;
  Conditions where;  // the values of every span's conditions, in order
  for (const auto& span : spans) {
    Conditions part;
    const std::string period = span.period;
    if (!span.low.empty()) part.add((period + " >= ?").c_str(), span.low);
    if (!span.high.empty()) part.add((period + " <= ?").c_str(), span.high);
    if (per_key) {
      part.add_if("tenant_id = ?", filter.tenant_id);
      part.add_if("key_id = ?", filter.key_id);
    }
    part.add_if("model = ?", filter.model);
    sql += std::string(sql.empty() ? "" : " UNION ALL ") + "SELECT " + period + " AS day, model, " +
           (per_key ? "key_id, tenant_id, " : "") +
           "requests, errors, prompt_tokens, completion_tokens FROM " + span.table + part.sql;
    for (auto& value : part.values) where.values.push_back(std::move(value));
  }
  sql = "SELECT " + select + "SUM(requests), SUM(errors), SUM(prompt_tokens), SUM(completion_tokens) FROM (" +
        sql + ")";
  if (!group.empty()) sql += " GROUP BY " + group + " ORDER BY " + group;
  auto q = db.prepare(sql);
  where.bind(q);
  UsageReport report;
  report.group_by = names;
  if (bounded_from) report.from_day = from_day;
  if (bounded_to) report.to_day = to_day;
  const int first = static_cast<int>(names.size());
  while (q.step()) {
    if (q.is_null(first)) continue;  // no matching rows: SUM() of nothing
    if (report.groups.size() == max_groups) {
      throw std::invalid_argument("group_by: the report would have more than " + std::to_string(max_groups) +
                                  " groups; narrow from/to or filter by tenant, key or model");
    }
    UsageGroup g;
    g.sums = {q.integer(first), q.integer(first + 1), q.integer(first + 2), q.integer(first + 3)};
    for (int i = 0; i < first; ++i) g.values.push_back(q.text(i));
    report.totals.requests += g.sums.requests;
    report.totals.errors += g.sums.errors;
    report.totals.prompt_tokens += g.sums.prompt_tokens;
    report.totals.completion_tokens += g.sums.completion_tokens;
    if (first > 0) report.groups.push_back(std::move(g));
  }
  return report;
}

std::vector<KeyUsage> usage_since(db::Database& db, std::int64_t from_ms) {
  constexpr std::int64_t kDayMs = 24 * 60 * 60 * 1000;
  // The first UTC day that lies wholly inside the period; the part before it (if any) comes from
  // the request log, the rest from the day rollup.
  const std::int64_t first_whole_day_ms = (from_ms + kDayMs - 1) / kDayMs * kDayMs;
  auto q = db.prepare(
      "SELECT key_id, MAX(tenant_id), SUM(requests), SUM(tokens) FROM ("
      "  SELECT key_id, tenant_id, requests - rejected AS requests, prompt_tokens + completion_tokens AS "
      "tokens"
      "  FROM usage_daily WHERE day >= ?"
      "  UNION ALL"
      "  SELECT key_id, tenant_id, outcome != 'rejected', total_tokens FROM usage_requests"
      "  WHERE ts >= ? AND ts < ?"
      ") WHERE key_id != '' GROUP BY key_id ORDER BY key_id");
  q.bind(1, utc_day(first_whole_day_ms)).bind(2, from_ms).bind(3, first_whole_day_ms);
  std::vector<KeyUsage> out;
  while (q.step()) out.push_back({q.text(0), q.text(1), q.integer(2), q.integer(3)});
  return out;
}

std::optional<std::int64_t> last_used_ms(db::Database& db, const std::string& key_id) {
  auto q = db.prepare("SELECT MAX(ts) FROM usage_requests WHERE key_id = ?");  // one index probe
  q.bind(1, key_id);
  q.step();
  return q.optional_integer(0);
}

namespace {

/// The request-log row `q` is on (columns as request_log() selects them).
LoggedRequest logged_request(db::Statement& q) {
  LoggedRequest r;
  r.id = q.integer(0);
  r.row.ts_ms = q.integer(1);
  r.row.request_id = q.text(2);
  r.row.tenant_id = q.text(3);
  r.row.key_id = q.text(4);
  r.row.user = q.text(5);
  r.row.model = q.text(6);
  r.row.upstream_model = q.text(7);
  r.row.stream = q.integer(8) != 0;
  r.row.status = static_cast<int>(q.integer(9));
  r.row.outcome = q.text(10);
  r.row.prompt_tokens = q.integer(11);
  r.row.completion_tokens = q.integer(12);
  r.total_tokens = q.integer(13);
  r.row.estimated = q.integer(14) != 0;
  r.row.duration_ms = q.integer(15);
  r.row.ttft_ms = q.optional_integer(16);
  return r;
}

}  // namespace

std::string RequestCursor::encode() const {
  return std::to_string(ts_ms) + "_" + std::to_string(id);
}

RequestCursor RequestCursor::decode(const std::string& text) {
  RequestCursor cursor;
  const auto split = text.find('_');
  const auto number = [&](std::size_t from, std::size_t to, std::int64_t& out) {
    const auto [end, ec] = std::from_chars(text.data() + from, text.data() + to, out);
    return ec == std::errc() && end == text.data() + to && to > from;
  };
  if (split == std::string::npos || !number(0, split, cursor.ts_ms) ||
      !number(split + 1, text.size(), cursor.id))
    throw std::invalid_argument("cursor: not a cursor from this listing");
  return cursor;
}

RequestPage request_log(db::Database& db, const UsageFilter& filter, const std::string& outcome,
                        const RequestCursor& after, int limit) {
  Conditions where;
  if (filter.range.from_ms > 0) where.add("ts >= ?", filter.range.from_ms);
  where.add("ts < ?", std::min(filter.range.to_ms, after.ts_ms == INT64_MAX ? INT64_MAX : after.ts_ms + 1));
  where.add("(ts < ? OR id < ?)", after.ts_ms, after.id);
  where.add_if("tenant_id = ?", filter.tenant_id);
  where.add_if("key_id = ?", filter.key_id);
  where.add_if("user = ?", filter.user);
  where.add_if("model = ?", filter.model);
  where.add_if("outcome = ?", outcome);
  auto q = db.prepare(
      "SELECT id, ts, request_id, tenant_id, key_id, user, model, upstream_model, stream, status, outcome, "
      "prompt_tokens, completion_tokens, total_tokens, estimated, duration_ms, ttft_ms FROM usage_requests" +
      where.sql + " ORDER BY ts DESC, id DESC LIMIT " + std::to_string(limit + 1));
  where.bind(q);
  RequestPage page;
  while (q.step()) {
    if (static_cast<int>(page.rows.size()) == limit) {
      const auto& last = page.rows.back();
      page.next = RequestCursor{last.row.ts_ms, last.id};
      break;
    }
    page.rows.push_back(logged_request(q));
  }
  return page;
}

}  // namespace gateway
