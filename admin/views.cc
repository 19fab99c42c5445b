// JSON views of stored rows as the admin API shows them.
#include "admin/views.h"

namespace gateway::admin {

using nlohmann::json;

namespace {

json sums_json(const UsageSums& s) {
  return {{"requests", s.requests},
          {"errors", s.errors},
          {"prompt_tokens", s.prompt_tokens},
          {"completion_tokens", s.completion_tokens},
          {"total_tokens", s.total_tokens()}};
}

json request_json(const LoggedRequest& logged) {
  const UsageRow& r = logged.row;
  return {{"object", "request"},
          {"request_id", r.request_id},
          {"ts_ms", r.ts_ms},
          {"tenant", r.tenant_id},
          {"key", r.key_id},
          {"user", r.user},
          {"model", r.model},
          {"upstream_model", r.upstream_model},
          {"stream", r.stream},
          {"status", r.status},
          {"outcome", r.outcome},
          {"usage",
           {{"prompt_tokens", r.prompt_tokens},
            {"completion_tokens", r.completion_tokens},
            {"total_tokens", logged.total_tokens},
            {"estimated", r.estimated}}},
          {"duration_ms", r.duration_ms},
          {"ttft_ms", r.ttft_ms ? json(*r.ttft_ms) : json(nullptr)}};
}

}  // namespace

json tenant_json(const TenantRecord& t) {
  return {{"id", t.id},
          {"object", "tenant"},
          {"name", t.name},
          {"status", t.deleted_at ? "deleted" : t.status},
          {"metadata", t.metadata},
          {"limits", t.limits},
          {"created_at", t.created_at},
          {"deleted_at", t.deleted_at ? json(*t.deleted_at) : json(nullptr)}};
}

json key_json(db::Database& db, const KeyRecord& k) {
  const auto last_used = last_used_ms(db, k.id);
  return {{"id", k.id},
          {"object", "api_key"},
          {"tenant", k.tenant_id},
          {"user", k.user},
          {"alias", k.alias},
          {"prefix", k.prefix},
          {"status", k.status},
          {"models", k.models_unreadable ? json(nullptr) : json(k.models)},
          {"metadata", k.metadata},
          {"limits", k.limits},
          {"created_at", k.created_at},
          {"expires_at", k.expires_at ? json(*k.expires_at) : json(nullptr)},
          {"last_used_at", last_used ? json(*last_used / 1000) : json(nullptr)}};
}

json audit_json(const AuditEntry& a) {
  return {{"id", a.id},
          {"object", "audit_entry"},
          {"ts", a.ts},
          {"action", a.action},
          {"target_id", a.target_id},
          {"actor", a.actor},
          {"request_id", a.request_id},
          {"details", a.details}};
}

json limits_json(const Principal& principal, const LimitStatus& limit_status) {
  auto status = limit_status ? limit_status(principal) : json(nullptr);
  return {{"object", "rate_limits"},
          {"key_id", principal.key_id},
          {"tenant_id", principal.tenant_id},
          {"enforced", !status.is_null()},
          {"limits", status.is_null() ? json::array() : std::move(status)}};
}

json me_json(const Principal& principal, Storage& store, const LimitStatus& limit_status) {
  const auto key = store.keys().key(principal.key_id);
  const auto tenant = store.tenants().tenant(principal.tenant_id);
  const auto last_used = last_used_ms(store.database(), principal.key_id);
  json key_view{{"id", principal.key_id},
                {"prefix", principal.key_mask},
                {"alias", key ? key->alias : ""},
                {"status", key ? key->status : "active"},
                {"models", principal.allowed_models},
                {"limits", key ? key->limits : json::object()},
                {"metadata", key ? key->metadata : json::object()},
                {"created_at", key ? json(key->created_at) : json(nullptr)},
                {"expires_at", key && key->expires_at ? json(*key->expires_at) : json(nullptr)},
                {"last_used_at", last_used ? json(*last_used / 1000) : json(nullptr)},
                {"source", key ? "database" : "config"}};
  json tenant_view{{"id", principal.tenant_id},
                   {"name", tenant ? tenant->name : principal.tenant_id},
                   {"status", tenant ? tenant->status : "active"},
                   {"limits", tenant ? tenant->limits : json::object()}};
  return {{"object", "me"},
          {"user", principal.user},
          {"key", std::move(key_view)},
          {"tenant", std::move(tenant_view)},
          {"rate_limits", limits_json(principal, limit_status)["limits"]}};
}

json usage_report_json(const UsageReport& report) {
  json answer{{"object", "usage_report"},
              {"group_by", report.group_by},
              {"from", report.from_day ? json(*report.from_day) : json(nullptr)},
              {"to", report.to_day ? json(*report.to_day) : json(nullptr)},
              {"totals", sums_json(report.totals)}};
  if (report.group_by.empty()) return answer;
  auto data = json::array();
  for (const auto& group : report.groups) {
    auto row = sums_json(group.sums);
    for (std::size_t i = 0; i < group.values.size(); ++i) row[report.group_by[i]] = group.values[i];
    data.push_back(std::move(row));
  }
  answer["data"] = std::move(data);
  return answer;
}

json request_page_json(const RequestPage& page) {
  auto data = json::array();
  for (const auto& r : page.rows) data.push_back(request_json(r));
  return {{"object", "list"},
          {"data", std::move(data)},
          {"has_more", page.next.has_value()},
          {"next_cursor", page.next ? json(page.next->encode()) : json(nullptr)}};
}

}  // namespace gateway::admin
