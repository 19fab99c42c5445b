// The metrics plugin's costs (see bench/README.md): (a) what its log phase spends on one finished
// request, (b) how long a scrape of a realistically large registry takes and how big it is.
// In-process, no network; every loop is bounded.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "gateway_metrics.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using gateway::Outcome;
using gateway::RequestRecord;

constexpr int kStatuses[] = {200, 400, 401, 404, 429, 502, 504};

/// Record `i` of a cycle that covers every model x tenant x status x stream combination.
RequestRecord record(int i, const std::vector<std::string>& models, int tenants) {
  const int model_count = static_cast<int>(models.size());
  const int statuses = static_cast<int>(std::size(kStatuses));
  RequestRecord r;
  r.route = i % 50 == 0 ? gateway::Route::Models : gateway::Route::ChatCompletions;
  r.model = models[static_cast<std::size_t>(i % model_count)];
  r.principal.tenant_id = "ten_" + std::to_string((i / model_count) % tenants);
  r.status = kStatuses[(i / (model_count * tenants)) % statuses];
  r.stream = (i / (model_count * tenants * statuses)) % 2 == 1;
  r.outcome = r.status == 200   ? Outcome::Completed
              : r.status >= 502 ? Outcome::UpstreamError
                                : Outcome::Rejected;
  r.error_code = r.outcome == Outcome::UpstreamError ? "upstream_error" : "";
  r.elapsed = std::chrono::microseconds(200'000 + i % 5'000'000);
  r.upstream_wait = r.elapsed - 300us;
  r.time_to_first_token = std::chrono::milliseconds(150 + i % 900);
  r.usage = {100 + i % 3000, 1 + i % 800, false};
  if (i % 10 == 0)
    r.events.push_back({gateway::kEventParameterAdjusted, {{"param", "temperature"}, {"policy", "clamp"}}});
  if (r.status == 429)
    r.events.push_back({gateway::kEventRateLimited, {{"limit", "requests_per_minute"}, {"level", "key"}}});
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"metrics plugin costs: on_log per record and scrape time"};
  int model_count = 20;
  int tenants = 50;
  int records = 1'000'000;
  int scrapes = 50;
  app.add_option("--models", model_count, "catalog models")->check(CLI::Range(1, 1000));
  app.add_option("--tenants", tenants, "tenants (tenant_labels on)")->check(CLI::Range(1, 10000));
  app.add_option("--records", records, "records observed")->check(CLI::Range(1000, 100'000'000));
  app.add_option("--scrapes", scrapes, "scrapes timed")->check(CLI::Range(1, 10000));
  CLI11_PARSE(app, argc, argv);

  gateway::ModelCatalog catalog;
  std::vector<std::string> models;
  for (int m = 0; m < model_count; ++m) {
    gateway::ModelInfo info;
    info.id = "model-" + std::to_string(m);
    models.push_back(info.id);
    catalog.add(std::move(info));
  }
  gateway::PluginHost host;
  host.models = &catalog;
  host.gateway_version = "bench";
  e2b::metrics::GatewayMetrics metrics({"", true}, host);

  // Every series first, so that the timed loop measures the steady state: cached handles, no new
  // series.
  std::vector<RequestRecord> batch;
  const int distinct = static_cast<int>(std::size(kStatuses)) * model_count * tenants * 2;
  for (int i = 0; i < distinct; ++i) batch.push_back(record(i, models, tenants));
  for (const auto& r : batch) metrics.observe(r);

  const auto start = Clock::now();
  for (int i = 0; i < records; ++i) metrics.observe(batch[static_cast<std::size_t>(i) % batch.size()]);
  const double ns_per_record =
      std::chrono::duration<double, std::nano>(Clock::now() - start).count() / records;

  std::vector<double> scrape_ms;
  std::size_t bytes = 0;
  std::size_t series = 0;
  for (int s = 0; s < scrapes; ++s) {
    const auto begin = Clock::now();
    const auto text = metrics.endpoint().render();
    scrape_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - begin).count());
    bytes = text.size();
    series = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  }
  std::sort(scrape_ms.begin(), scrape_ms.end());
  std::printf("models %d, tenants %d (tenant_labels on), records observed %d\n", model_count, tenants,
              records);
  std::printf("on_log observation: %.0f ns per record\n", ns_per_record);
  std::printf(
      "scrape (Collect + text serialization): median %.2f ms, worst %.2f ms over %d; %zu bytes, %zu lines\n",
      scrape_ms[scrape_ms.size() / 2], scrape_ms.back(), scrapes, bytes, series);
  return 0;
}
