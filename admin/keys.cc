// Admin handlers for API keys; every change is written to the audit log.
#include "admin/keys.h"

#include "admin/views.h"

namespace gateway::admin {
namespace {

using nlohmann::json;

/// Longest grace period of a rotated-out secret (ten years); keeps now + grace from overflowing.
constexpr std::int64_t kMaxGraceSeconds = 10LL * 365 * 86400;

void check_models(const ModelCatalog& catalog, const std::vector<std::string>& models) {
  for (const auto& model : models) {
    if (!catalog.find(model)) throw std::invalid_argument("models: unknown model " + model);
  }
}

std::optional<std::int64_t> future_expiry(const json& object) {
  const auto expires_at = field<std::int64_t>(object, "expires_at");
  if (expires_at && *expires_at <= unix_now())
    throw std::invalid_argument("expires_at: must be in the future (unix seconds)");
  return expires_at;
}

}  // namespace

LocalResponse list_keys(AdminCall& call) {
  const int limit = page_limit(call);
  const auto status = query_or_empty(call, "status");
  if (!status.empty() && status != "active" && status != "disabled" && status != "revoked")
    throw std::invalid_argument("status: must be active, disabled or revoked");
  KeyStore::KeyFilter filter{query_or_empty(call, "tenant"), query_or_empty(call, "user"), status};
  return page_response(
      call.store.keys().keys(filter, {query_or_empty(call, "cursor"), limit}), limit,
      [&](const KeyRecord& k) { return key_json(call.store.database(), k); },
      [](const KeyRecord& k) { return k.id; });
}

LocalResponse create_key(AdminCall& call) {
  const auto body = call.body;
  only_fields(body, {"tenant", "user", "alias", "models", "expires_at", "metadata", "limits"});
  NewKey k;
  k.tenant_id = field<std::string>(body, "tenant").value_or("");
  k.user = field<std::string>(body, "user").value_or("");
  k.alias = field<std::string>(body, "alias").value_or("");
  k.models = field<std::vector<std::string>>(body, "models").value_or(std::vector<std::string>{});
  k.expires_at = future_expiry(body);
  k.metadata = field<json>(body, "metadata").value_or(json::object());
  k.limits = field<json>(body, "limits").value_or(json::object());
  if (k.tenant_id.empty()) return invalid_field("tenant: is required");
  if (k.user.empty()) return invalid_field("user: is required");
  check_models(call.models, k.models);
  const auto tenant = call.store.tenants().tenant(k.tenant_id);
  if (!tenant) return admin_error(404, "not_found", "No tenant " + k.tenant_id);
  if (tenant->deleted_at) return admin_error(409, "conflict", "Tenant " + k.tenant_id + " is deleted");
  const auto created = call.store.keys().create_key(k);
  call.store.audit().audit("key.create", created.key.id, call.actor, call.request_id, body);
  auto out = key_json(call.store.database(), created.key);
  out["key"] = created.secret;  // the only time the secret is ever shown
  return json_response(201, out);
}

LocalResponse get_key(AdminCall& call) {
  const auto key = call.store.keys().key(call.id);
  if (!key) return admin_error(404, "not_found", "No key " + call.id);
  return json_response(200, key_json(call.store.database(), *key));
}

LocalResponse get_key_limits(AdminCall& call) {
  const auto key = call.store.keys().key(call.id);
  if (!key) return admin_error(404, "not_found", "No key " + call.id);
  const auto tenant = call.store.tenants().tenant(key->tenant_id);
  const auto principal =
      principal_of(*key, RateLimits::from_json(tenant ? tenant->limits : nlohmann::json::object()));
  return json_response(200, limits_json(principal, call.limit_status));
}

LocalResponse patch_key(AdminCall& call) {
  auto key = call.store.keys().key(call.id);
  if (!key) return admin_error(404, "not_found", "No key " + call.id);
  if (key->status == "revoked") return admin_error(409, "conflict", "Key " + call.id + " is revoked");
  const auto patch = call.body;
  only_fields(patch, {"alias", "user", "expires_at", "models", "metadata", "limits"},
              "; status changes through POST /admin/v1/keys/{id}/disable|enable, secrets through /rotate");
  json doc{{"alias", key->alias},   {"user", key->user},
           {"models", key->models}, {"metadata", key->metadata},
           {"limits", key->limits}, {"expires_at", key->expires_at ? json(*key->expires_at) : json(nullptr)}};
  doc.merge_patch(patch);
  key->alias = field<std::string>(doc, "alias").value_or("");
  key->user = field<std::string>(doc, "user").value_or("");
  key->models = field<std::vector<std::string>>(doc, "models").value_or(std::vector<std::string>{});
  key->models_unreadable = key->models_unreadable && !patch.contains("models");
  key->metadata = field<json>(doc, "metadata").value_or(json::object());
  key->limits = field<json>(doc, "limits").value_or(json::object());
  key->expires_at = patch.contains("expires_at") ? future_expiry(doc) : key->expires_at;
  if (key->user.empty()) return invalid_field("user: must not be empty");
  check_models(call.models, key->models);
  call.store.keys().update_key(*key);
  call.store.audit().audit("key.update", key->id, call.actor, call.request_id, patch);
  return json_response(200, key_json(call.store.database(), *call.store.keys().key(call.id)));
}

LocalResponse delete_key(AdminCall& call) {
  const auto key = call.store.keys().key(call.id);
  if (!key) return admin_error(404, "not_found", "No key " + call.id);
  // Idempotent, like DELETE of a tenant: revoking again would move revoked_at and audit twice.
  if (key->status == "revoked") return json_response(200, key_json(call.store.database(), *key));
  if (!call.store.keys().revoke_key(call.id)) return admin_error(404, "not_found", "No key " + call.id);
  call.store.audit().audit("key.delete", call.id, call.actor, call.request_id);
  return json_response(200, key_json(call.store.database(), *call.store.keys().key(call.id)));
}

namespace {

/// Moves a key between active and disabled; `action` is "disable" or "enable".
LocalResponse set_key_status(AdminCall& call, const std::string& action) {
  if (!call.store.keys().key(call.id)) return admin_error(404, "not_found", "No key " + call.id);
  if (!call.store.keys().set_key_status(call.id, action == "disable" ? "disabled" : "active"))
    return admin_error(409, "conflict", "Key " + call.id + " is revoked");
  call.store.audit().audit("key." + action, call.id, call.actor, call.request_id);
  return json_response(200, key_json(call.store.database(), *call.store.keys().key(call.id)));
}

}  // namespace

LocalResponse disable_key(AdminCall& call) {
  return set_key_status(call, "disable");
}

LocalResponse enable_key(AdminCall& call) {
  return set_key_status(call, "enable");
}

LocalResponse rotate_key(AdminCall& call) {
  const auto body = call.body;
  only_fields(body, {"grace_seconds"});
  const auto grace = field<std::int64_t>(body, "grace_seconds").value_or(0);
  if (grace > kMaxGraceSeconds)
    throw std::invalid_argument("grace_seconds: must be at most " + std::to_string(kMaxGraceSeconds));
  if (!call.store.keys().key(call.id)) return admin_error(404, "not_found", "No key " + call.id);
  const auto secret = call.store.keys().rotate_key(call.id, grace);
  if (!secret) return admin_error(409, "conflict", "Key " + call.id + " is revoked");
  call.store.audit().audit("key.rotate", call.id, call.actor, call.request_id,
                           json{{"grace_seconds", grace}});
  auto out = key_json(call.store.database(), *call.store.keys().key(call.id));
  out["key"] = *secret;  // the new secret, shown this once
  return json_response(200, out);
}

}  // namespace gateway::admin
