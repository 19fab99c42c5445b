// The gateway's routes: local endpoints, and chat requests through the plugin phases.
#include "pipeline/gateway_app.h"

#include <algorithm>

#include "openai/chat_format.h"
#include "pipeline/chat_exchange.h"
#include "server/request_id.h"

namespace gateway {
namespace {

bool is_chat_path(const std::string& path) {
  return path == "/v1/chat/completions" || path == "/chat/completions";
}

nlohmann::json model_object(const ModelInfo& m) {
  nlohmann::json out{{"id", m.id},
                     {"object", "model"},
                     {"created", 1700000000},
                     {"owned_by", m.provider_id},
                     {"name", m.name},
                     {"provider", m.provider},
                     {"provider_id", m.provider_id},
                     {"upstream_id", m.upstream_id},
                     {"multimodal", m.multimodal}};
  if (!m.alias_of.empty()) out["alias_of"] = m.alias_of;
  return out;
}

}  // namespace

Route classify_route(const std::string& path) {
  if (is_chat_path(path)) return Route::ChatCompletions;
  if (path == "/v1/models" || path == "/models" || path.starts_with("/v1/models/")) return Route::Models;
  if (path == "/health" || path.starts_with("/healthz/")) return Route::Health;
  if (path == "/metrics") return Route::Metrics;
  return Route::Other;
}

void GatewayApp::handle(const std::shared_ptr<Connection>& connection, HttpRequest request) {
  std::string request_id = choose_request_id(request.headers);
  const Route route = classify_route(request.path);
  if (route == Route::ChatCompletions && request.method == "POST") {
    serve_chat(connection, std::move(request), std::move(request_id));
    return;
  }
  auto ctx =
      std::make_shared<RequestState>(services_, connection, std::move(request), std::move(request_id), route);
  if (route == Route::Metrics && services_.background != nullptr) {
    // A scrape serializes every series: answered off the reactors, so that the other connections
    // of this reactor never wait for it.
    const bool queued = services_.background->submit([this, ctx] {
      auto answer = request_headers_phase(*ctx);
      ctx->post([this, ctx, answer = std::move(answer)]() mutable { answer_local(ctx, std::move(answer)); });
    });
    if (!queued) {
      ctx->respond(openai_error(503, "server_error", "busy", "Too many scrapes at once; retry shortly."));
    }
    return;
  }
  answer_local(ctx, request_headers_phase(*ctx));
}

std::optional<LocalResponse> GatewayApp::request_headers_phase(RequestState& ctx) {
  try {
    return ctx.chain().on_request_headers(ctx);
  } catch (const std::exception& e) {
    return openai_error(500, "server_error", "internal_error", e.what());
  }
}

void GatewayApp::answer_local(const std::shared_ptr<RequestState>& ctx, std::optional<LocalResponse> answer) {
  if (answer) {
    ctx->respond(std::move(*answer));
    return;
  }
  try {
    const Reply reply = [ctx](LocalResponse response) {
      ctx->post([ctx, response = std::move(response)]() mutable { ctx->respond(std::move(response)); });
    };
    if (services_.routes && services_.routes(ctx->request(), ctx->principal(), reply)) return;
    serve_local(*ctx);
  } catch (const std::exception& e) {
    ctx->respond(openai_error(500, "server_error", "internal_error", e.what()));
  }
}

void GatewayApp::refuse(const std::shared_ptr<Connection>& connection, HttpRequest head,
                        const RequestError& error) {
  std::string request_id = choose_request_id(head.headers);
  const Route route = classify_route(head.path);
  auto ctx =
      std::make_shared<RequestState>(services_, connection, std::move(head), std::move(request_id), route);
  ctx->respond(openai_error(error.status, "invalid_request_error", error.code, error.message));
}

void GatewayApp::serve_local(RequestState& ctx) {
  const auto& request = ctx.request();
  const bool get = request.method == "GET" || request.method == "HEAD";
  switch (ctx.route()) {
    case Route::ChatCompletions:
      ctx.respond(method_not_allowed("POST", "POST"));
      return;
    case Route::Health:
      if (!get) break;
      if (request.path == "/health") {
        ctx.respond(json_response(200, {{"status", "ok"}, {"version", services_.version}}));
      } else if (request.path == "/healthz/live") {
        ctx.respond(json_response(200, {{"status", "ok"}}));
      } else if (request.path == "/healthz/upstream") {
        // A 503 here answers the probe too: no target can take a request now.
        ctx.respond(ctx.chain().upstream_health(), Outcome::Completed);
      } else if (request.path == "/healthz/ready") {
        const char* problem = services_.draining                  ? "shutting down"
                              : ctx.chain().upstream() == nullptr ? "no upstream plugin configured"
                                                                  : nullptr;
        // A 503 here answers the probe: the request itself completed.
        ctx.respond(json_response(problem ? 503 : 200, {{"status", problem ? problem : "ready"}}),
                    Outcome::Completed);
      } else {
        ctx.respond(openai_error(404, "invalid_request_error", "not_found", "Unknown path " + request.path));
      }
      return;
    case Route::Models: {
      if (!get) {
        ctx.respond(method_not_allowed("GET", "GET"));
        return;
      }
      const auto& catalog = ctx.generation().config.models;
      const std::string prefix = "/v1/models/";
      if (request.path.starts_with(prefix)) {
        const std::string id = request.path.substr(prefix.size());
        const ModelInfo* model = catalog.find(id);
        if (model == nullptr || !ctx.principal().may_use(id)) {
          ctx.respond(openai_error(404, "invalid_request_error", "model_not_found",
                                   "The model `" + id + "` does not exist or you do not have access to it.",
                                   "model"));
        } else {
          ctx.respond(json_response(200, model_object(*model)));
        }
        return;
      }
      auto data = nlohmann::json::array();
      for (const auto& model : catalog.all()) {
        if (ctx.principal().may_use(model.id)) data.push_back(model_object(model));
      }
      ctx.respond(json_response(200, {{"object", "list"}, {"data", data}}));
      return;
    }
    case Route::Metrics:
    case Route::Other:
      break;
  }
  if (ctx.route() == Route::Health && !get) {
    ctx.respond(method_not_allowed("GET", "GET"));
    return;
  }
  ctx.respond(openai_error(404, "invalid_request_error", "not_found",
                           "Unknown request URL: " + request.method + " " + request.path));
}

void GatewayApp::serve_chat(const std::shared_ptr<Connection>& connection, HttpRequest request,
                            std::string request_id) {
  auto exchange =
      std::make_shared<ChatExchange>(services_, connection, std::move(request), std::move(request_id));
  try {
    // Before the body is parsed: a caller the headers phase refuses costs no parse.
    if (auto answer = exchange->chain().on_request_headers(*exchange)) {
      exchange->respond(std::move(*answer));
      return;
    }
    if (services_.draining) {  // after authentication, so the row names the key
      exchange->respond(shutting_down_error(), Outcome::Rejected);  // refused, nobody failed
      return;
    }
    nlohmann::json parsed;
    auto validation =
        openai::validate_chat_request(exchange->request().body, parsed, exchange->generation().config.models);
    if (auto* error = std::get_if<LocalResponse>(&validation)) {
      exchange->respond(std::move(*error));
      return;
    }
    exchange->set_chat(std::move(parsed), std::get<openai::ChatRequestInfo>(validation));
    if (auto answer = exchange->chain().on_request_body(*exchange)) {
      exchange->respond(std::move(*answer));
      return;
    }
    Plugin* upstream = exchange->chain().upstream();
    if (upstream == nullptr) {
      exchange->respond(openai_error(503, "server_error", "no_upstream", "No upstream plugin is configured"));
      return;
    }
    exchange->begin(*upstream);
  } catch (const std::exception& e) {
    exchange->respond(openai_error(500, "server_error", "internal_error", e.what()));
  }
}

}  // namespace gateway
