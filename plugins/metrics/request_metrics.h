// The per-request metrics: what the log phase observes from each RequestRecord (counts,
// durations, tokens, outcomes, upstream errors and the events plugins reported).
#pragma once

#include <array>
#include <memory>

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "gateway/plugin.h"
#include "series_cache.h"

namespace e2b::metrics {

/// Bucket upper bounds, in seconds, of the plugin's histograms.
struct HistogramBounds {
  /// Whole requests: a few ms (health, models, refusals) to minutes (long answers).
  static prometheus::Histogram::BucketBoundaries request_duration();
  static prometheus::Histogram::BucketBoundaries time_to_first_token();
  static prometheus::Histogram::BucketBoundaries time_per_output_token();
  /// The gateway's own share of a request: fine-grained from 50 µs up to 1 s.
  static prometheus::Histogram::BucketBoundaries overhead();
};

/// Registers the per-request families on `registry` and updates them from finished requests.
/// observe() is called by one thread at a time (the gateway's single log worker); a scrape may
/// run concurrently, guarded by prometheus-cpp's own per-family and per-metric primitives.
class RequestMetrics {
 public:
  /// `catalog` bounds the model label (null: every model is `other`); `tenant_labels` adds the
  /// tenant to gateway_tokens_total.
  RequestMetrics(prometheus::Registry& registry, const gateway::ModelCatalog* catalog, bool tenant_labels);

  void observe(const gateway::RequestRecord& record);

 private:
  void observe_chat(const gateway::RequestRecord& record, const std::string& model);
  void observe_events(const gateway::RequestRecord& record);

  const gateway::ModelCatalog* catalog_;
  bool tenant_labels_;
  SeriesCache<prometheus::Counter> requests_;
  SeriesCache<prometheus::Histogram, prometheus::Histogram::BucketBoundaries> durations_;
  SeriesCache<prometheus::Histogram, prometheus::Histogram::BucketBoundaries> overhead_;
  SeriesCache<prometheus::Histogram, prometheus::Histogram::BucketBoundaries> time_to_first_token_;
  SeriesCache<prometheus::Histogram, prometheus::Histogram::BucketBoundaries> time_per_output_token_;
  SeriesCache<prometheus::Counter> tokens_;
  SeriesCache<prometheus::Counter> upstream_errors_;
  SeriesCache<prometheus::Counter> rate_limited_;
  SeriesCache<prometheus::Counter> constraints_adjusted_;
  std::array<prometheus::Counter*, std::size(gateway::kAllOutcomes)> outcomes_{};
};

}  // namespace e2b::metrics
