// One admin request on its way through a route handler, and the checks every handler shares:
// typed body fields, query parameters, paging and the admin error shape.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "config/config.h"
#include "storage/storage.h"

namespace gateway::admin {

/// The state of the limits that apply to a caller (remaining values, reset times), as the
/// rate-limit plugin reports it; null when no plugin enforces limits. Any thread.
using LimitStatus = std::function<nlohmann::json(const Principal&)>;

/// Serves a request the admin API has no route for (the plugins' admin-listener phase, such as
/// GET /metrics); nullopt when nothing claims it. Called before the admin token check.
using AdminFallback = std::function<std::optional<LocalResponse>(const HttpRequest&)>;

/// The upstream targets' state as GET /admin/v1/upstream answers it. Any thread.
using UpstreamHealth = std::function<LocalResponse()>;

/// Reloads config.yaml (POST /admin/v1/config/reload) and answers with the result; runs on the
/// storage worker with its Storage.
using ConfigReload = std::function<LocalResponse(Storage&)>;

/// One authenticated admin request on its way through a route handler.
struct AdminCall {
  Storage& store;
  const ModelCatalog& models;
  const LimitStatus& limit_status;
  const HttpRequest& request;
  const nlohmann::json& body;                       ///< the request body, a JSON object ({} when empty)
  std::string id;                                   ///< the {id} path segment, if the route has one
  std::string actor;                                ///< label of the admin token used
  std::string request_id;                           ///< for the audit log
  const ConfigReload* reload = nullptr;             ///< null or empty: this gateway cannot reload
  const UpstreamHealth* upstream_health = nullptr;  ///< null or empty: no upstream view
};

/// The admin API's error answer {"error":{"message","type","code"}}; the type follows the status.
LocalResponse admin_error(int status, const std::string& code, const std::string& message);

/// A 400 `invalid_field` naming the field in `message`.
LocalResponse invalid_field(const std::string& message);

/// The request body as a JSON object; an empty body is an empty object.
std::variant<nlohmann::json, LocalResponse> body_object(const HttpRequest& request);

/// Reads one typed field of a JSON object; null and absent are nullopt. Throws
/// std::invalid_argument naming the field for the wrong type (for integers also a fraction or a
/// boolean, which nlohmann::json would otherwise convert silently).
template <typename T>
std::optional<T> field(const nlohmann::json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (!it->is_number_integer()) throw std::invalid_argument(std::string(name) + ": must be an integer");
  }
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw std::invalid_argument(std::string(name) + ": has the wrong type");
  }
}

/// Rejects fields other than `allowed`, naming the first.
void only_fields(const nlohmann::json& object, const std::set<std::string>& allowed,
                 const std::string& hint = "");

/// A query parameter, if present.
std::optional<std::string> query(const AdminCall& call, const char* name);
/// A query parameter, or empty.
std::string query_or_empty(const AdminCall& call, const char* name);
/// A true/false (or 1/0) query parameter; absent is false.
bool query_flag(const AdminCall& call, const char* name);
/// The `limit` query parameter: 1 to 200, 50 when absent.
int page_limit(const AdminCall& call);

/// A page of records as {"object":"list","data","has_more","next_cursor"}; `rows` holds up to
/// limit + 1 records, the extra one only telling that more follow.
template <typename Record, typename ToJson, typename CursorOf>
LocalResponse page_response(std::vector<Record> rows, int limit, ToJson to_json, CursorOf cursor_of) {
  const bool more = static_cast<int>(rows.size()) > limit;
  if (more) rows.resize(static_cast<std::size_t>(limit));
  nlohmann::json data = nlohmann::json::array();
  for (const auto& row : rows) data.push_back(to_json(row));
  return json_response(
      200, {{"object", "list"},
            {"data", std::move(data)},
            {"has_more", more},
            {"next_cursor", more ? nlohmann::json(cursor_of(rows.back())) : nlohmann::json(nullptr)}});
}

}  // namespace gateway::admin
