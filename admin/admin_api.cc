#include "admin/admin_api.h"

#include <openssl/crypto.h>

#include <variant>

#include "pipeline/gateway_app.h"

namespace gateway::admin {
namespace {

using nlohmann::json;

LocalResponse admin_error(int status, const std::string& code, const std::string& message) {
  const std::string type = status == 401   ? "authentication_error"
                           : status == 404 ? "not_found"
                                           : "invalid_request_error";
  return json_response(status, {{"error", {{"message", message}, {"type", type}, {"code", code}}}});
}

json tenant_json(const TenantRecord& t) {
  return {{"id", t.id},         {"object", "tenant"},     {"name", t.name},
          {"status", t.status}, {"metadata", t.metadata}, {"created_at", t.created_at}};
}

json key_json(const KeyRecord& k) {
  return {{"id", k.id},
          {"object", "api_key"},
          {"tenant", k.tenant_id},
          {"user", k.user},
          {"alias", k.alias},
          {"prefix", k.prefix},
          {"status", k.status},
          {"models", k.models},
          {"metadata", k.metadata},
          {"created_at", k.created_at},
          {"expires_at", k.expires_at ? json(*k.expires_at) : json(nullptr)}};
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (pos < path.size()) {
    const auto next = path.find('/', pos);
    const auto part = path.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    if (!part.empty()) parts.push_back(part);
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  return parts;
}

/// Reads the fields of a JSON object body; the first problem becomes a 400 in error().
class BodyReader {
 public:
  explicit BodyReader(const HttpRequest& request) {
    if (request.body.empty()) return;
    body_ = json::parse(request.body, nullptr, false);
    if (body_.is_discarded() || !body_.is_object()) {
      body_ = json::object();
      error_ = admin_error(400, "invalid_json", "The body must be a JSON object");
    }
  }
  template <typename T>
  std::optional<T> get(const char* name) {
    if (error_ || !body_.contains(name) || body_[name].is_null()) return std::nullopt;
    try {
      return body_[name].get<T>();
    } catch (const json::exception&) {
      error_ = admin_error(400, "invalid_field", std::string("'") + name + "' has the wrong type");
      return std::nullopt;
    }
  }
  const std::optional<LocalResponse>& error() const { return error_; }

 private:
  json body_ = json::object();
  std::optional<LocalResponse> error_;
};

}  // namespace

AdminApi::AdminApi(KeyStore& store, const std::string& token)
    : store_(store), token_digest_(key_digest(token)), worker_([this] { run(); }) {}

AdminApi::~AdminApi() {
  stop();
}

void AdminApi::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (worker_.joinable()) worker_.join();
}

void AdminApi::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

void AdminApi::handle(const std::shared_ptr<Connection>& connection, HttpRequest request) {
  const std::string request_id = choose_request_id(request.headers);
  const bool keep_alive =
      !(find_header(request.headers, "connection") == std::optional<std::string>("close"));
  auto answer = [connection, request_id, keep_alive](const LocalResponse& response) {
    Headers headers = response.headers;
    set_header(headers, "X-Request-ID", request_id);
    connection->respond(response.status, headers, response.body, keep_alive);
  };
  const auto authorization = find_header(request.headers, "authorization").value_or("");
  const std::string presented =
      to_lower(authorization.substr(0, 7)) == "bearer " ? authorization.substr(7) : "";
  const std::string digest = key_digest(presented);
  if (presented.empty() || CRYPTO_memcmp(digest.data(), token_digest_.data(), digest.size()) != 0) {
    answer(admin_error(401, "invalid_admin_token",
                       "A valid admin token is required: Authorization: Bearer <token>"));
    return;
  }
  std::lock_guard lock(mutex_);
  jobs_.push_back([this, connection, request = std::move(request), request_id, answer] {
    LocalResponse response;
    try {
      response = route(request, request_id);
    } catch (const std::invalid_argument& e) {
      response = admin_error(400, "invalid_field", e.what());
    } catch (const std::exception& e) {
      response = admin_error(500, "internal_error", e.what());
    }
    connection->post([answer, response] { answer(response); });
  });
  wake_.notify_one();
}

LocalResponse AdminApi::route(const HttpRequest& request, const std::string& request_id) {
  const auto parts = split_path(request.path);
  if (parts.size() >= 3 && parts[0] == "admin" && parts[1] == "v1") {
    if (parts[2] == "tenants") return tenants(request, parts, request_id);
    if (parts[2] == "keys") return keys(request, parts, request_id);
  }
  return admin_error(404, "not_found", "Unknown admin route " + request.method + " " + request.path);
}

LocalResponse AdminApi::tenants(const HttpRequest& request, const std::vector<std::string>& parts,
                                const std::string& request_id) {
  if (parts.size() == 3 && request.method == "GET") {
    json data = json::array();
    for (const auto& t : store_.tenants()) data.push_back(tenant_json(t));
    return json_response(200, {{"object", "list"}, {"data", data}});
  }
  if (parts.size() == 3 && request.method == "POST") {
    BodyReader body(request);
    const auto name = body.get<std::string>("name");
    const auto metadata = body.get<json>("metadata");
    if (body.error()) return *body.error();
    if (!name || name->empty()) return admin_error(400, "invalid_field", "'name' is required");
    const auto tenant = store_.create_tenant(*name, metadata.value_or(json::object()));
    store_.audit("tenant.create", tenant.id, "admin", request_id);
    return json_response(201, tenant_json(tenant));
  }
  if (parts.size() == 4 && request.method == "PATCH") {
    BodyReader body(request);
    const auto status = body.get<std::string>("status");
    if (body.error()) return *body.error();
    if (!store_.tenant(parts[3])) return admin_error(404, "not_found", "No tenant " + parts[3]);
    if (status) {
      store_.set_tenant_status(parts[3], *status);
      store_.audit("tenant.update", parts[3], "admin", request_id);
    }
    return json_response(200, tenant_json(*store_.tenant(parts[3])));
  }
  if (parts.size() == 4 && request.method == "GET") {
    const auto tenant = store_.tenant(parts[3]);
    if (!tenant) return admin_error(404, "not_found", "No tenant " + parts[3]);
    return json_response(200, tenant_json(*tenant));
  }
  return admin_error(405, "method_not_allowed", request.method + " is not allowed on " + request.path);
}

LocalResponse AdminApi::keys(const HttpRequest& request, const std::vector<std::string>& parts,
                             const std::string& request_id) {
  if (parts.size() == 3 && request.method == "GET") {
    json data = json::array();
    const auto filter = [&](const char* name, const std::string& value) {
      const auto it = request.query.find(name);
      return it == request.query.end() || it->second == value;
    };
    for (const auto& k : store_.keys()) {
      if (filter("tenant", k.tenant_id) && filter("user", k.user) && filter("status", k.status)) {
        data.push_back(key_json(k));
      }
    }
    return json_response(200, {{"object", "list"}, {"data", data}});
  }
  if (parts.size() == 3 && request.method == "POST") {
    BodyReader body(request);
    NewKey k;
    k.tenant_id = body.get<std::string>("tenant").value_or("");
    k.user = body.get<std::string>("user").value_or("");
    k.alias = body.get<std::string>("alias").value_or("");
    k.models = body.get<std::vector<std::string>>("models").value_or(std::vector<std::string>{});
    k.expires_at = body.get<std::int64_t>("expires_at");
    k.metadata = body.get<json>("metadata").value_or(json::object());
    if (body.error()) return *body.error();
    if (k.tenant_id.empty()) return admin_error(400, "invalid_field", "'tenant' is required");
    if (!store_.tenant(k.tenant_id)) return admin_error(404, "not_found", "No tenant " + k.tenant_id);
    const auto created = store_.create_key(k);
    store_.audit("key.create", created.key.id, "admin", request_id);
    auto out = key_json(created.key);
    out["key"] = created.secret;  // the only time the secret is ever shown
    return json_response(201, out);
  }
  if (parts.size() < 4)
    return admin_error(405, "method_not_allowed", request.method + " is not allowed here");
  const std::string& id = parts[3];
  if (!store_.key(id)) return admin_error(404, "not_found", "No key " + id);
  if (parts.size() == 4 && request.method == "GET") return json_response(200, key_json(*store_.key(id)));
  if (parts.size() == 4 && request.method == "DELETE") {
    store_.revoke_key(id);
    store_.audit("key.delete", id, "admin", request_id);
    return json_response(200, key_json(*store_.key(id)));
  }
  if (parts.size() == 5 && request.method == "POST" && parts[4] == "rotate") {
    BodyReader body(request);
    const auto grace = body.get<std::int64_t>("grace_seconds").value_or(0);
    if (body.error()) return *body.error();
    const auto secret = store_.rotate_key(id, grace);
    if (!secret) return admin_error(409, "conflict", "Key " + id + " is revoked");
    store_.audit("key.rotate", id, "admin", request_id);
    auto out = key_json(*store_.key(id));
    out["key"] = *secret;  // the new secret, shown this once
    return json_response(200, out);
  }
  if (parts.size() == 5 && request.method == "POST" && (parts[4] == "disable" || parts[4] == "enable")) {
    if (!store_.set_key_status(id, parts[4] == "disable" ? "disabled" : "active")) {
      return admin_error(409, "conflict", "Key " + id + " is revoked");
    }
    store_.audit("key." + parts[4], id, "admin", request_id);
    return json_response(200, key_json(*store_.key(id)));
  }
  return admin_error(405, "method_not_allowed", request.method + " is not allowed on " + request.path);
}

}  // namespace gateway::admin
