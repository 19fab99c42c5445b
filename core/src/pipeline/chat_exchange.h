// One chat completion in flight: the bridge between the upstream plugin (which reports on the
// thread of its upstream loop, normally the connection's own reactor) and the client connection
// (written only on its reactor thread).
#pragma once

#include <atomic>
#include <mutex>
#include <optional>

#include "openai/answer_limits.h"
#include "openai/chat_format.h"
#include "pipeline/request_state.h"

namespace gateway {

class ChatExchange : public RequestState,
                     public ResponseSink,
                     public FlowControl,
                     public LiveExchanges::Member,
                     public std::enable_shared_from_this<ChatExchange> {
 public:
  ChatExchange(GatewayServices& services, std::shared_ptr<Connection> connection, HttpRequest request,
               std::string request_id);

  /// Takes the validated chat request and its model (reactor thread): once, after the
  /// request-headers phase, before the request-body phase and begin().
  void set_chat(nlohmann::json chat, openai::ChatRequestInfo info);

  /// Hands the request to the upstream plugin (reactor thread).
  void begin(Plugin& upstream);

  void fetch(UpstreamRequest request, std::shared_ptr<UpstreamObserver> observer) override;

  void start() override;
  void delta(Delta delta) override;
  void finish(FinishReason reason, std::optional<Usage> usage) override;
  void fail(LocalResponse error) override;

  bool should_pause() override;

  /// Ends the answer with `server_shutting_down` (an error event on a stream, a 503 otherwise)
  /// and cancels its upstream transfer; any thread.
  void end_for_shutdown() override;

 protected:
  bool keep_alive() const override { return !close_delimited_ && RequestState::keep_alive(); }

 private:
  class TimedObserver;
  enum class State { Waiting, Streaming, Done };

  void start_locked();
  /// Sends model output the limiter released (the upstream loop's thread).
  void deliver(Delta delta);
  /// Ends the answer with a 200: the last chunk and [DONE], or the whole completion.
  void complete(FinishReason reason, std::optional<Usage> usage);
  /// Ends the upstream transfer; posted, so it runs after fetch() recorded the transfer.
  void cancel_upstream();
  /// Cancels the recorded transfer now and stamps the end of the upstream wait (reactor thread).
  void cancel_transfer();
  /// Ends the response with `error`, in the stream when its head is already out.
  void end_with_error(LocalResponse error, Outcome outcome);
  /// Turns the coalesced delta text into one SSE event at the end of pending_.
  void flush_open_delta_locked();
  /// Queues bytes for the client and makes sure a drain is posted to the reactor.
  void enqueue_locked(std::string bytes);
  void schedule_drain();
  void drain();
  void client_left();
  void emit_log();
  /// What each of this answer's objects repeats.
  openai::AnswerIdentity identity() const;
  /// One chunk of the stream as a framed SSE event.
  std::string chunk_event(const openai::ChunkDelta& delta, const char* finish_reason) const;
  /// `data` framed as one chunk, or as it is when the stream is close-delimited.
  std::string framed(std::string_view data) const;
  /// The bytes that end the streamed body: the last chunk, or nothing before the close.
  std::string_view body_end() const;

  // Both set by set_chat(); until then the request is answered as a plain response.
  openai::ChatRequestInfo info_;
  /// HTTP/1.0 has no chunked encoding: its stream ends when the connection closes.
  bool close_delimited_ = false;
  const std::string completion_id_;
  const std::int64_t created_;

  std::mutex mutex_;
  State state_ = State::Waiting;
  std::string pending_;
  // Model output not yet framed: consecutive deltas that arrive before the reactor drains are
  // sent as one SSE event, so a slow client gets fewer, larger events rather than a backlog.
  std::string open_delta_;
  bool open_delta_is_reasoning_ = false;
  bool terminal_pending_ = false;  // pending_ ends the response
  int status_ = 0;
  Outcome outcome_ = Outcome::Completed;
  std::string error_code_;
  std::string content_;
  std::string reasoning_;
  // The client's `stop` and `max_tokens`, applied to the answer as it arrives.
  openai::AnswerLimiter limiter_{{}, std::nullopt};
  std::optional<Usage> reported_usage_;
  std::optional<std::chrono::milliseconds> time_to_first_token_;
  std::uint64_t bytes_sent_ = 0;

  std::atomic<bool> drain_posted_{false};
  std::atomic<bool> want_resume_{false};
  std::atomic<bool> logged_{false};
  std::atomic<std::int64_t> buffered_{0};
  // The current upstream transfer: set by fetch() under mutex_ (a retry's from an upstream callback).
  std::atomic<std::uint64_t> transfer_id_{0};
  bool exchange_running_ = false;   // mutex_: an upstream exchange started and not ended yet
  bool client_gone_ = false;        // mutex_: the client left; fetch() starts nothing more
  bool terminal_written_ = false;   // reactor thread
  bool counted_in_flight_ = false;  // reactor thread
  std::uint64_t registration_ = 0;  // reactor thread: the entry in services_.exchanges
};

}  // namespace gateway
