// Admin report handlers: the query checks of usage and request-log queries, and the audit listing.
#include "admin/reports.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <sstream>
#include <string_view>

#include "admin/views.h"

namespace gateway::admin {
namespace {

/// Parses one `from`/`to` value into unix milliseconds; a bare date as `to` means its end.
std::int64_t parse_time(const std::string& text, const char* field, bool end_of_day) {
  const auto invalid = [&] {
    return std::invalid_argument(std::string(field) +
                                 ": must be YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or unix seconds, not '" +
                                 text.substr(0, 40) + "'");
  };
  if (!text.empty() &&
      std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
    std::int64_t seconds = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc() || end != text.data() + text.size() || seconds > 100'000'000'000) throw invalid();
    return seconds * 1000;
  }
  // The exact shape first, so no sign, blank or missing digit gets through.
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:ddZ";
  if (text.size() != 10 && text.size() != kShape.size()) throw invalid();
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool ok =
        kShape[i] == 'd' ? std::isdigit(static_cast<unsigned char>(text[i])) != 0 : text[i] == kShape[i];
    if (!ok) throw invalid();
  }
  const auto number = [&](std::size_t at, std::size_t digits) {
    int value = 0;
    std::from_chars(text.data() + at, text.data() + at + digits, value);  // digits checked above
    return value;
  };
  const bool date_only = text.size() == 10;
  std::tm tm{};
  tm.tm_year = number(0, 4);
  tm.tm_mon = number(5, 2);
  tm.tm_mday = number(8, 2);
  if (!date_only) {
    tm.tm_hour = number(11, 2);
    tm.tm_min = number(14, 2);
    tm.tm_sec = number(17, 2);
  }
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_year < 1970)
    throw invalid();
  const int day = tm.tm_mday;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t seconds = timegm(&tm);
  if (tm.tm_mday != day) throw invalid();  // e.g. 2026-02-30 rolled over
  return (static_cast<std::int64_t>(seconds) + (date_only && end_of_day ? 86400 : 0)) * 1000;
}

/// The time range, tenant, key and model filters of a usage query.
UsageFilter usage_filter(const AdminCall& call) {
  UsageFilter filter;
  filter.tenant_id = query_or_empty(call, "tenant");
  filter.key_id = query_or_empty(call, "key");
  filter.model = query_or_empty(call, "model");
  filter.range = parse_time_range(query(call, "from"), query(call, "to"));
  return filter;
}

}  // namespace

TimeRange parse_time_range(const std::optional<std::string>& from, const std::optional<std::string>& to) {
  TimeRange range;
  if (from) range.from_ms = parse_time(*from, "from", false);
  if (to) range.to_ms = parse_time(*to, "to", true);
  if (range.from_ms >= range.to_ms) throw std::invalid_argument("to: must be after from");
  return range;
}

std::vector<std::string> parse_group_by(const std::string& list, const std::vector<std::string>& allowed) {
  std::vector<std::string> names;
  std::stringstream items(list);
  for (std::string name; std::getline(items, name, ',');) {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::string known;
      for (const auto& a : allowed) known += (known.empty() ? "" : ", ") + a;
      throw std::invalid_argument("group_by: must be a comma-separated list of " + known);
    }
    names.push_back(name);
  }
  return names;
}

LocalResponse usage(AdminCall& call) {
  return json_response(
      200, usage_report_json(usage_report(call.store.database(), usage_filter(call),
                                          parse_group_by(query(call, "group_by").value_or("day")))));
}

LocalResponse requests(AdminCall& call) {
  auto filter = usage_filter(call);
  filter.user = query_or_empty(call, "user");
  const auto cursor = query(call, "cursor");
  const auto outcome = query_or_empty(call, "outcome");
  if (!outcome.empty()) {
    bool known = false;
    std::string names;
    for (const auto o : kAllOutcomes) {
      known = known || outcome == outcome_name(o);
      names += std::string(names.empty() ? "" : ", ") + outcome_name(o);
    }
    if (!known) throw std::invalid_argument("outcome: must be one of " + names);
  }
  return json_response(
      200, request_page_json(request_log(call.store.database(), filter, outcome,
                                         cursor ? RequestCursor::decode(*cursor) : RequestCursor{},
                                         page_limit(call))));
}

LocalResponse audit(AdminCall& call) {
  std::int64_t before = 0;
  if (const auto cursor = query(call, "cursor")) {
    const auto [end, ec] = std::from_chars(cursor->data(), cursor->data() + cursor->size(), before);
    if (ec != std::errc() || end != cursor->data() + cursor->size() || before <= 0)
      throw std::invalid_argument("cursor: not a cursor from this listing");
  }
  const int limit = page_limit(call);
  return page_response(call.store.audit().audit_entries(before, limit), limit, audit_json,
                       [](const AuditEntry& a) { return std::to_string(a.id); });
}

}  // namespace gateway::admin
