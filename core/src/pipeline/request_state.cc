// One request's context: local responses, response heads and the record the log phase gets.
#include "pipeline/request_state.h"

#include <stdexcept>
#include <vector>

#include "gateway/json_limits.h"
#include "openai/chat_format.h"
#include "pipeline/outcome_rule.h"
#include "pipeline/upstream_wait.h"
#include "util/log.h"

namespace gateway {

RequestState::RequestState(GatewayServices& services, std::shared_ptr<Connection> connection,
                           HttpRequest request, std::string request_id, Route route)
    : services_(services),
      generation_(services.generations->get()),
      connection_(std::move(connection)),
      request_(std::move(request)),
      request_id_(std::move(request_id)),
      route_(route) {}

RequestState::~RequestState() {
  bool pending = false;
  {
    std::lock_guard lock(end_mutex_);
    pending = !ended_ && !end_hooks_.empty();
  }
  if (pending) run_end_hooks(record(499, Outcome::ClientCancelled, ""));
}

void RequestState::fetch(UpstreamRequest, std::shared_ptr<UpstreamObserver>) {
  throw std::logic_error("upstream calls are only available to chat requests");
}

std::int64_t RequestState::prompt_tokens() const {
  auto tokens = prompt_tokens_.load(std::memory_order_relaxed);
  if (tokens >= 0) return tokens;
  // The messages are final once the body was parsed; a race computes the same number twice.
  tokens =
      chat_.is_object() && chat_.contains("messages") ? openai::estimate_prompt_tokens(chat_["messages"]) : 0;
  prompt_tokens_.store(tokens, std::memory_order_relaxed);
  return tokens;
}

void RequestState::on_request_end(std::function<void(const RequestRecord&)> hook) {
  std::lock_guard lock(end_mutex_);
  if (ended_) {
    throw std::logic_error("on_request_end: the request has already ended");
  }
  end_hooks_.push_back(std::move(hook));
}

void RequestState::add_event(RequestEvent event) {
  std::lock_guard lock(events_mutex_);
  events_.push_back(std::move(event));
}

void RequestState::run_end_hooks(const RequestRecord& record) {
  std::vector<std::function<void(const RequestRecord&)>> hooks;
  {
    std::lock_guard lock(end_mutex_);
    if (ended_) return;
    ended_ = true;
    hooks.swap(end_hooks_);
  }
  for (const auto& hook : hooks) {
    try {
      hook(record);
    } catch (const std::exception& e) {
      log_message(LogLevel::Error, "request " + request_id_ + ": an end hook failed: " + e.what());
    }
  }
}

namespace {

SteadyClock::rep now_ticks() {
  return SteadyClock::now().time_since_epoch().count();
}

/// The time a stamp holds, if it was set.
std::optional<SteadyClock::time_point> stamped(const std::atomic<SteadyClock::rep>& stamp) {
  const auto ticks = stamp.load();
  if (ticks == 0) return std::nullopt;
  return SteadyClock::time_point(SteadyClock::duration(ticks));
}

}  // namespace

void RequestState::mark_upstream_started() {
  SteadyClock::rep unset = 0;
  upstream_started_.compare_exchange_strong(unset, now_ticks());
  upstream_ended_.store(0);  // a retry: the wait goes on until the last attempt ends
}

void RequestState::mark_upstream_ended() {
  SteadyClock::rep unset = 0;
  upstream_ended_.compare_exchange_strong(unset, now_ticks());
}

bool RequestState::keep_alive() const {
  if (services_.draining) return false;  // keep-alive clients move to another instance
  return wants_keep_alive(request_);
}

std::string RequestState::head(int status, Headers headers, long long content_length) {
  set_header(headers, "X-Request-ID", request_id_);
  generation_->chain.on_response_head(*this, status, headers);
  return response_head(status, headers, content_length, keep_alive());
}

void RequestState::respond(LocalResponse response) {
  const Outcome outcome = outcome_for_status(response.status, AnswerSource::Gateway);
  respond(std::move(response), outcome);
}

void RequestState::respond(LocalResponse response, Outcome outcome) {
  if (find_header(response.headers, "content-type") == std::nullopt && !response.body.empty()) {
    response.headers.emplace_back("Content-Type", "application/json");
  }
  const bool is_head = request_.method == "HEAD";
  std::string bytes = head(response.status, response.headers, static_cast<long long>(response.body.size()));
  if (!is_head) bytes += response.body;
  auto rec = record(response.status, outcome, error_code_of(response));
  rec.bytes_sent = bytes.size();
  // Before the client sees the answer: a client that sends its next request at once finds what
  // this one held (concurrency slots, token reservations) released.
  run_end_hooks(rec);
  connection_->send(bytes);
  connection_->end_response(keep_alive());
  submit_log(std::move(rec));
}

RequestRecord RequestState::record(int status, Outcome outcome, const std::string& error_code) const {
  RequestRecord r;
  r.request_id = request_id_;
  r.started_at = started_wall_;
  r.method = request_.method;
  r.path = request_.path;
  r.route = route_;
  if (model_ != nullptr) r.model = model_->id;
  if (attributes_.contains("upstream_model") && attributes_["upstream_model"].is_string()) {
    r.upstream_model = attributes_["upstream_model"].get<std::string>();
  }
  r.status = status;
  r.outcome = outcome;
  r.error_code = error_code;
  r.principal = principal_;
  const auto now = SteadyClock::now();
  r.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(now - started_);
  r.upstream_wait = upstream_wait(started_, stamped(upstream_started_), stamped(upstream_ended_), now);
  r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(r.elapsed);
  {
    std::lock_guard lock(events_mutex_);
    r.events = events_;
  }
  return r;
}

std::uint64_t LiveExchanges::add(std::weak_ptr<Member> member) {
  std::lock_guard lock(mutex_);
  if (closed_) return 0;
  const auto id = next_id_++;
  members_.emplace(id, std::move(member));
  return id;
}

void LiveExchanges::remove(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  members_.erase(id);
}

std::size_t LiveExchanges::end_all() {
  std::vector<std::shared_ptr<Member>> alive;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (const auto& [id, member] : members_) {
      if (auto strong = member.lock()) alive.push_back(std::move(strong));
    }
  }
  // Outside the lock: ending an answer may log it, which removes its registration.
  for (const auto& member : alive) member->end_for_shutdown();
  return alive.size();
}

LocalResponse shutting_down_error() {
  auto response = openai_error(503, "server_error", "server_shutting_down",
                               "The gateway is shutting down; retry the request.");
  response.headers.emplace_back("Retry-After", "2");
  return response;
}

std::string error_code_of(const LocalResponse& response) {
  if (response.status < 400) return {};  // a success names no error; its body may be large
  const auto body = parse_bounded_json(response.body).value;  // a plugin's body may be anything
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    const auto& error = body["error"];
    if (error.contains("code") && error["code"].is_string()) return error["code"].get<std::string>();
    if (error.contains("type") && error["type"].is_string()) return error["type"].get<std::string>();
  }
  return {};
}

}  // namespace gateway
