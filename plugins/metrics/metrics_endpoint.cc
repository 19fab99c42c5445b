// Serving /metrics (see metrics_endpoint.h).
#include "metrics_endpoint.h"

#include <iterator>
#include <sstream>

#include <prometheus/text_serializer.h>

#include "labels.h"

namespace e2b::metrics {

MetricsEndpoint::MetricsEndpoint(std::string token,
                                 std::vector<std::shared_ptr<const prometheus::Collectable>> sources)
    : token_(std::move(token)), sources_(std::move(sources)) {}

gateway::LocalResponse MetricsEndpoint::serve(const gateway::HttpRequest& request) const {
  if (request.method != "GET") return gateway::method_not_allowed("GET", "GET");
  if (!authorized(request)) {
    auto refusal = gateway::openai_error(401, "invalid_request_error", "invalid_metrics_token",
                                         "A valid metrics token is required: Authorization: Bearer <token>");
    refusal.headers.emplace_back("WWW-Authenticate", "Bearer");
    return refusal;
  }
  return gateway::LocalResponse{200, {{"Content-Type", kTextFormat}}, render()};
}

std::string MetricsEndpoint::render() const {
  std::vector<prometheus::MetricFamily> families;
  for (const auto& source : sources_) {
    auto collected = source->Collect();
    families.insert(families.end(), std::make_move_iterator(collected.begin()),
                    std::make_move_iterator(collected.end()));
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return std::move(out).str();
}

bool MetricsEndpoint::authorized(const gateway::HttpRequest& request) const {
  if (token_.empty()) return true;
  const auto header = gateway::find_header(request.headers, "authorization");
  constexpr std::string_view kScheme = "bearer ";
  if (!header || header->size() < kScheme.size() ||
      gateway::to_lower(header->substr(0, kScheme.size())) != kScheme) {
    return false;
  }
  std::string_view presented(*header);
  presented.remove_prefix(kScheme.size());
  while (!presented.empty() && presented.front() == ' ') presented.remove_prefix(1);
  while (!presented.empty() && presented.back() == ' ') presented.remove_suffix(1);
  return constant_time_equal(presented, token_);
}

}  // namespace e2b::metrics
