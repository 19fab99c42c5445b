// GET /metrics: checks the method and the scrape token, then renders every metric source in the
// Prometheus text format. Served the same way on the main and the admin listener.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <prometheus/collectable.h>

#include "gateway/http_types.h"

namespace e2b::metrics {

/// The Content-Type of the Prometheus text exposition format.
inline constexpr const char* kTextFormat = "text/plain; version=0.0.4; charset=utf-8";

class MetricsEndpoint {
 public:
  /// `token` empty = open scrapes; `sources` are collected in order at each scrape.
  MetricsEndpoint(std::string token, std::vector<std::shared_ptr<const prometheus::Collectable>> sources);

  /// The answer to a request for /metrics: 405 for methods other than GET, 401 (OpenAI-shaped)
  /// without `Authorization: Bearer <token>` when a token is set, else 200 with the metrics.
  gateway::LocalResponse serve(const gateway::HttpRequest& request) const;

  /// Every source's metrics, in the text format.
  std::string render() const;

 private:
  bool authorized(const gateway::HttpRequest& request) const;

  std::string token_;
  std::vector<std::shared_ptr<const prometheus::Collectable>> sources_;
};

}  // namespace e2b::metrics
