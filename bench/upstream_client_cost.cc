// Upstream client cost: the CPU libcurl alone spends per upstream request, with the options the
// gateway sets on each transfer (POST from memory, its headers, no Expect, TCP_NODELAY, any
// content encoding, a 1 KB receive buffer, no proxy lookup) and connections kept alive. A
// bare curl multi loop with a fixed number of transfers in flight, nothing else in the process:
// no HTTP server, no JSON, no logs, no storage. Its CPU per request is a floor under the
// gateway's own, to set beside what nginx spends for the whole proxy hop (bench/hotpath.sh).
//
//   upstream_client_cost --url http://127.0.0.1:PORT/api/chat [--concurrency 32] [--seconds 5]
//
// Prints one line: requests, req/s, user and system CPU µs per request, non-200 answers.
// Bounded by --seconds; exit status 1 when any answer was not a 200 or a transfer failed.
#include <curl/curl.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct EasyDeleter {
  void operator()(CURL* e) const { curl_easy_cleanup(e); }
};
struct MultiDeleter {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct ListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

std::size_t discard(char*, std::size_t size, std::size_t count, void*) {
  return size * count;
}

/// CPU time this process used so far, user and system, in µs.
std::pair<double, double> cpu_us() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto us = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec);
  };
  return {us(usage.ru_utime), us(usage.ru_stime)};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"CPU per upstream request of a bare libcurl multi client"};
  std::string url;
  int concurrency = 32;
  double seconds = 5;
  double warmup = 1;
  std::string body =
      R"({"messages":[{"role":"user","content":[{"type":"text","text":"Say hi"}]}],"userID":"bench","teamID":"","template":{},"model":{"id":"gpt-4o-mini","provider":"OpenAI","providerId":"openai","name":"GPT-4o mini","multiModal":true},"config":{"model":"gpt-4o-mini"}})";
  app.add_option("--url", url, "upstream URL (127.0.0.1)")->required();
  app.add_option("--concurrency", concurrency, "transfers in flight")->check(CLI::Range(1, 1024));
  app.add_option("--seconds", seconds, "measured time")->check(CLI::Range(0.5, 120.0));
  app.add_option("--warmup", warmup, "unmeasured time first")->check(CLI::Range(0.0, 30.0));
  CLI11_PARSE(app, argc, argv);

  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::unique_ptr<CURLM, MultiDeleter> multi(curl_multi_init());
  curl_multi_setopt(multi.get(), CURLMOPT_MAXCONNECTS, static_cast<long>(concurrency));
  curl_slist* list = curl_slist_append(nullptr, "Content-Type: application/json");
  list = curl_slist_append(list, "Expect:");
  std::unique_ptr<curl_slist, ListDeleter> headers(list);

  std::vector<std::unique_ptr<CURL, EasyDeleter>> handles;
  const auto start = [&](CURL* e) {
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 1024L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &discard);
    curl_multi_add_handle(multi.get(), e);
  };
  for (int i = 0; i < concurrency; ++i) {
    handles.emplace_back(curl_easy_init());
    start(handles.back().get());
  }

  long done = 0;
  long failed = 0;
  bool measuring = false;
  std::pair<double, double> cpu_at_start{};
  auto began = Clock::now();
  const auto warm_end = began + std::chrono::duration<double>(warmup);
  const auto end = warm_end + std::chrono::duration<double>(seconds);
  for (;;) {
    const auto now = Clock::now();
    if (!measuring && now >= warm_end) {
      measuring = true;
      done = 0;
      failed = 0;
      cpu_at_start = cpu_us();
      began = now;
    }
    if (measuring && now >= end) break;
    int running = 0;
    curl_multi_perform(multi.get(), &running);
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi.get(), &queued)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* e = message->easy_handle;
      long status = 0;
      curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
      if (message->data.result != CURLE_OK || status != 200) ++failed;
      ++done;
      curl_multi_remove_handle(multi.get(), e);
      start(e);
    }
    curl_multi_poll(multi.get(), nullptr, 0, 100, nullptr);
  }
  const auto cpu_at_end = cpu_us();
  const double elapsed = std::chrono::duration<double>(Clock::now() - began).count();
  for (auto& h : handles) curl_multi_remove_handle(multi.get(), h.get());
  const double n = done > 0 ? static_cast<double>(done) : 1.0;
  std::printf("UPSTREAM_CLIENT requests=%ld rps=%.0f user_us=%.1f sys_us=%.1f cpu_us=%.1f failed=%ld\n", done,
              static_cast<double>(done) / elapsed, (cpu_at_end.first - cpu_at_start.first) / n,
              (cpu_at_end.second - cpu_at_start.second) / n,
              (cpu_at_end.first + cpu_at_end.second - cpu_at_start.first - cpu_at_start.second) / n, failed);
  return failed == 0 && done > 0 ? 0 : 1;
}
