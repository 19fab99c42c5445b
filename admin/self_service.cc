// The caller's own reports: GET /v1/me and GET /v1/me/usage, answered from the storage worker.
#include "admin/self_service.h"

#include "admin/reports.h"
#include "admin/views.h"

namespace gateway::admin {
namespace {

using nlohmann::json;

bool is_self_service_path(const std::string& path) {
  return path == "/v1/me" || path == "/v1/me/usage";
}

/// The caller's usage report; throws std::invalid_argument naming a bad query field.
json own_usage(const HttpRequest& request, const Principal& principal, Storage& store) {
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
  auto report =
      usage_report_json(usage_report(store.database(), filter, parse_group_by(group_by, {"day", "model"})));
  report["key"] = principal.key_id;
  return report;
}

/// The answer to an authenticated self-service request, read on the storage worker.
LocalResponse answer(const HttpRequest& request, const Principal& principal, Storage& store,
                     const LimitStatus& limit_status) {
  try {
    return json_response(200, request.path == "/v1/me/usage" ? own_usage(request, principal, store)
                                                             : me_json(principal, store, limit_status));
  } catch (const std::invalid_argument& e) {
    return openai_error(400, "invalid_request_error", "invalid_field", e.what());
  } catch (const std::exception& e) {
    return openai_error(500, "server_error", "internal_error", e.what());
  }
}

}  // namespace

RouteHook self_service_routes(StorageWorker* storage, LimitStatus limit_status) {
  return [storage, limit_status](const HttpRequest& request, const Principal& principal, const Reply& reply) {
    if (!is_self_service_path(request.path)) return false;
    if (request.method != "GET" && request.method != "HEAD") {
      reply(method_not_allowed("GET, HEAD", "GET"));
    } else if (!principal.authenticated) {
      reply(openai_error(
          401, "invalid_request_error", "invalid_api_key",
          "No API key identifies this request; send your key as 'Authorization: Bearer <key>'."));
    } else if (storage == nullptr) {
      reply(openai_error(503, "server_error", "storage_unavailable", "This gateway keeps no database"));
    } else if (!storage->post([request, principal, reply, limit_status](Storage& store) {
                 reply(answer(request, principal, store, limit_status));
               })) {
      reply(openai_error(503, "server_error", "busy", "The gateway is busy; retry shortly"));
    }
    return true;
  };
}

}  // namespace gateway::admin
