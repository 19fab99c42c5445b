// Storage benchmark: how many usage rows a second the storage thread commits, through the
// gateway's own StorageWorker and write path (a row, its three rollups, one transaction per
// batch) into a fresh SQLite file. Two runs:
//   sustained  rows offered at a fixed rate (default 25,000/s) for a fixed time: every row must
//              be written, none dropped, and the queue must stay far from its capacity;
//   peak       rows offered as fast as the queue takes them: the most the thread can commit.
// Prints a Markdown table. Exit status 1 when a row is dropped or lost.
//
//   storage_bench --db /tmp/usage-bench.db [--rate 25000] [--seconds 10] [--peak-rows 500000]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "storage/storage.h"
#include "storage/storage_worker.h"
#include "storage/usage_store.h"

namespace {

using namespace gateway;
using Clock = std::chrono::steady_clock;

/// Rows like a team's traffic: 200 keys of 20 tenants, 12 models, a few errors and streams.
class RowMaker {
 public:
  UsageRow next() {
    const int key = static_cast<int>(random_() % 200);
    UsageRow row;
    row.ts_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
    row.request_id = "req_bench" + std::to_string(++count_);
    row.tenant_id = "ten_" + std::to_string(key / 10);
    row.key_id = "key_" + std::to_string(key);
    row.user = "user" + std::to_string(key);
    row.model = kModels[random_() % kModels.size()];
    row.upstream_model = row.model;
    row.stream = random_() % 2 == 0;
    const bool failed = random_() % 50 == 0;
    row.status = failed ? 502 : 200;
    row.outcome = failed ? "upstream_error" : "completed";
    row.prompt_tokens = static_cast<std::int64_t>(random_() % 2000);
    row.completion_tokens = failed ? 0 : static_cast<std::int64_t>(random_() % 800);
    row.duration_ms = static_cast<std::int64_t>(random_() % 5000);
    row.ttft_ms = failed ? std::nullopt : std::optional<std::int64_t>(random_() % 900);
    return row;
  }

 private:
  inline static const std::vector<std::string> kModels{
      "gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "claude-haiku-4-5", "gemini-2.5-pro", "gemini-2.5-flash",
      "o3",     "o4-mini",     "mistral-large",     "llama-3.3-70b",    "grok-3",         "deepseek-v3"};
  std::mt19937_64 random_{7};
  std::uint64_t count_ = 0;
};

struct RunResult {
  std::uint64_t offered = 0;
  std::uint64_t written = 0;
  std::uint64_t dropped = 0;
  std::size_t max_pending = 0;
  double seconds = 0;  // from the first row offered until the last one committed
};

/// Waits (bounded) until the worker has committed everything it accepted.
void wait_until_written(const StorageWorker& worker, std::uint64_t accepted) {
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  while (worker.usage_written() < accepted && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

/// Offers `rate` rows a second for `seconds`, in 1 ms steps.
RunResult sustained(StorageWorker& worker, RowMaker& rows, int rate, int seconds) {
  RunResult result;
  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(seconds);
  const auto written_before = worker.usage_written();
  for (auto now = start; now < end; now = Clock::now()) {
    const auto due = static_cast<std::uint64_t>(std::chrono::duration<double>(now - start).count() * rate);
    for (; result.offered < due; ++result.offered) worker.submit(rows.next());
    result.max_pending = std::max(result.max_pending, worker.usage_pending());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  result.dropped = worker.usage_dropped();
  wait_until_written(worker, written_before + result.offered - result.dropped);
  result.written = worker.usage_written() - written_before;
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

/// Offers `total` rows as fast as the queue takes them (kept under its capacity).
RunResult peak(StorageWorker& worker, RowMaker& rows, std::uint64_t total, std::size_t capacity) {
  RunResult result;
  const auto dropped_before = worker.usage_dropped();
  const auto written_before = worker.usage_written();
  const auto start = Clock::now();
  while (result.offered < total) {
    if (worker.usage_pending() > capacity / 2) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      continue;
    }
    worker.submit(rows.next());
    ++result.offered;
    result.max_pending = std::max(result.max_pending, worker.usage_pending());
  }
  wait_until_written(worker, written_before + result.offered);
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.written = worker.usage_written() - written_before;
  result.dropped = worker.usage_dropped() - dropped_before;
  return result;
}

void print_row(const char* name, const RunResult& r) {
  std::printf("| %s | %llu | %llu | %llu | %zu | %.2f | %.0f |\n", name,
              static_cast<unsigned long long>(r.offered), static_cast<unsigned long long>(r.written),
              static_cast<unsigned long long>(r.dropped), r.max_pending, r.seconds, r.written / r.seconds);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("storage_bench: usage rows per second through the storage thread");
  std::string path = "/tmp/e2b-storage-bench.db";
  int rate = 25'000;
  int seconds = 10;
  std::uint64_t peak_rows = 500'000;
  app.add_option("--db", path, "SQLite file to create (deleted first)");
  app.add_option("--rate", rate, "rows offered per second in the sustained run")
      ->check(CLI::Range(1, 1'000'000));
  app.add_option("--seconds", seconds, "length of the sustained run")->check(CLI::Range(1, 600));
  app.add_option("--peak-rows", peak_rows, "rows offered in the peak run")->check(CLI::Range(1, 10'000'000));
  CLI11_PARSE(app, argc, argv);

  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  constexpr std::size_t kCapacity = 200'000;  // the gateway's queue size
  Storage store(path);
  RowMaker rows;
  RunResult steady;
  RunResult fastest;
  {
    StorageWorker worker(store, kCapacity);
    steady = sustained(worker, rows, rate, seconds);
    fastest = peak(worker, rows, peak_rows, kCapacity);
  }
  std::printf("| run | rows offered | written | dropped | max queued | seconds | rows/s written |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  print_row(("sustained, " + std::to_string(rate) + "/s offered").c_str(), steady);
  print_row("peak, as fast as the queue takes them", fastest);
  const bool lost = steady.dropped || fastest.dropped || steady.written != steady.offered ||
                    fastest.written != fastest.offered;
  if (lost) std::printf("\nFAILED: rows were dropped or not written\n");
  return lost ? 1 : 0;
}
