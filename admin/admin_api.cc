// The admin REST API: routing, admin token checks and the tenant, key and report handlers.
#include "admin/admin_api.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <sstream>
#include <type_traits>
#include <variant>

#include "gateway/json_limits.h"
#include "server/request_id.h"

namespace gateway::admin {

/// admin/openapi.yaml, embedded by admin/CMakeLists.txt.
extern const char* const kOpenApiYaml;

namespace {

using nlohmann::json;

constexpr int kMaxPageSize = 200;
/// Longest grace period of a rotated-out secret (ten years); keeps now + grace from overflowing.
constexpr std::int64_t kMaxGraceSeconds = 10LL * 365 * 86400;

LocalResponse admin_error(int status, const std::string& code, const std::string& message) {
  const std::string type = status == 401   ? "authentication_error"
                           : status >= 500 ? "server_error"
                           : status == 404 ? "not_found"
                                           : "invalid_request_error";
  return json_response(status, {{"error", {{"message", message}, {"type", type}, {"code", code}}}});
}

LocalResponse invalid_field(const std::string& message) {
  return admin_error(400, "invalid_field", message);
}

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

/// A key as the API shows it (never its secret), with when it was last used.
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

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream in(path);
  for (std::string part; std::getline(in, part, '/');) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

/// The request body as a JSON object; an empty body is an empty object.
std::variant<json, LocalResponse> body_object(const HttpRequest& request) {
  if (request.body.empty()) return json::object();
  auto body = parse_bounded_json(request.body);
  if (body.failure == JsonFailure::TooDeep)
    return admin_error(400, "invalid_json", too_deep_message("The body") + "; send a flatter JSON object");
  if (!body.ok() || !body.value.is_object())
    return admin_error(400, "invalid_json", "The body must be a JSON object");
  return std::move(body.value);
}

/// Reads one typed field of a JSON object; null and absent are nullopt. Throws
/// std::invalid_argument naming the field for the wrong type (for integers also a fraction or a
/// boolean, which nlohmann::json would otherwise convert silently).
template <typename T>
std::optional<T> field(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (!it->is_number_integer()) throw std::invalid_argument(std::string(name) + ": must be an integer");
  }
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw std::invalid_argument(std::string(name) + ": has the wrong type");
  }
}

/// Rejects fields other than `allowed`, naming the first.
void only_fields(const json& object, const std::set<std::string>& allowed, const std::string& hint = "") {
  for (const auto& [name, value] : object.items()) {
    if (!allowed.count(name))
      throw std::invalid_argument(name + ": is not a field that can be set here" + hint);
  }
}

std::optional<std::string> query(const AdminCall& call, const char* name) {
  const auto it = call.request.query.find(name);
  if (it == call.request.query.end()) return std::nullopt;
  return it->second;
}

std::string query_or_empty(const AdminCall& call, const char* name) {
  return query(call, name).value_or("");
}

bool query_flag(const AdminCall& call, const char* name) {
  const auto value = query(call, name);
  if (!value) return false;
  if (*value == "true" || *value == "1") return true;
  if (*value == "false" || *value == "0") return false;
  throw std::invalid_argument(std::string(name) + ": must be true or false");
}

int page_limit(const AdminCall& call) {
  const auto text = query(call, "limit");
  if (!text) return 50;
  int limit = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), limit);
  if (ec != std::errc() || end != text->data() + text->size() || limit < 1 || limit > kMaxPageSize)
    throw std::invalid_argument("limit: must be an integer from 1 to " + std::to_string(kMaxPageSize));
  return limit;
}

/// A page of records as {"object":"list","data","has_more","next_cursor"}; `rows` holds up to
/// limit + 1 records, the extra one only telling that more follow.
template <typename Record, typename ToJson, typename CursorOf>
LocalResponse page_response(std::vector<Record> rows, int limit, ToJson to_json, CursorOf cursor_of) {
  const bool more = static_cast<int>(rows.size()) > limit;
  if (more) rows.resize(static_cast<std::size_t>(limit));
  json data = json::array();
  for (const auto& row : rows) data.push_back(to_json(row));
  return json_response(200, {{"object", "list"},
                             {"data", std::move(data)},
                             {"has_more", more},
                             {"next_cursor", more ? json(cursor_of(rows.back())) : json(nullptr)}});
}

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

/// The time range, tenant, key and model filters of a usage query.
UsageFilter usage_filter(const AdminCall& call) {
  UsageFilter filter;
  filter.tenant_id = query_or_empty(call, "tenant");
  filter.key_id = query_or_empty(call, "key");
  filter.model = query_or_empty(call, "model");
  filter.range = parse_time_range(query(call, "from"), query(call, "to"));
  return filter;
}

// ---- tenants ----

LocalResponse list_tenants(AdminCall& call) {
  const int limit = page_limit(call);
  return page_response(
      call.store.tenants({query_or_empty(call, "cursor"), limit}, query_flag(call, "include_deleted")), limit,
      tenant_json, [](const TenantRecord& t) { return t.id; });
}

LocalResponse create_tenant(AdminCall& call) {
  const auto body = call.body;
  only_fields(body, {"name", "metadata", "limits"});
  const auto name = field<std::string>(body, "name");
  if (!name || name->empty()) return invalid_field("name: is required");
  const auto tenant = call.store.create_tenant(*name, field<json>(body, "metadata").value_or(json::object()),
                                               field<json>(body, "limits").value_or(json::object()));
  call.store.audit("tenant.create", tenant.id, call.actor, call.request_id, body);
  return json_response(201, tenant_json(tenant));
}

LocalResponse get_tenant(AdminCall& call) {
  const auto tenant = call.store.tenant(call.id);
  if (!tenant) return admin_error(404, "not_found", "No tenant " + call.id);
  return json_response(200, tenant_json(*tenant));
}

LocalResponse patch_tenant(AdminCall& call) {
  auto tenant = call.store.tenant(call.id);
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
  call.store.update_tenant(*tenant);
  call.store.audit("tenant.update", tenant->id, call.actor, call.request_id, patch);
  return json_response(200, tenant_json(*call.store.tenant(call.id)));
}

LocalResponse delete_tenant(AdminCall& call) {
  const auto tenant = call.store.tenant(call.id);
  if (!tenant) return admin_error(404, "not_found", "No tenant " + call.id);
  if (tenant->deleted_at) return json_response(200, tenant_json(*tenant));
  const bool force = query_flag(call, "force");
  const int live_keys = call.store.live_key_count(call.id);
  if (live_keys > 0 && !force) {
    return admin_error(409, "tenant_has_keys",
                       "Tenant " + call.id + " has " + std::to_string(live_keys) +
                           " keys that are not revoked; revoke them first or add ?force=true to revoke them "
                           "with the tenant");
  }
  call.store.delete_tenant(call.id);
  call.store.audit("tenant.delete", call.id, call.actor, call.request_id,
                   json{{"force", force}, {"revoked_keys", live_keys}});
  return json_response(200, tenant_json(*call.store.tenant(call.id)));
}

// ---- keys ----

LocalResponse list_keys(AdminCall& call) {
  const int limit = page_limit(call);
  const auto status = query_or_empty(call, "status");
  if (!status.empty() && status != "active" && status != "disabled" && status != "revoked")
    throw std::invalid_argument("status: must be active, disabled or revoked");
  KeyStore::KeyFilter filter{query_or_empty(call, "tenant"), query_or_empty(call, "user"), status};
  return page_response(
      call.store.keys(filter, {query_or_empty(call, "cursor"), limit}), limit,
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
  const auto tenant = call.store.tenant(k.tenant_id);
  if (!tenant) return admin_error(404, "not_found", "No tenant " + k.tenant_id);
  if (tenant->deleted_at) return admin_error(409, "conflict", "Tenant " + k.tenant_id + " is deleted");
  const auto created = call.store.create_key(k);
  call.store.audit("key.create", created.key.id, call.actor, call.request_id, body);
  auto out = key_json(call.store.database(), created.key);
  out["key"] = created.secret;  // the only time the secret is ever shown
  return json_response(201, out);
}

LocalResponse get_key(AdminCall& call) {
  const auto key = call.store.key(call.id);
  if (!key) return admin_error(404, "not_found", "No key " + call.id);
  return json_response(200, key_json(call.store.database(), *key));
}

LocalResponse patch_key(AdminCall& call) {
  auto key = call.store.key(call.id);
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
  call.store.update_key(*key);
  call.store.audit("key.update", key->id, call.actor, call.request_id, patch);
  return json_response(200, key_json(call.store.database(), *call.store.key(call.id)));
}

LocalResponse delete_key(AdminCall& call) {
  const auto key = call.store.key(call.id);
  if (!key) return admin_error(404, "not_found", "No key " + call.id);
  // Idempotent, like DELETE of a tenant: revoking again would move revoked_at and audit twice.
  if (key->status == "revoked") return json_response(200, key_json(call.store.database(), *key));
  if (!call.store.revoke_key(call.id)) return admin_error(404, "not_found", "No key " + call.id);
  call.store.audit("key.delete", call.id, call.actor, call.request_id);
  return json_response(200, key_json(call.store.database(), *call.store.key(call.id)));
}

LocalResponse set_key_status(AdminCall& call, const std::string& action) {
  if (!call.store.key(call.id)) return admin_error(404, "not_found", "No key " + call.id);
  if (!call.store.set_key_status(call.id, action == "disable" ? "disabled" : "active"))
    return admin_error(409, "conflict", "Key " + call.id + " is revoked");
  call.store.audit("key." + action, call.id, call.actor, call.request_id);
  return json_response(200, key_json(call.store.database(), *call.store.key(call.id)));
}

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
  if (!call.store.key(call.id)) return admin_error(404, "not_found", "No key " + call.id);
  const auto secret = call.store.rotate_key(call.id, grace);
  if (!secret) return admin_error(409, "conflict", "Key " + call.id + " is revoked");
  call.store.audit("key.rotate", call.id, call.actor, call.request_id, json{{"grace_seconds", grace}});
  auto out = key_json(call.store.database(), *call.store.key(call.id));
  out["key"] = *secret;  // the new secret, shown this once
  return json_response(200, out);
}

// ---- usage, requests, audit ----

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

struct RouteEntry {
  const char* method;
  const char* pattern;  ///< "{id}" matches one path segment
  std::set<std::string> query;
  LocalResponse (*handler)(AdminCall&);
};

const std::vector<RouteEntry>& route_table() {
  static const std::vector<RouteEntry> table{
      {"GET", "/admin/v1/tenants", {"limit", "cursor", "include_deleted"}, list_tenants},
      {"POST", "/admin/v1/tenants", {}, create_tenant},
      {"GET", "/admin/v1/tenants/{id}", {}, get_tenant},
      {"PATCH", "/admin/v1/tenants/{id}", {}, patch_tenant},
      {"DELETE", "/admin/v1/tenants/{id}", {"force"}, delete_tenant},
      {"GET", "/admin/v1/keys", {"tenant", "user", "status", "limit", "cursor"}, list_keys},
      {"POST", "/admin/v1/keys", {}, create_key},
      {"GET", "/admin/v1/keys/{id}", {}, get_key},
      {"PATCH", "/admin/v1/keys/{id}", {}, patch_key},
      {"DELETE", "/admin/v1/keys/{id}", {}, delete_key},
      {"POST", "/admin/v1/keys/{id}/disable", {}, disable_key},
      {"POST", "/admin/v1/keys/{id}/enable", {}, enable_key},
      {"POST", "/admin/v1/keys/{id}/rotate", {}, rotate_key},
      {"GET", "/admin/v1/usage", {"tenant", "key", "model", "from", "to", "group_by"}, usage},
      {"GET",
       "/admin/v1/requests",
       {"tenant", "key", "user", "model", "outcome", "from", "to", "limit", "cursor"},
       requests},
      {"GET", "/admin/v1/audit", {"limit", "cursor"}, audit},
  };
  return table;
}

/// Whether `path` fits `pattern`; fills `id` from a "{id}" segment.
bool matches(const std::string& pattern, const std::string& path, std::string& id) {
  const auto want = split_path(pattern), have = split_path(path);
  if (want.size() != have.size()) return false;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (want[i] == "{id}") {
      id = have[i];
    } else if (want[i] != have[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

AdminApi::AdminApi(StorageWorker& storage, const std::vector<AdminToken>& tokens, const ModelCatalog& models)
    : storage_(storage), models_(models) {
  for (const auto& t : tokens) tokens_.push_back({t.label, key_digest(t.token)});
  openapi();  // parse the embedded document now, so a broken one fails at start-up
}

std::vector<std::string> AdminApi::routes() {
  std::vector<std::string> out;
  for (const auto& [route, query] : route_queries()) out.push_back(route);
  return out;
}

std::vector<std::pair<std::string, std::set<std::string>>> AdminApi::route_queries() {
  std::vector<std::pair<std::string, std::set<std::string>>> out;
  for (const auto& r : route_table()) out.emplace_back(std::string(r.method) + " " + r.pattern, r.query);
  return out;
}

const nlohmann::json& AdminApi::openapi() {
  static const json document = yaml_to_json(kOpenApiYaml);
  return document;
}

std::string AdminApi::authenticate(const HttpRequest& request) const {
  const auto authorization = find_header(request.headers, "authorization").value_or("");
  if (authorization.size() <= 7 || to_lower(authorization.substr(0, 7)) != "bearer ") return "";
  const std::string digest = key_digest(authorization.substr(7));
  std::string label;
  for (const auto& token : tokens_) {  // no early exit: every token costs the same
    if (CRYPTO_memcmp(digest.data(), token.digest.data(), digest.size()) == 0) label = token.label;
  }
  return label;
}

void AdminApi::handle(const std::shared_ptr<Connection>& connection, HttpRequest request) {
  const std::string request_id = choose_request_id(request.headers);
  const bool keep_alive = wants_keep_alive(request);
  auto answer = [connection, request_id, keep_alive](const LocalResponse& response) {
    Headers headers = response.headers;
    set_header(headers, "X-Request-ID", request_id);
    connection->respond(response.status, headers, response.body, keep_alive);
  };
  if (request.path == "/admin/openapi.json") {  // public: the document holds no secrets
    answer(request.method == "GET" ? json_response(200, openapi())
                                   : admin_error(405, "method_not_allowed", "Use GET"));
    return;
  }
  const std::string actor = authenticate(request);
  if (actor.empty()) {
    answer(admin_error(401, "invalid_admin_token",
                       "A valid admin token is required: Authorization: Bearer <token>"));
    return;
  }
  const RouteEntry* route = nullptr;
  std::string id;
  bool path_known = false;
  for (const auto& entry : route_table()) {
    if (!matches(entry.pattern, request.path, id)) continue;
    path_known = true;
    if (request.method == entry.method) {
      route = &entry;
      break;
    }
  }
  if (route == nullptr) {
    answer(path_known
               ? admin_error(405, "method_not_allowed", request.method + " is not allowed on " + request.path)
               : admin_error(404, "not_found", "Unknown admin route " + request.method + " " + request.path));
    return;
  }
  for (const auto& [name, value] : request.query) {
    if (!route->query.count(name)) {
      answer(invalid_field(name + ": is not a query parameter of " + route->method + " " + route->pattern));
      return;
    }
  }
  auto body = body_object(request);
  if (auto* error = std::get_if<LocalResponse>(&body)) {
    answer(*error);
    return;
  }
  const bool queued =
      storage_.post([this, connection, request = std::move(request), body = std::get<json>(std::move(body)),
                     route, id, actor, request_id, answer](KeyStore& store) {
        LocalResponse response;
        try {
          AdminCall call{store, models_, request, body, id, actor, request_id};
          response = route->handler(call);
        } catch (const std::invalid_argument& e) {
          response = invalid_field(e.what());
        } catch (const std::exception& e) {
          response = admin_error(500, "internal_error", e.what());
        }
        connection->post([answer, response] { answer(response); });
      });
  if (!queued) answer(admin_error(503, "busy", "The storage worker is busy or stopping; retry shortly"));
}

}  // namespace gateway::admin
