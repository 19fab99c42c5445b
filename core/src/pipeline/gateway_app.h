// Routes each request through the plugin chain to the gateway's own endpoints or the upstream.
#pragma once

#include "pipeline/request_state.h"
#include "server/http_server.h"

namespace gateway {

class GatewayApp : public RequestHandler {
 public:
  explicit GatewayApp(GatewayServices& services) : services_(services) {}
  void handle(const std::shared_ptr<Connection>& connection, HttpRequest request) override;
  /// Answers with the server's refusal, with the gateway's headers, an access-log line and, on
  /// the chat route, a usage row.
  void refuse(const std::shared_ptr<Connection>& connection, HttpRequest head,
              const RequestError& error) override;

 private:
  /// The plugins' request-headers phase; a throwing plugin becomes a 500.
  std::optional<LocalResponse> request_headers_phase(RequestState& ctx);
  /// Sends `answer` if the request phase gave one, else the routes served outside the core or
  /// the gateway's own. Reactor thread.
  void answer_local(const std::shared_ptr<RequestState>& ctx, std::optional<LocalResponse> answer);
  void serve_local(RequestState& ctx);
  void serve_chat(const std::shared_ptr<Connection>& connection, HttpRequest request, std::string request_id);
  GatewayServices& services_;
};

/// Which route a path belongs to.
Route classify_route(const std::string& path);

}  // namespace gateway
