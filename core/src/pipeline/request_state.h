// The gateway's implementation of RequestContext for one request, and the services it uses.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "config/config.h"
#include "gateway/plugin.h"
#include "pipeline/generation.h"
#include "pipeline/log_worker.h"
#include "server/connection.h"
#include "server/route_hook.h"
#include "storage/storage_worker.h"
#include "upstream/upstream_loops.h"
#include "util/task_worker.h"

namespace gateway {

/// The chat answers in flight, so that shutdown can end each one properly. Thread-safe.
class LiveExchanges {
 public:
  /// An answer in flight that shutdown can end early.
  class Member {
   public:
    virtual ~Member() = default;
    /// Ends the answer with a shutdown error; callable from any thread.
    virtual void end_for_shutdown() = 0;
  };

  /// Registers `member`; 0 once end_all() has run (the caller must end itself).
  std::uint64_t add(std::weak_ptr<Member> member);
  /// Forgets a registration (the answer has been logged).
  void remove(std::uint64_t id);
  /// Ends every registered answer still alive and refuses later registrations; returns how many.
  std::size_t end_all();

 private:
  std::mutex mutex_;
  std::unordered_map<std::uint64_t, std::weak_ptr<Member>> members_;
  std::uint64_t next_id_ = 1;
  bool closed_ = false;
};

/// Long-lived parts every request uses.
struct GatewayServices {
  /// The configuration new requests start on (each request pins it: RequestState::generation).
  CurrentGeneration* generations = nullptr;
  UpstreamLoops* upstream = nullptr;
  LogWorker* log = nullptr;
  StorageWorker* storage = nullptr;  ///< null: no database (self-service usage answers 503)
  std::string version;
  /// Paths served from outside the core (the self-service reports), after the request phase.
  RouteHook routes{};
  /// Runs the request phase of GET /metrics off the reactors; null: on the reactor.
  TaskWorker* background = nullptr;
  /// Chat requests between their upstream start and their last byte.
  std::atomic<int> in_flight{0};
  /// The streaming (`stream: true`) part of in_flight, counted and uncounted with it (so never
  /// above it): from the upstream start, whether or not the SSE head is out yet, until the
  /// answer's log record, exactly once however it ended (finished, failed, client gone, shutdown).
  std::atomic<int> open_streams{0};
  /// Configuration reloads applied, and refused (the running configuration stayed); counted by
  /// whatever reloads the configuration.
  std::atomic<std::uint64_t> config_reloads_succeeded{0};
  std::atomic<std::uint64_t> config_reloads_failed{0};
  /// Set on SIGTERM: readiness fails so load balancers stop sending new requests.
  std::atomic<bool> draining{false};
  /// Chat answers between their upstream start and their log record.
  LiveExchanges exchanges{};
};

/// A request's context. Reactor-thread only, except where a subclass says otherwise.
class RequestState : public RequestContext {
 public:
  RequestState(GatewayServices& services, std::shared_ptr<Connection> connection, HttpRequest request,
               std::string request_id, Route route);
  /// Runs end hooks that never ran (a request dropped without an answer) as a client cancel.
  ~RequestState() override;
  RequestState(const RequestState&) = delete;
  RequestState& operator=(const RequestState&) = delete;

  const HttpRequest& request() const override { return request_; }
  const std::string& request_id() const override { return request_id_; }
  Route route() const override { return route_; }
  nlohmann::json& chat_request() override { return chat_; }
  const ModelInfo* model() const override { return model_; }
  std::int64_t prompt_tokens() const override;
  Principal& principal() override { return principal_; }
  nlohmann::json& attributes() override { return attributes_; }
  void fetch(UpstreamRequest request, std::shared_ptr<UpstreamObserver> observer) override;
  void on_request_end(std::function<void(const RequestRecord&)> hook) override;
  void add_event(RequestEvent event) override;

  /// Writes a complete response now (reactor thread), ends it and logs the request with the
  /// outcome its status gives (outcome_for_status).
  void respond(LocalResponse response);
  /// The same, with an outcome the status does not tell (a readiness probe's 503 is an answer).
  void respond(LocalResponse response, Outcome outcome);
  /// Runs `task` on this request's reactor thread (callable from any thread).
  void post(std::function<void()> task) { connection_->post(std::move(task)); }
  /// The configuration this request started on; it keeps it to the end of its log phase.
  const Generation& generation() const { return *generation_; }
  const PluginChain& chain() const { return generation_->chain; }

 protected:
  /// The response head with the gateway's own headers and the plugins' head phase applied.
  std::string head(int status, Headers headers, long long content_length);
  /// Whether the connection stays open after this response.
  virtual bool keep_alive() const;
  RequestRecord record(int status, Outcome outcome, const std::string& error_code) const;
  /// Runs the end hooks with `record`; only the first call per request runs them.
  void run_end_hooks(const RequestRecord& record);
  /// Stamps the hand-over to the upstream loop (RequestRecord::upstream_wait starts; the first
  /// attempt's counts) and clears the end stamp of an earlier attempt; any thread.
  void mark_upstream_started();
  /// Stamps the end of the upstream exchange (delivered or cancelled); the first stamp counts.
  /// Any thread.
  void mark_upstream_ended();

  /// Submits `record` to the log phase, which runs on this request's generation.
  void submit_log(RequestRecord record) { services_.log->submit(std::move(record), generation_); }

  GatewayServices& services_;
  const std::shared_ptr<const Generation> generation_;  // pinned at the start, never swapped
  std::shared_ptr<Connection> connection_;
  HttpRequest request_;
  std::string request_id_;
  Route route_;
  nlohmann::json chat_;
  const ModelInfo* model_ = nullptr;
  Principal principal_;
  nlohmann::json attributes_ = nlohmann::json::object();
  SteadyClock::time_point started_ = SteadyClock::now();
  std::chrono::system_clock::time_point started_wall_ = std::chrono::system_clock::now();

 private:
  mutable std::atomic<std::int64_t> prompt_tokens_{-1};  // computed once, on first use
  std::mutex end_mutex_;
  std::vector<std::function<void(const RequestRecord&)>> end_hooks_;
  bool ended_ = false;
  mutable std::mutex events_mutex_;
  std::vector<RequestEvent> events_;
  // steady_clock ticks, 0 while unset: stamped on the reactor and in upstream callbacks.
  std::atomic<SteadyClock::rep> upstream_started_{0};
  std::atomic<SteadyClock::rep> upstream_ended_{0};
};

/// The 503 `server_shutting_down` a chat gets while the gateway stops, with Retry-After.
LocalResponse shutting_down_error();

/// The OpenAI error code inside an error response body (status 400 and above), if any.
std::string error_code_of(const LocalResponse& response);

}  // namespace gateway
