// x-ratelimit-* headers (see limit_headers.h).
#include "limit_headers.h"

namespace e2b::rate_limit {

std::string openai_duration(std::chrono::milliseconds duration) {
  const long long ms = duration.count();
  if (ms <= 0) return "0s";
  if (ms < 1000) return std::to_string(ms) + "ms";
  const long long total = (ms + 999) / 1000;
  const long long hours = total / 3600;
  const long long minutes = total % 3600 / 60;
  const long long seconds = total % 60;
  std::string out;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  return out + std::to_string(seconds) + "s";
}

gateway::Headers limit_headers(const Meters& meters) {
  gateway::Headers out;
  const auto add = [&out](const std::optional<Meter>& meter, const std::string& kind) {
    if (!meter) return;
    out.emplace_back("x-ratelimit-limit-" + kind, std::to_string(meter->limit));
    out.emplace_back("x-ratelimit-remaining-" + kind, std::to_string(meter->remaining));
    out.emplace_back("x-ratelimit-reset-" + kind, openai_duration(meter->reset));
  };
  add(meters.requests, "requests");
  add(meters.tokens, "tokens");
  return out;
}

}  // namespace e2b::rate_limit
