// Admin report handlers: the query checks of usage and request-log queries, and the audit listing.
#include "admin/reports.h"

#include <charconv>

#include "admin/views.h"
#include "storage/usage_store.h"

namespace gateway::admin {
namespace {

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

LocalResponse usage(AdminCall& call) {
  return json_response(200, usage_report(call.store.database(), usage_filter(call),
                                         parse_group_by(query(call, "group_by").value_or("day"))));
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
      200, request_log(call.store.database(), filter, outcome,
                       cursor ? RequestCursor::decode(*cursor) : RequestCursor{}, page_limit(call)));
}

LocalResponse audit(AdminCall& call) {
  std::int64_t before = 0;
  if (const auto cursor = query(call, "cursor")) {
    const auto [end, ec] = std::from_chars(cursor->data(), cursor->data() + cursor->size(), before);
    if (ec != std::errc() || end != cursor->data() + cursor->size() || before <= 0)
      throw std::invalid_argument("cursor: not a cursor from this listing");
  }
  const int limit = page_limit(call);
  return page_response(call.store.audit_entries(before, limit), limit, audit_json,
                       [](const AuditEntry& a) { return std::to_string(a.id); });
}

}  // namespace gateway::admin
