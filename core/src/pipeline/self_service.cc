// The caller's own reports: GET /v1/me and GET /v1/me/usage.
#include "pipeline/self_service.h"

namespace gateway {
namespace {

using nlohmann::json;

json optional_time(const std::optional<std::int64_t>& t) {
  return t ? json(*t) : json(nullptr);
}

/// The /v1/me document: from the database for a stored key, from the principal for a key in the
/// configuration.
json describe(const Principal& principal, KeyStore* store) {
  const auto key = store ? store->key(principal.key_id) : std::nullopt;
  const auto tenant = store ? store->tenant(principal.tenant_id) : std::nullopt;
  const auto last_used = store ? last_used_ms(store->database(), principal.key_id) : std::nullopt;
  json key_json{{"id", principal.key_id},
                {"prefix", principal.key_mask},
                {"alias", key ? key->alias : ""},
                {"status", key ? key->status : "active"},
                {"models", principal.allowed_models},
                {"limits", key ? key->limits : json::object()},
                {"metadata", key ? key->metadata : json::object()},
                {"created_at", key ? json(key->created_at) : json(nullptr)},
                {"expires_at", key ? optional_time(key->expires_at) : json(nullptr)},
                {"last_used_at", last_used ? json(*last_used / 1000) : json(nullptr)},
                {"source", key ? "database" : "config"}};
  json tenant_json{{"id", principal.tenant_id},
                   {"name", tenant ? tenant->name : principal.tenant_id},
                   {"status", tenant ? tenant->status : "active"},
                   {"limits", tenant ? tenant->limits : json::object()}};
  return {{"object", "me"},
          {"user", principal.user},
          {"key", std::move(key_json)},
          {"tenant", std::move(tenant_json)}};
}

/// The caller's usage report; throws std::invalid_argument naming a bad query field.
json own_usage(const HttpRequest& request, const Principal& principal, KeyStore& store) {
  std::optional<std::string> from, to;
  std::string group_by = "day";
  for (const auto& [name, value] : request.query) {
    if (name == "from") {
      from = value;
    } else if (name == "to") {
      to = value;
    } else if (name == "group_by") {
      group_by = value;
    } else {
      throw std::invalid_argument(name +
                                  ": is not a query parameter of GET /v1/me/usage (from, to, group_by)");
    }
  }
  UsageFilter filter;
  filter.key_id = principal.key_id;
  filter.range = parse_time_range(from, to);
  auto report = usage_report(store.database(), filter, parse_group_by(group_by, {"day", "model"}));
  report["key"] = principal.key_id;
  return report;
}

}  // namespace

bool is_self_service_path(const std::string& path) {
  return path == "/v1/me" || path == "/v1/me/usage";
}

void serve_self_service(const std::shared_ptr<RequestState>& ctx, GatewayServices& services) {
  const auto& request = ctx->request();
  if (request.method != "GET" && request.method != "HEAD") {
    ctx->respond(method_not_allowed("GET, HEAD", "GET"));
    return;
  }
  if (!ctx->principal().authenticated) {
    ctx->respond(
        openai_error(401, "invalid_request_error", "invalid_api_key",
                     "No API key identifies this request; send your key as 'Authorization: Bearer <key>'."));
    return;
  }
  if (services.storage == nullptr) {
    ctx->respond(openai_error(503, "server_error", "storage_unavailable", "This gateway keeps no database"));
    return;
  }
  const bool usage = request.path == "/v1/me/usage";
  const bool queued = services.storage->post([ctx, usage](KeyStore& store) {
    LocalResponse response;
    try {
      response = json_response(200, usage ? own_usage(ctx->request(), ctx->principal(), store)
                                          : describe(ctx->principal(), &store));
    } catch (const std::invalid_argument& e) {
      response = openai_error(400, "invalid_request_error", "invalid_field", e.what());
    } catch (const std::exception& e) {
      response = openai_error(500, "server_error", "internal_error", e.what());
    }
    ctx->post([ctx, response = std::move(response)]() mutable { ctx->respond(std::move(response)); });
  });
  if (!queued) {
    ctx->respond(openai_error(503, "server_error", "busy", "The gateway is busy; retry shortly"));
  }
}

}  // namespace gateway
