// The log phase's background thread and the access log line.
#include "pipeline/log_worker.h"

#include "gateway/json_writer.h"
#include "util/log.h"
#include "util/thread_role.h"

namespace gateway {

LogWorker::LogWorker(Sink sink, std::size_t capacity, BatchEnd batch_end)
    : sink_(std::move(sink)),
      batch_end_(std::move(batch_end)),
      capacity_(capacity),
      thread_([this] { run(); }) {}

LogWorker::~LogWorker() {
  stop();
}

void LogWorker::submit(RequestRecord record, std::shared_ptr<const Generation> generation) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= capacity_ || stopped_) {
      if (record.route == Route::ChatCompletions) dropped_chat_.fetch_add(1);
      const auto dropped = dropped_.fetch_add(1) + 1;
      if ((dropped & (dropped - 1)) == 0) {  // report at powers of two, not per record
        log_message(LogLevel::Error, std::string(stopped_ ? "log worker stopped" : "log queue full") + ": " +
                                         std::to_string(dropped) + " request records dropped so far");
      }
      return;
    }
    queue_.push_back({std::move(record), std::move(generation)});
    queued_.fetch_add(1, std::memory_order_relaxed);
    if (queue_.size() > 1) return;  // the thread is awake or already woken for this batch
  }
  wake_.notify_one();
}

void LogWorker::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void LogWorker::run() {
  become_background_thread("gw-log");
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty() && stopping_) {
      stopped_ = true;
      return;
    }
    std::deque<Entry> batch;
    batch.swap(queue_);
    lock.unlock();
    for (const auto& entry : batch) {
      // Leaves the count before the sink runs: the usage row it submits is counted there.
      queued_.fetch_sub(1, std::memory_order_relaxed);
      sink_(entry.record, entry.generation.get());
    }
    if (batch_end_) batch_end_();
    batch.clear();  // an old generation may end here, off the request path
    lock.lock();
    // Lets the next batch gather: one wake-up per period however many requests end in it.
    wake_.wait_for(lock, kLinger, [this] { return stopping_; });
  }
}

std::string access_line(const RequestRecord& r) {
  std::string line = "request_id=" + r.request_id + " method=" + r.method + " path=" + r.path +
                     " status=" + std::to_string(r.status) +
                     " duration_ms=" + std::to_string(r.duration.count());
  if (!r.model.empty()) line += " model=" + r.model + " stream=" + (r.stream ? "true" : "false");
  line += std::string(" outcome=") + outcome_name(r.outcome);
  if (!r.error_code.empty()) line += " error=" + r.error_code;
  if (r.time_to_first_token) line += " ttft_ms=" + std::to_string(r.time_to_first_token->count());
  if (r.route == Route::ChatCompletions) {
    line += " prompt_tokens=" + std::to_string(r.usage.prompt_tokens) +
            " completion_tokens=" + std::to_string(r.usage.completion_tokens);
  }
  line += " key=" + (r.principal.key_mask.empty() ? std::string("-") : r.principal.key_mask);
  return line;
}

std::string access_json_line(const RequestRecord& r) {
  using std::nullopt;
  const bool chat = r.route == Route::ChatCompletions;
  const auto ended =
      r.started_at + std::chrono::duration_cast<std::chrono::system_clock::duration>(r.elapsed);
  std::string line;
  line.reserve(512);
  JsonObjectWriter(line)
      .time("time", ended)
      .string("level", log_level_name(LogLevel::Info))
      .string_or_null("request_id", r.request_id)
      .string_or_null("method", r.method)
      .string_or_null("path", r.path)
      .number("status", r.status)
      .string("outcome", outcome_name(r.outcome))
      .string_or_null("error", r.error_code)
      .string_or_null("tenant", r.principal.tenant_id)
      .string_or_null("key", r.principal.key_mask)
      .string_or_null("user", r.principal.user)
      .string_or_null("model", r.model)
      .boolean_or_null("stream", r.model.empty() ? nullopt : std::optional(r.stream))  // known with the model
      .number("duration_ms", r.duration.count())
      .number_or_null("ttft_ms",
                      r.time_to_first_token ? std::optional(r.time_to_first_token->count()) : nullopt)
      .number_or_null("prompt_tokens", chat ? std::optional(r.usage.prompt_tokens) : nullopt)
      .number_or_null("completion_tokens", chat ? std::optional(r.usage.completion_tokens) : nullopt)
      .close();
  return line;
}

void AccessLogBatch::add(const RequestRecord& record, LogFormat format) {
  if (!log_enabled(LogLevel::Info)) return;
  if (!block_.empty()) block_ += '\n';
  if (format == LogFormat::Json) {
    block_ += access_json_line(record);
  } else {
    const auto ended =
        record.started_at + std::chrono::duration_cast<std::chrono::system_clock::duration>(record.elapsed);
    append_text_line_prefix(block_, ended, LogLevel::Info);
    block_ += access_line(record);
  }
}

void AccessLogBatch::flush() {
  if (block_.empty()) return;
  log_line_block(std::move(block_));
  block_.clear();
}

}  // namespace gateway
