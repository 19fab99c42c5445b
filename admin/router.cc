// Routes admin requests: matches the route table, checks the admin token, the query parameters
// and the body, and runs the handler as a job on the storage worker.
#include "admin/router.h"

#include <openssl/crypto.h>

#include <sstream>

#include "admin/keys.h"
#include "admin/reports.h"
#include "admin/tenants.h"
#include "server/request_id.h"

namespace gateway::admin {

/// admin/openapi.yaml, embedded by admin/CMakeLists.txt.
extern const char* const kOpenApiYaml;

namespace {

using nlohmann::json;

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream in(path);
  for (std::string part; std::getline(in, part, '/');) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

/// GET /admin/v1/upstream: each upstream target's health, as GET /healthz/upstream shows it.
LocalResponse upstream_targets(AdminCall& call) {
  if (call.upstream_health == nullptr || !*call.upstream_health) {
    return admin_error(404, "not_found", "No upstream plugin reports its targets");
  }
  return (*call.upstream_health)();
}

struct RouteEntry {
  const char* method;
  const char* pattern;  ///< "{id}" matches one path segment
  std::set<std::string> query;
  LocalResponse (*handler)(AdminCall&);
};

/// POST /admin/v1/config/reload: re-reads config.yaml and applies it, or says why not; audited
/// either way with the answer's status and generation or refusal code (never the file's text).
LocalResponse reload_config(AdminCall& call) {
  only_fields(call.body, {});
  if (call.reload == nullptr || !*call.reload) {
    return admin_error(503, "reload_unavailable", "This gateway cannot reload its configuration");
  }
  auto response = (*call.reload)(call.store);
  const auto answer = json::parse(response.body, nullptr, false);
  json details{{"status", response.status}};
  if (answer.contains("generation")) details["generation"] = answer["generation"];
  if (answer.contains("error")) details["code"] = answer["error"].value("code", "");
  call.store.audit().audit("config.reload", "config", call.actor, call.request_id, details);
  return response;
}

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
      {"GET", "/admin/v1/keys/{id}/limits", {}, get_key_limits},
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
      {"GET", "/admin/v1/upstream", {}, upstream_targets},
      {"POST", "/admin/v1/config/reload", {}, reload_config},
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

/// The route serving `method` `path` (null when none), its {id} segment, and whether some route
/// has this path (so that a miss is a 405, not a 404).
struct RouteMatch {
  const RouteEntry* route = nullptr;
  std::string id;
  bool path_known = false;
};

RouteMatch match_route(const std::string& method, const std::string& path) {
  RouteMatch match;
  for (const auto& entry : route_table()) {
    std::string id;
    if (!matches(entry.pattern, path, id)) continue;
    match.path_known = true;
    if (method == entry.method) {
      match.route = &entry;
      match.id = std::move(id);
      break;
    }
  }
  return match;
}

}  // namespace

AdminApi::AdminApi(StorageWorker& storage, const std::vector<AdminToken>& tokens,
                   std::shared_ptr<const ModelCatalog> models, LimitStatus limit_status,
                   AdminFallback fallback, ConfigReload reload, UpstreamHealth upstream_health)
    : storage_(storage),
      settings_(make_settings(tokens, std::move(models))),
      limit_status_(std::move(limit_status)),
      fallback_(std::move(fallback)),
      reload_(std::move(reload)),
      upstream_health_(std::move(upstream_health)) {
  openapi();  // parse the embedded document now, so a broken one fails at start-up
}

std::shared_ptr<const AdminApi::Settings> AdminApi::make_settings(
    const std::vector<AdminToken>& tokens, std::shared_ptr<const ModelCatalog> models) {
  auto settings = std::make_shared<Settings>();
  for (const auto& t : tokens) settings->tokens.push_back({t.label, key_digest(t.token)});
  settings->models = std::move(models);
  return settings;
}

void AdminApi::reconfigure(const std::vector<AdminToken>& tokens,
                           std::shared_ptr<const ModelCatalog> models) {
  auto next = make_settings(tokens, std::move(models));
  std::lock_guard lock(settings_mutex_);
  settings_.swap(next);
}

std::shared_ptr<const AdminApi::Settings> AdminApi::settings() const {
  std::lock_guard lock(settings_mutex_);
  return settings_;
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

std::string AdminApi::authenticate(const HttpRequest& request, const Settings& settings) {
  const auto authorization = find_header(request.headers, "authorization").value_or("");
  if (authorization.size() <= 7 || to_lower(authorization.substr(0, 7)) != "bearer ") return "";
  const std::string digest = key_digest(authorization.substr(7));
  std::string label;
  for (const auto& token : settings.tokens) {  // no early exit: every token costs the same
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
  const RouteMatch match = match_route(request.method, request.path);
  const RouteEntry* route = match.route;
  const std::string id = match.id;
  if (route == nullptr && fallback_) {
    // Not an admin route: a plugin may serve it (with its own authentication), as it is.
    if (auto response = fallback_(request)) {
      answer(*response);
      return;
    }
  }
  auto settings = this->settings();  // the whole request uses one configuration's tokens and catalog
  const std::string actor = authenticate(request, *settings);
  if (actor.empty()) {
    answer(admin_error(401, "invalid_admin_token",
                       "A valid admin token is required: Authorization: Bearer <token>"));
    return;
  }
  if (route == nullptr) {
    answer(match.path_known
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
                     route, id, actor, request_id, answer, settings = std::move(settings)](Storage& store) {
        LocalResponse response;
        try {
          AdminCall call{store, *settings->models, limit_status_, request,          body, id,
                         actor, request_id,        &reload_,      &upstream_health_};
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
