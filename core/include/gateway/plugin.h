// The whole plugin API of the gateway: what a plugin sees of a request, the phases it may
// implement, and the C entry point a plugin shared object exports. Core and every plugin
// (built-in or third-party) are compiled against this one header.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/http_types.h"
#include "gateway/models.h"
#include "gateway/rate_limits.h"

namespace gateway {

/// Bumped whenever anything in this header (or the headers it includes) changes layout.
inline constexpr int kPluginAbiVersion = 7;

/// Which gateway route a request was matched to.
enum class Route { ChatCompletions, Models, Health, Metrics, Other };

/// The caller's identity, filled in by an authentication plugin.
struct Principal {
  bool authenticated = false;
  std::string key_id;    ///< stable id of the key (never the secret)
  std::string key_mask;  ///< display form, e.g. "sk-e2b-ab12…"
  std::string tenant_id;
  std::string user;
  std::vector<std::string> allowed_models;  ///< empty = every model
  RateLimits key_limits;                    ///< the key's own limits (stored, or from a static key's config)
  RateLimits tenant_limits;                 ///< the limits of the key's tenant

  /// Whether this caller may use the model `model_id`: listed, or no list at all.
  bool may_use(const std::string& model_id) const {
    return allowed_models.empty() ||
           std::find(allowed_models.begin(), allowed_models.end(), model_id) != allowed_models.end();
  }
};

/// Approximate or exact token counts of one chat request.
struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  bool estimated = true;
};

/// One piece of model output on its way to the client. Response-phase plugins may edit it.
struct Delta {
  std::string content;
  std::string reasoning;
};

enum class FinishReason { Stop, Length };

/// An HTTP exchange with an upstream service, run by the upstream loop of the request's reactor.
struct UpstreamRequest {
  std::string url;
  Headers headers;
  std::string body;
  std::chrono::milliseconds connect_timeout{10'000};
  /// Until the first response body byte (or a body-less response's end), however early the head
  /// came: a proxy in front of the upstream may send the head before the model's first token.
  std::chrono::milliseconds first_byte_timeout{300'000};
  /// Longest silence between body bytes, from the first body byte on; header lines do not count.
  std::chrono::milliseconds idle_timeout{120'000};
  /// How long the upstream loop holds the request before starting it (a retry's backoff). A
  /// client that leaves meanwhile cancels it like a running exchange.
  std::chrono::milliseconds start_delay{0};
};

/// One upstream deployment the upstream plugin may send requests to (config `upstream.targets`).
struct UpstreamTarget {
  std::string base_url;  ///< http(s)://host[:port][/prefix], no trailing slash
  int weight = 1;        ///< share of the traffic relative to the other targets, 1..1000
  /// Provider id → API key, overriding the upstream plugin's own for this target (a secret).
  nlohmann::json provider_api_keys = nlohmann::json::object();
  Headers headers;  ///< extra request headers for this target, replacing same-named ones
};

/// How the upstream plugin retries a failed call on another target (config `upstream:`).
struct UpstreamFailover {
  int max_attempts = 3;                            ///< upstream calls per request, first included
  std::chrono::milliseconds retry_budget{2'000};   ///< backoff time allowed over all retries
  std::chrono::milliseconds backoff_initial{100};  ///< before the first retry; doubles each time
  std::chrono::milliseconds backoff_max{2'000};    ///< cap of one backoff
  int circuit_failures = 5;  ///< consecutive failures that open a target's circuit; 0 = never
  std::chrono::milliseconds circuit_open{30'000};  ///< how long an open circuit keeps a target out
};

/// How an upstream exchange ended, from the transport's point of view.
enum class UpstreamEnd {
  Complete,          ///< the whole response arrived
  ConnectFailed,     ///< no connection could be made
  ConnectTimeout,    ///< connecting took longer than connect_timeout
  FirstByteTimeout,  ///< no response body byte within first_byte_timeout (head or not)
  IdleTimeout,       ///< after the first body byte, silent for longer than idle_timeout
  Reset,             ///< the connection closed before the response was complete
  Protocol,          ///< the upstream did not speak HTTP
};

/// Receives one upstream exchange's events in order, on the thread of the upstream loop that runs
/// it (the reactor of the request's client connection).
/// Nothing is delivered after the request was cancelled because its client left.
class UpstreamObserver {
 public:
  virtual ~UpstreamObserver() = default;
  virtual void on_head(int status, const Headers& headers) = 0;
  virtual void on_body(std::string_view bytes) = 0;
  virtual void on_end(UpstreamEnd end, std::string_view detail) = 0;
};

/// Where the upstream plugin reports the answer. Thread-safe; normally called from upstream
/// callbacks, on the request's reactor thread. The gateway turns these calls into the OpenAI JSON or SSE
/// response.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  /// The upstream accepted the request: commit a 200 response (sends the SSE head and role chunk).
  virtual void start() = 0;
  /// Model output, in order. Implies start(). The gateway applies the client's `stop` and
  /// `max_tokens` to it and may end the answer (and cancel the upstream transfer) here.
  virtual void delta(Delta delta) = 0;
  /// The answer is complete. `usage` replaces the gateway's estimate when present and the
  /// gateway did not cut the answer.
  virtual void finish(FinishReason reason, std::optional<Usage> usage = std::nullopt) = 0;
  /// The call failed. Before any output the client gets `error` as an HTTP error response;
  /// after output has started, a stream ends with an SSE error event and `[DONE]`.
  /// The request is recorded with the outcome `error.status` tells: 504 `timeout`; 429
  /// `upstream_error` (the upstream's rate limit); any other 4xx `rejected` (the plugin refused
  /// the client's request); any other status `upstream_error`. So map upstream failures to 429,
  /// 5xx or 504, and only a fault of the client's request to another 4xx.
  virtual void fail(LocalResponse error) = 0;
};

/// Something a plugin did to a request, carried to the log phase so that monitoring plugins can
/// count it. Names and label values come from small fixed sets, never from client input or
/// secrets. The shipped plugins report:
///  - `rate_limited` {limit: "requests_per_minute"|…, level: "key"|"tenant"} (rate_limit, on a 429);
///  - `parameter_adjusted` {param: "max_tokens"|…, policy: "default"|"force"|"clamp"|"reject"}
///    (constraints, once per parameter it set, changed or refused).
struct RequestEvent {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
};

inline constexpr const char* kEventRateLimited = "rate_limited";
inline constexpr const char* kEventParameterAdjusted = "parameter_adjusted";

struct RequestRecord;

/// Everything the gateway knows about one client request. Owned by the gateway; plugins get a
/// reference that stays valid until their last phase for this request has returned.
class RequestContext {
 public:
  virtual ~RequestContext() = default;
  virtual const HttpRequest& request() const = 0;
  virtual const std::string& request_id() const = 0;
  virtual Route route() const = 0;
  /// The parsed chat request (route ChatCompletions; validated object with model and messages).
  virtual nlohmann::json& chat_request() = 0;
  /// Catalog entry of the requested model (route ChatCompletions), null otherwise.
  virtual const ModelInfo* model() const = 0;
  /// The gateway's estimate of the chat request's prompt tokens: what usage reports when the
  /// upstream reports none (route ChatCompletions, after the body was parsed; 0 otherwise).
  virtual std::int64_t prompt_tokens() const = 0;
  virtual Principal& principal() = 0;
  /// Free-form values plugins pass to later phases ("upstream_model", …).
  virtual nlohmann::json& attributes() = 0;
  /// Starts an upstream HTTP exchange on the upstream loop of the request's reactor; cancelled automatically
  /// when the client disconnects (also while it waits out its start_delay). One exchange at a time: call it
  /// again only from the previous exchange's on_end, before the sink was given any output (start() or
  /// delta()), to retry; RequestRecord::upstream_wait then covers every attempt.
  virtual void fetch(UpstreamRequest request, std::shared_ptr<UpstreamObserver> observer) = 0;
  /// Runs `hook` exactly once when this request ends, however it ends (answered, refused,
  /// failed, timed out, its client gone), with the record the log phase gets, on the thread that
  /// ended it, before the log phase and before the end of the answer reaches the client (so a
  /// client's next request finds it done): release what the request held (concurrency slots,
  /// reservations). Keep it short; it runs on the request path.
  virtual void on_request_end(std::function<void(const RequestRecord&)> hook) = 0;
  /// Adds `event` to the request's record (RequestRecord::events). Any phase, any thread that
  /// runs a phase of this request.
  virtual void add_event(RequestEvent event) = 0;
};

/// Outcome of a finished request as the log phase sees it.
enum class Outcome { Completed, ClientCancelled, UpstreamError, Timeout, Rejected };

/// Every outcome, in declaration order.
inline constexpr Outcome kAllOutcomes[] = {Outcome::Completed, Outcome::ClientCancelled,
                                           Outcome::UpstreamError, Outcome::Timeout, Outcome::Rejected};

/// The outcome as logs, usage rows and the admin API spell it.
constexpr const char* outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::Completed:
      return "completed";
    case Outcome::ClientCancelled:
      return "client_cancelled";
    case Outcome::UpstreamError:
      return "upstream_error";
    case Outcome::Timeout:
      return "timeout";
    case Outcome::Rejected:
      return "rejected";
  }
  return "unknown";
}

/// Immutable summary of a finished request, handed to the log phase.
struct RequestRecord {
  std::string request_id;
  std::chrono::system_clock::time_point started_at;
  std::string method;
  std::string path;
  Route route = Route::Other;
  std::string model;           ///< public model id, empty if none
  std::string upstream_model;  ///< id sent upstream, empty if none
  bool stream = false;
  int status = 0;
  Outcome outcome = Outcome::Completed;
  std::string error_code;  ///< OpenAI error code when the request failed
  Principal principal;
  Usage usage;
  std::chrono::milliseconds duration{0};
  std::optional<std::chrono::milliseconds> time_to_first_token;
  std::uint64_t bytes_sent = 0;
  /// `duration` to the microsecond: from the complete request head to the end of the answer.
  std::chrono::microseconds elapsed{0};
  /// The part of `elapsed` spent waiting for the upstream: from handing the request to the
  /// upstream loop until the upstream exchange ended (or the request ended first). Zero for
  /// requests that never went upstream. `elapsed - upstream_wait` is the gateway's own time.
  std::chrono::microseconds upstream_wait{0};
  /// What plugins reported doing to this request (see RequestEvent).
  std::vector<RequestEvent> events;
};

/// A stage of the request pipeline. Implement only the phases you need; the chain calls them in
/// configured order and never lets one plugin call another.
class Plugin {
 public:
  virtual ~Plugin() = default;

  /// Request-headers phase, every route, on the connection's I/O thread, before the chat body is
  /// parsed (authentication, CORS, rate limits): chat_request() and model() are still empty.
  /// Return a response to answer locally and stop the chain; return nullopt to continue.
  virtual std::optional<LocalResponse> on_request_headers(RequestContext& /*ctx*/) { return std::nullopt; }

  /// Request-body phase, chat route only, after the gateway parsed and validated the chat request
  /// and resolved its model (parameter constraints, model permissions). Same contract as above.
  virtual std::optional<LocalResponse> on_request_body(RequestContext& /*ctx*/) { return std::nullopt; }

  /// True for the one plugin that produces chat completions from an upstream.
  virtual bool is_upstream() const { return false; }

  /// Upstream phase (only when is_upstream()): start the call and report through `sink`.
  virtual void call_upstream(RequestContext& /*ctx*/, std::shared_ptr<ResponseSink> /*sink*/) {}

  /// Response head phase: may add or change headers of any response the gateway sends.
  virtual void on_response_head(RequestContext& /*ctx*/, int /*status*/, Headers& /*headers*/) {}

  /// Response body phase, once per piece of model output the client will get, after `stop` and
  /// `max_tokens` were applied (upstream loop's thread); may edit it.
  virtual void on_delta(RequestContext& /*ctx*/, Delta& /*delta*/) {}

  /// Log phase: after the client has its answer, off the hot path, on the gateway's one log
  /// worker thread: calls never overlap, in the order requests ended.
  virtual void on_log(const RequestRecord& /*record*/) {}

  /// The state of the limits this plugin enforces on `principal` (each with its remaining value
  /// and reset time), shown by GET /v1/me and the admin API; null when it enforces none. Any
  /// thread.
  virtual nlohmann::json limit_status(const Principal& /*principal*/) const { return nullptr; }

  /// Admin-listener phase: a request the admin API has no route for (such as GET /metrics), on
  /// the admin listener's thread. Return a response to serve it; the admin token is not
  /// checked for these, so a plugin answering here applies its own authentication.
  virtual std::optional<LocalResponse> on_admin_request(const HttpRequest& /*request*/) {
    return std::nullopt;
  }

  /// The upstream plugin's view of its targets for GET /healthz/upstream and GET
  /// /admin/v1/upstream: an object whose boolean `available` tells whether some target may take
  /// a request now (the routes answer 503 when not). No secrets. Null when it has none. Any thread.
  virtual nlohmann::json upstream_status() const { return nullptr; }
  /// Configuration reload: called on the new instance with `previous`, the running instance of
  /// the same plugin name (the n-th of that name in the old chain for the n-th in the new), on
  /// the reloading thread, after both were created and before the new chain serves anything.
  /// Take over (share, do not steal) the state that must outlive a reload, such as counters and
  /// concurrency slots: requests of the old chain still run on `previous` until they end, and
  /// `previous` is destroyed once the last of them is logged. Both instances come from the same
  /// shared object (loaded libraries stay loaded for the process lifetime), so a dynamic_cast to
  /// the plugin's own class works. The default keeps nothing.
  virtual void take_over(Plugin& /*previous*/) {}
};

enum class LogLevel { Debug, Info, Warn, Error };

/// The SHA-256 digest of a presented key; keys are only ever compared in this form.
using KeyDigest = std::array<unsigned char, 32>;

/// The gateway's stored client keys (SQLite, indexed in memory). Thread-safe.
class KeyDirectory {
 public:
  virtual ~KeyDirectory() = default;
  /// The identity behind the key with SHA-256 `digest` if it is valid now: active, not expired,
  /// of an active tenant.
  virtual std::optional<Principal> authenticate(const KeyDigest& digest) const = 0;
};

/// One key's recorded usage over a period.
struct KeyUsage {
  std::string key_id;
  std::string tenant_id;
  std::int64_t requests = 0;  ///< requests not refused as the client's fault (outcome `rejected`)
  std::int64_t tokens = 0;    ///< prompt plus completion tokens
};

/// The usage the gateway has recorded, for plugins that rebuild counters when they start.
class UsageHistory {
 public:
  virtual ~UsageHistory() = default;
  /// Every key's usage from `from` until now. Reads the database: call it from the plugin
  /// factory only.
  virtual std::vector<KeyUsage> usage_since(std::chrono::system_clock::time_point from) const = 0;
};

/// Live figures of the gateway itself, read at one moment. Counters only ever grow.
struct GatewayStats {
  std::int64_t in_flight_requests = 0;    ///< chat requests being answered
  std::int64_t open_streams = 0;          ///< SSE answers open to clients (part of the above)
  std::int64_t upstream_connections = 0;  ///< TCP connections to upstreams open now (pooled ones too)
  std::int64_t usage_queue_depth = 0;     ///< usage rows and log records waiting to be stored
  std::uint64_t usage_rows_dropped = 0;   ///< usage rows lost because a queue was full or stopped
  std::uint64_t config_reloads_succeeded = 0;
  std::uint64_t config_reloads_failed = 0;
};

/// The gateway's own figures for monitoring plugins. Thread-safe and cheap: reading them takes no
/// lock the request path takes.
class GatewayMonitor {
 public:
  virtual ~GatewayMonitor() = default;
  virtual GatewayStats stats() const = 0;
};

/// What the gateway offers a plugin when creating it.
struct PluginHost {
  const ModelCatalog* models = nullptr;
  /// Stored per-user keys; null when the gateway runs without storage.
  const KeyDirectory* keys = nullptr;
  /// Recorded usage; null when the gateway runs without storage (or only checks its config).
  const UsageHistory* usage = nullptr;
  /// The gateway's live figures; valid for the plugin's lifetime. Null when the gateway only
  /// checks its config.
  const GatewayMonitor* monitor = nullptr;
  std::string gateway_version;
  /// Gateway-wide upstream settings (base URL and timeouts) from config.yaml.
  UpstreamRequest upstream_defaults;
  /// The upstream deployments (`upstream.targets`, or one from `upstream.base_url`); never empty
  /// when the gateway runs, the first one's base URL is upstream_defaults.url.
  std::vector<UpstreamTarget> upstream_targets;
  /// Retry and circuit-breaker settings for the targets.
  UpstreamFailover upstream_failover;
  /// Thread-safe, non-blocking logger.
  std::function<void(LogLevel, const std::string&)> log;
};

/// Thrown by a plugin factory when its configuration is invalid; `field` names the offending key.
class PluginConfigError : public std::runtime_error {
 public:
  PluginConfigError(std::string field, const std::string& message)
      : std::runtime_error(message), field_(std::move(field)) {}
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

using PluginFactory = std::unique_ptr<Plugin> (*)(const PluginHost& host, const nlohmann::json& config);

/// What a plugin shared object describes about itself.
struct PluginDescriptor {
  int abi_version;
  const char* name;
  PluginFactory create;
};

}  // namespace gateway

/// Name of the one C symbol every plugin shared object exports.
#define GATEWAY_PLUGIN_ENTRY "gateway_plugin_descriptor"

/// Declares the plugin's entry point: `GATEWAY_PLUGIN("auth", &make_auth_plugin)`.
#define GATEWAY_PLUGIN(NAME, FACTORY)                                                             \
  extern "C" __attribute__((visibility("default"))) const gateway::PluginDescriptor*              \
  gateway_plugin_descriptor() {                                                                   \
    static const gateway::PluginDescriptor descriptor{gateway::kPluginAbiVersion, NAME, FACTORY}; \
    return &descriptor;                                                                           \
  }
