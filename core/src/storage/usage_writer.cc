#include "storage/usage_writer.h"

#include <ctime>

#include "pipeline/log_worker.h"
#include "storage/sqlite.h"
#include "util/log.h"

namespace gateway {
namespace {

std::string utc_day(std::int64_t ts_ms) {
  const std::time_t seconds = static_cast<std::time_t>(ts_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char day[16];
  std::strftime(day, sizeof day, "%Y-%m-%d", &tm);
  return day;
}

}  // namespace

UsageRow usage_row(const RequestRecord& r) {
  UsageRow row;
  row.ts_ms = std::chrono::duration_cast<std::chrono::milliseconds>(r.started_at.time_since_epoch()).count();
  row.request_id = r.request_id;
  row.tenant_id = r.principal.tenant_id;
  row.key_id = r.principal.key_id;
  row.user = r.principal.user;
  row.model = r.model;
  row.upstream_model = r.upstream_model;
  row.stream = r.stream;
  row.status = r.status;
  row.outcome = outcome_name(r.outcome);
  row.prompt_tokens = r.usage.prompt_tokens;
  row.completion_tokens = r.usage.completion_tokens;
  row.estimated = r.usage.estimated;
  row.duration_ms = r.duration.count();
  if (r.time_to_first_token) row.ttft_ms = r.time_to_first_token->count();
  return row;
}

UsageWriter::UsageWriter(const std::string& path, std::size_t capacity,
                         std::chrono::milliseconds flush_interval)
    : path_(path), capacity_(capacity), flush_interval_(flush_interval), thread_([this] { run(); }) {}

UsageWriter::~UsageWriter() {
  stop();
}

void UsageWriter::submit(UsageRow row) {
  std::lock_guard lock(mutex_);
  if (queue_.size() >= capacity_) {
    const auto dropped = dropped_.fetch_add(1) + 1;
    if ((dropped & (dropped - 1)) == 0) {
      log_message(LogLevel::Error,
                  "usage queue full: " + std::to_string(dropped) + " usage rows dropped so far");
    }
    return;
  }
  queue_.push_back(std::move(row));
}

void UsageWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void UsageWriter::run() {
  std::optional<db::Database> db;
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait_for(lock, flush_interval_, [this] { return stopping_; });
    const bool last = stopping_;
    std::deque<UsageRow> batch;
    batch.swap(queue_);
    lock.unlock();
    bool ok = batch.empty();
    if (!ok) {
      try {
        if (!db) db.emplace(path_);
        ok = write(*db, batch);
      } catch (const std::exception& e) {
        log_message(LogLevel::Error, std::string("usage write failed, will retry: ") + e.what());
        db.reset();
      }
    }
    lock.lock();
    if (!ok) {  // keep the rows, ahead of newer ones, and try again next tick
      for (auto it = batch.rbegin(); it != batch.rend(); ++it) queue_.push_front(std::move(*it));
      if (last) {
        log_message(LogLevel::Error,
                    std::to_string(queue_.size()) + " usage rows could not be written at shutdown");
        return;
      }
    }
    if (last && queue_.empty()) return;
  }
}

bool UsageWriter::write(db::Database& db, const std::deque<UsageRow>& batch) {
  db::Transaction tx(db);
  auto insert = db.prepare(
      "INSERT INTO usage_requests (ts, request_id, tenant_id, key_id, user, model, upstream_model, stream, "
      "status, "
      "outcome, prompt_tokens, completion_tokens, total_tokens, estimated, duration_ms, ttft_ms) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  auto daily = db.prepare(
      "INSERT INTO usage_daily (day, key_id, model, tenant_id, requests, errors, prompt_tokens, "
      "completion_tokens) "
      "VALUES (?, ?, ?, ?, 1, ?, ?, ?) ON CONFLICT (day, key_id, model) DO UPDATE SET "
      "requests = requests + 1, errors = errors + excluded.errors, "
      "prompt_tokens = prompt_tokens + excluded.prompt_tokens, "
      "completion_tokens = completion_tokens + excluded.completion_tokens");
  for (const auto& r : batch) {
    insert.bind(1, r.ts_ms)
        .bind(2, r.request_id)
        .bind(3, r.tenant_id)
        .bind(4, r.key_id)
        .bind(5, r.user)
        .bind(6, r.model)
        .bind(7, r.upstream_model)
        .bind(8, std::int64_t{r.stream})
        .bind(9, std::int64_t{r.status})
        .bind(10, r.outcome)
        .bind(11, r.prompt_tokens)
        .bind(12, r.completion_tokens)
        .bind(13, r.prompt_tokens + r.completion_tokens)
        .bind(14, std::int64_t{r.estimated})
        .bind(15, r.duration_ms)
        .bind(16, r.ttft_ms)
        .run();
    daily.bind(1, utc_day(r.ts_ms))
        .bind(2, r.key_id)
        .bind(3, r.model)
        .bind(4, r.tenant_id)
        .bind(5, std::int64_t{r.outcome == "completed" ? 0 : 1})
        .bind(6, r.prompt_tokens)
        .bind(7, r.completion_tokens)
        .run();
  }
  tx.commit();
  written_.fetch_add(batch.size());
  return true;
}

}  // namespace gateway
