// The admin REST API (/admin/v1): tenants and keys, on its own listener, behind an admin token.
// Requests are parsed on the admin listener's reactor; every database call runs on one admin
// worker thread, and the answer is posted back to the connection's reactor.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "server/http_server.h"
#include "storage/key_store.h"

namespace gateway::admin {

class AdminApi : public RequestHandler {
 public:
  /// `token` must not be empty.
  AdminApi(KeyStore& store, const std::string& token);
  ~AdminApi() override;
  void handle(const std::shared_ptr<Connection>& connection, HttpRequest request) override;
  /// Finishes queued work and stops the worker.
  void stop();

  /// Answers one authenticated admin request (worker thread; public for tests).
  LocalResponse route(const HttpRequest& request, const std::string& request_id);

 private:
  void run();
  LocalResponse tenants(const HttpRequest& request, const std::vector<std::string>& parts,
                        const std::string& request_id);
  LocalResponse keys(const HttpRequest& request, const std::vector<std::string>& parts,
                     const std::string& request_id);

  KeyStore& store_;
  std::string token_digest_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace gateway::admin
