// The checks every admin handler shares: the error shape, the body, query parameters, paging.
#include "admin/call.h"

#include <charconv>

#include "gateway/json_limits.h"

namespace gateway::admin {
namespace {

using nlohmann::json;

constexpr int kMaxPageSize = 200;

}  // namespace

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

std::variant<json, LocalResponse> body_object(const HttpRequest& request) {
  if (request.body.empty()) return json::object();
  auto body = parse_bounded_json(request.body);
  if (body.failure == JsonFailure::TooDeep)
    return admin_error(400, "invalid_json", too_deep_message("The body") + "; send a flatter JSON object");
  if (!body.ok() || !body.value.is_object())
    return admin_error(400, "invalid_json", "The body must be a JSON object");
  return std::move(body.value);
}

void only_fields(const json& object, const std::set<std::string>& allowed, const std::string& hint) {
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

}  // namespace gateway::admin
