// The admin REST API's router (/admin/v1): the route table, admin token checks and dispatch to
// the tenant, key and report handlers, on its own listener. Requests are authenticated and routed on the
// admin listener's reactor; every database call runs as a job on the storage worker, and the answer is posted
// back to the connection's reactor.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "admin/call.h"
#include "config/config.h"
#include "server/http_server.h"
#include "storage/storage_worker.h"

namespace gateway::admin {

class AdminApi : public RequestHandler {
 public:
  /// `tokens` must not be empty; `models` checks the models a key may use; `limit_status`
  /// reports a key's limits; `fallback` may serve requests no admin route matches (method and
  /// path), before the admin token is checked; without an answer they get the usual 401, 404
  /// or 405. `reload` serves POST /admin/v1/config/reload (without it: 503); `upstream_health`
  /// answers GET /admin/v1/upstream (404 without it).
  AdminApi(StorageWorker& storage, const std::vector<AdminToken>& tokens,
           std::shared_ptr<const ModelCatalog> models, LimitStatus limit_status,
           AdminFallback fallback = nullptr, ConfigReload reload = nullptr,
           UpstreamHealth upstream_health = nullptr);
  void handle(const std::shared_ptr<Connection>& connection, HttpRequest request) override;

  /// Switches to a reloaded configuration's tokens (not empty) and catalog; requests already
  /// authenticated finish with the ones they started with. Any thread.
  void reconfigure(const std::vector<AdminToken>& tokens, std::shared_ptr<const ModelCatalog> models);

  /// Every route as "METHOD /admin/v1/…/{id}", in the order they are matched.
  static std::vector<std::string> routes();
  /// The query parameters each route accepts (any other is refused with 400), as
  /// ("METHOD /admin/v1/…/{id}", names), in the order of routes(). For checking openapi.yaml.
  static std::vector<std::pair<std::string, std::set<std::string>>> route_queries();
  /// admin/openapi.yaml, compiled into the binary, as JSON.
  static const nlohmann::json& openapi();

 private:
  struct Token {
    std::string label;
    std::string digest;
  };
  /// What a reload may change, swapped as a whole.
  struct Settings {
    std::vector<Token> tokens;
    std::shared_ptr<const ModelCatalog> models;
  };
  static std::shared_ptr<const Settings> make_settings(const std::vector<AdminToken>& tokens,
                                                       std::shared_ptr<const ModelCatalog> models);
  std::shared_ptr<const Settings> settings() const;
  /// The label of the admin token `request` presents, or empty.
  static std::string authenticate(const HttpRequest& request, const Settings& settings);

  StorageWorker& storage_;
  mutable std::mutex settings_mutex_;
  std::shared_ptr<const Settings> settings_;
  LimitStatus limit_status_;
  AdminFallback fallback_;
  ConfigReload reload_;
  UpstreamHealth upstream_health_;
};

}  // namespace gateway::admin
