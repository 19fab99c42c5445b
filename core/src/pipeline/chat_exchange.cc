// One chat completion on its way: the chain, the upstream call and the answer, streamed or whole.
#include "pipeline/chat_exchange.h"

#include <cstdio>
#include <stdexcept>

#include "gateway/chat_params.h"
#include "pipeline/outcome_rule.h"
#include "util/random_hex.h"

namespace gateway {
namespace {

// Upstream transfers pause above this many bytes not yet taken by the client, resume below kLow.
constexpr std::int64_t kHighWatermark = 256 * 1024;
constexpr std::int64_t kLowWatermark = 64 * 1024;

/// Frames `data` as one HTTP/1.1 chunk.
std::string chunked(std::string_view data) {
  char size[20];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string out(size);
  out.append(data);
  out += "\r\n";
  return out;
}

constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace

/// Passes an upstream exchange's events on to the plugin's observer, stamping its end first (so
/// the stamp precedes whatever end of the request the plugin's on_end causes).
class ChatExchange::TimedObserver : public UpstreamObserver {
 public:
  TimedObserver(std::shared_ptr<UpstreamObserver> inner, std::shared_ptr<ChatExchange> exchange)
      : inner_(std::move(inner)), exchange_(std::move(exchange)) {}
  void on_head(int status, const Headers& headers) override { inner_->on_head(status, headers); }
  void on_body(std::string_view bytes) override { inner_->on_body(bytes); }
  void on_end(UpstreamEnd end, std::string_view detail) override {
    exchange_->mark_upstream_ended();
    {
      std::lock_guard lock(exchange_->mutex_);
      exchange_->exchange_running_ = false;  // the plugin may retry from its on_end
    }
    inner_->on_end(end, detail);
  }

 private:
  std::shared_ptr<UpstreamObserver> inner_;
  std::shared_ptr<ChatExchange> exchange_;
};

std::string ChatExchange::framed(std::string_view data) const {
  return close_delimited_ ? std::string(data) : chunked(data);
}

std::string_view ChatExchange::body_end() const {
  return close_delimited_ ? std::string_view() : kLastChunk;
}

ChatExchange::ChatExchange(GatewayServices& services, std::shared_ptr<Connection> connection,
                           HttpRequest request, std::string request_id)
    : RequestState(services, std::move(connection), std::move(request), std::move(request_id),
                   Route::ChatCompletions),
      completion_id_("chatcmpl-" + random_id_hex(12)),
      created_(std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count()) {}

void ChatExchange::set_chat(nlohmann::json chat, openai::ChatRequestInfo info) {
  chat_ = std::move(chat);
  model_ = info.model;
  info_ = info;
  close_delimited_ = info.stream && request_.version == "HTTP/1.0";
}

void ChatExchange::begin(Plugin& upstream) {
  auto self = shared_from_this();
  {
    // Read after the request-body phase, which may have adjusted the parameters.
    std::lock_guard lock(mutex_);
    limiter_ = openai::AnswerLimiter(openai::stop_sequences(chat_), requested_max_tokens(chat_));
  }
  services_.in_flight.fetch_add(1);
  if (info_.stream) services_.open_streams.fetch_add(1);
  counted_in_flight_ = true;
  connection_->set_on_gone([self] { self->client_left(); });
  connection_->set_on_written([self](std::size_t written) {
    const auto left =
        self->buffered_.fetch_sub(static_cast<std::int64_t>(written)) - static_cast<std::int64_t>(written);
    if (left < kLowWatermark && self->want_resume_.exchange(false) && self->transfer_id_ != 0) {
      self->services_.upstream->resume(self->transfer_id_);
    }
  });
  registration_ = services_.exchanges.add(self);
  if (registration_ == 0) {  // shutdown already ended the answers in flight
    end_for_shutdown();
    return;
  }
  try {
    upstream.call_upstream(*this, self);
  } catch (const std::exception& e) {
    fail(openai_error(500, "server_error", "internal_error",
                      std::string("The upstream plugin failed: ") + e.what()));
  }
}

void ChatExchange::fetch(UpstreamRequest request, std::shared_ptr<UpstreamObserver> observer) {
  auto self = shared_from_this();
  // Held while the transfer starts, so client_left() either sees its id or stops it starting: a
  // retry calls this from an upstream callback.
  std::lock_guard lock(mutex_);
  if (state_ == State::Done || client_gone_) return;
  if (exchange_running_) throw std::logic_error("fetch: the previous upstream exchange has not ended");
  exchange_running_ = true;
  mark_upstream_started();
  transfer_id_ = services_.upstream->start(std::move(request),
                                           std::make_shared<TimedObserver>(std::move(observer), self), self);
}

openai::AnswerIdentity ChatExchange::identity() const {
  return {completion_id_, created_, model_->id};
}

std::string ChatExchange::chunk_event(const openai::ChunkDelta& delta, const char* finish_reason) const {
  return framed(openai::sse_event(openai::chunk(identity(), delta, finish_reason, info_.include_usage)));
}

void ChatExchange::start() {
  std::lock_guard lock(mutex_);
  start_locked();
}

void ChatExchange::start_locked() {
  if (state_ != State::Waiting) return;
  state_ = State::Streaming;
  if (!info_.stream) return;
  status_ = 200;
  Headers headers{{"Content-Type", "text/event-stream; charset=utf-8"},
                  {"Cache-Control", "no-cache"},
                  {"X-Accel-Buffering", "no"}};
  if (!close_delimited_) headers.emplace_back("Transfer-Encoding", "chunked");
  std::string bytes = head(200, std::move(headers), -1);
  bytes += chunk_event({.opening = true}, nullptr);
  enqueue_locked(std::move(bytes));
}

void ChatExchange::delta(Delta delta) {
  openai::AnswerLimiter::Release release;
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::Done) return;
    release = limiter_.feed(delta);
  }
  deliver(std::move(release.delta));
  if (!release.cut) return;
  cancel_upstream();
  complete(*release.cut, std::nullopt);
}

void ChatExchange::deliver(Delta delta) {
  if (delta.content.empty() && delta.reasoning.empty()) return;
  chain().on_delta(*this, delta);
  if (delta.content.empty() && delta.reasoning.empty()) return;
  std::lock_guard lock(mutex_);
  if (state_ == State::Done) return;
  start_locked();
  if (!time_to_first_token_) {
    time_to_first_token_ =
        std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started_);
  }
  if (!info_.stream) {
    content_ += delta.content;
    reasoning_ += delta.reasoning;
    return;
  }
  auto add = [this](const std::string& text, bool reasoning) {
    if (text.empty()) return;
    if (!open_delta_.empty() && open_delta_is_reasoning_ != reasoning) flush_open_delta_locked();
    open_delta_is_reasoning_ = reasoning;
    open_delta_ += text;
    buffered_.fetch_add(static_cast<std::int64_t>(text.size()));
  };
  add(delta.reasoning, true);
  add(delta.content, false);
  schedule_drain();
}

void ChatExchange::flush_open_delta_locked() {
  if (open_delta_.empty()) return;
  std::string event = chunk_event({.reasoning = open_delta_is_reasoning_, .text = open_delta_}, nullptr);
  buffered_.fetch_add(static_cast<std::int64_t>(event.size()) -
                      static_cast<std::int64_t>(open_delta_.size()));
  open_delta_.clear();
  pending_ += event;
}

void ChatExchange::finish(FinishReason reason, std::optional<Usage> usage) {
  openai::AnswerLimiter::Release rest;
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::Done) return;
    rest = limiter_.flush();
  }
  deliver(std::move(rest.delta));
  if (rest.cut) usage.reset();  // the upstream's count covers text the client did not get
  complete(rest.cut.value_or(reason), usage);
}

void ChatExchange::complete(FinishReason reason, std::optional<Usage> usage) {
  std::lock_guard lock(mutex_);
  if (state_ == State::Done) return;
  start_locked();
  state_ = State::Done;
  status_ = 200;
  outcome_ = Outcome::Completed;
  Usage final_usage = usage.value_or(Usage{prompt_tokens(), limiter_.released_tokens(), true});
  reported_usage_ = final_usage;
  std::string bytes;
  if (info_.stream) {
    flush_open_delta_locked();
    bytes += chunk_event({}, openai::finish_reason_name(reason));
    if (info_.include_usage) bytes += framed(openai::sse_event(openai::usage_chunk(identity(), final_usage)));
    bytes += framed("data: [DONE]\n\n");
    bytes += body_end();
  } else {
    const auto body = openai::completion(identity(), content_, reasoning_, reason, final_usage);
    bytes = head(200, {{"Content-Type", "application/json"}}, static_cast<long long>(body.size())) + body;
  }
  terminal_pending_ = true;
  enqueue_locked(std::move(bytes));
}

void ChatExchange::fail(LocalResponse error) {
  // A plugin's refusal of the request (400) is the client's; a mapped upstream failure is not.
  const Outcome outcome = outcome_for_status(error.status, AnswerSource::Upstream);
  end_with_error(std::move(error), outcome);
}

void ChatExchange::cancel_upstream() {
  auto self = shared_from_this();
  post([self] {
    if (self->transfer_id_ != 0) self->cancel_transfer();
  });
}

void ChatExchange::cancel_transfer() {
  mark_upstream_ended();
  services_.upstream->cancel(transfer_id_);
}

void ChatExchange::end_for_shutdown() {
  cancel_upstream();  // posted before the ending, so it runs before the answer is logged
  // Recorded as a timeout: the answer ran out of time, the shutdown grace period.
  end_with_error(shutting_down_error(), Outcome::Timeout);
}

void ChatExchange::end_with_error(LocalResponse error, Outcome outcome) {
  std::lock_guard lock(mutex_);
  if (state_ == State::Done) return;
  const bool committed = info_.stream && state_ == State::Streaming;
  state_ = State::Done;
  error_code_ = error_code_of(error);
  outcome_ = outcome;
  reported_usage_ = Usage{prompt_tokens(), limiter_.released_tokens(), true};
  std::string bytes;
  if (committed) {
    flush_open_delta_locked();
    status_ = 200;  // already sent; the stream carries the error instead
    bytes += framed("data: " + error.body + "\n\n");
    bytes += framed("data: [DONE]\n\n");
    bytes += body_end();
  } else {
    status_ = error.status;
    if (!find_header(error.headers, "content-type"))
      error.headers.emplace_back("Content-Type", "application/json");
    bytes = head(error.status, error.headers, static_cast<long long>(error.body.size())) + error.body;
  }
  terminal_pending_ = true;
  enqueue_locked(std::move(bytes));
}

bool ChatExchange::should_pause() {
  if (buffered_.load() <= kHighWatermark) return false;
  want_resume_.store(true);
  // Re-check after publishing want_resume_, so a drain that raced past us cannot be missed.
  return buffered_.load() > kHighWatermark;
}

void ChatExchange::enqueue_locked(std::string bytes) {
  buffered_.fetch_add(static_cast<std::int64_t>(bytes.size()));
  pending_ += bytes;
  schedule_drain();
}

void ChatExchange::schedule_drain() {
  if (drain_posted_.exchange(true)) return;
  auto self = shared_from_this();
  connection_->post([self] { self->drain(); });
}

void ChatExchange::drain() {
  drain_posted_.store(false);
  std::string bytes;
  bool terminal = false;
  {
    std::lock_guard lock(mutex_);
    flush_open_delta_locked();
    bytes.swap(pending_);
    terminal = terminal_pending_;
    terminal_pending_ = false;
  }
  if (connection_->gone()) {
    buffered_.fetch_sub(static_cast<std::int64_t>(bytes.size()));
    return;
  }
  bytes_sent_ += bytes.size();
  if (terminal) {
    // Logged, end hooks included, before the client sees the end of its answer: a client that
    // sends its next request at once finds what this one held (concurrency slots, token
    // reservations) released and settled.
    terminal_written_ = true;
    emit_log();
  }
  connection_->send(bytes);
  if (terminal) connection_->end_response(keep_alive());
}

void ChatExchange::client_left() {
  {
    std::lock_guard lock(mutex_);
    client_gone_ = true;  // a retry's fetch() starts nothing from now on
  }
  if (transfer_id_ != 0) cancel_transfer();
  if (terminal_written_) return;
  {
    std::lock_guard lock(mutex_);
    state_ = State::Done;
    outcome_ = Outcome::ClientCancelled;
    if (status_ == 0) status_ = 499;  // the client closed the request before any answer
    reported_usage_ = Usage{prompt_tokens(), limiter_.released_tokens(), true};
  }
  emit_log();
}

void ChatExchange::emit_log() {
  if (logged_.exchange(true)) return;
  if (registration_ != 0) services_.exchanges.remove(registration_);
  if (counted_in_flight_) {  // emit_log runs its body once, however the answer ended
    if (info_.stream) services_.open_streams.fetch_sub(1);  // first: never above in_flight
    services_.in_flight.fetch_sub(1);
  }
  RequestRecord rec;
  {
    std::lock_guard lock(mutex_);
    rec = record(status_, outcome_, error_code_);
    rec.stream = info_.stream;
    rec.usage = reported_usage_.value_or(Usage{});
    rec.time_to_first_token = time_to_first_token_;
  }
  rec.bytes_sent = bytes_sent_;
  run_end_hooks(rec);
  submit_log(std::move(rec));
}

}  // namespace gateway
