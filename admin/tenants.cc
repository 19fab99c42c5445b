// Admin handlers for tenants; every change is written to the audit log.
#include "admin/tenants.h"

#include "admin/views.h"

namespace gateway::admin {

using nlohmann::json;

LocalResponse list_tenants(AdminCall& call) {
  const int limit = page_limit(call);
  return page_response(call.store.tenants().tenants({query_or_empty(call, "cursor"), limit},
                                                    query_flag(call, "include_deleted")),
                       limit, tenant_json, [](const TenantRecord& t) { return t.id; });
}

LocalResponse create_tenant(AdminCall& call) {
  const auto body = call.body;
  only_fields(body, {"name", "metadata", "limits"});
  const auto name = field<std::string>(body, "name");
  if (!name || name->empty()) return invalid_field("name: is required");
  const auto tenant =
      call.store.tenants().create_tenant(*name, field<json>(body, "metadata").value_or(json::object()),
                                         field<json>(body, "limits").value_or(json::object()));
  call.store.audit().audit("tenant.create", tenant.id, call.actor, call.request_id, body);
  return json_response(201, tenant_json(tenant));
}

LocalResponse get_tenant(AdminCall& call) {
  const auto tenant = call.store.tenants().tenant(call.id);
  if (!tenant) return admin_error(404, "not_found", "No tenant " + call.id);
  return json_response(200, tenant_json(*tenant));
}

LocalResponse patch_tenant(AdminCall& call) {
  auto tenant = call.store.tenants().tenant(call.id);
  if (!tenant) return admin_error(404, "not_found", "No tenant " + call.id);
  if (tenant->deleted_at) return admin_error(409, "conflict", "Tenant " + call.id + " is deleted");
  const auto patch = call.body;
  only_fields(patch, {"name", "status", "metadata", "limits"});
  json doc{{"name", tenant->name},
           {"status", tenant->status},
           {"metadata", tenant->metadata},
           {"limits", tenant->limits}};
  doc.merge_patch(patch);
  tenant->name = field<std::string>(doc, "name").value_or("");
  tenant->status = field<std::string>(doc, "status").value_or("");
  tenant->metadata = field<json>(doc, "metadata").value_or(json::object());
  tenant->limits = field<json>(doc, "limits").value_or(json::object());
  call.store.tenants().update_tenant(*tenant);
  call.store.audit().audit("tenant.update", tenant->id, call.actor, call.request_id, patch);
  return json_response(200, tenant_json(*call.store.tenants().tenant(call.id)));
}

LocalResponse delete_tenant(AdminCall& call) {
  const auto tenant = call.store.tenants().tenant(call.id);
  if (!tenant) return admin_error(404, "not_found", "No tenant " + call.id);
  if (tenant->deleted_at) return json_response(200, tenant_json(*tenant));
  const bool force = query_flag(call, "force");
  const int live_keys = call.store.tenants().live_key_count(call.id);
  if (live_keys > 0 && !force) {
    return admin_error(409, "tenant_has_keys",
                       "Tenant " + call.id + " has " + std::to_string(live_keys) +
                           " keys that are not revoked; revoke them first or add ?force=true to revoke them "
                           "with the tenant");
  }
  call.store.tenants().delete_tenant(call.id);
  call.store.audit().audit("tenant.delete", call.id, call.actor, call.request_id,
                           json{{"force", force}, {"revoked_keys", live_keys}});
  return json_response(200, tenant_json(*call.store.tenants().tenant(call.id)));
}

}  // namespace gateway::admin
