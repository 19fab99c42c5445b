// OpenAI errors for Fragments' failure statuses and transport failures.
#include "error_mapping.h"

#include <algorithm>
#include <charconv>

namespace e2b::fragments {
namespace {

std::string said(const std::string& body) {
  std::string text = body.substr(0, 300);
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text.empty() ? std::string() : " (Fragments said: " + text + ")";
}

using Clock = std::chrono::system_clock;

/// Fragments' limiter window is one day at most; a later reset is not believed.
constexpr auto kLongestWindow = std::chrono::hours(24);

}  // namespace

std::optional<Clock::time_point> limit_reset(const gateway::Headers& headers) {
  const auto reset = gateway::find_header(headers, "x-ratelimit-reset");
  if (!reset) return std::nullopt;
  long long reset_ms = 0;
  const auto [end, error] = std::from_chars(reset->data(), reset->data() + reset->size(), reset_ms);
  if (error != std::errc() || end != reset->data() + reset->size()) return std::nullopt;  // malformed
  return Clock::time_point(std::chrono::milliseconds(reset_ms));
}

long long retry_after_seconds(Clock::time_point reset, Clock::time_point now) {
  const auto wait = std::clamp<Clock::duration>(reset - now, Clock::duration::zero(), kLongestWindow);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wait).count();
  return std::max<long long>(1, (ms + 999) / 1000);
}

gateway::LocalResponse rate_limit_refusal(Clock::time_point until, Clock::time_point now) {
  const auto seconds = retry_after_seconds(until, now);
  auto response = gateway::openai_error(
      429, "requests", "rate_limit_exceeded",
      "The upstream's daily request limit is reached; the gateway holds requests back until it resets in " +
          std::to_string(seconds) + " s");
  response.headers.emplace_back("Retry-After", std::to_string(seconds));
  return response;
}

gateway::LocalResponse map_upstream_status(int status, const gateway::Headers& headers,
                                           const std::string& body,
                                           std::chrono::system_clock::time_point now) {
  using gateway::openai_error;
  if (status == 429) {
    auto response = openai_error(429, "requests", "rate_limit_exceeded",
                                 "The upstream rate limit was reached; retry later" + said(body));
    if (const auto reset = limit_reset(headers)) {
      response.headers.emplace_back("Retry-After", std::to_string(retry_after_seconds(*reset, now)));
    }
    return response;
  }
  if (status == 503 || status == 529) {
    auto response = openai_error(503, "server_error", "upstream_overloaded",
                                 "The model provider is overloaded; retry later" + said(body));
    response.headers.emplace_back("Retry-After", "5");
    return response;
  }
  if (status == 401 || status == 403) {
    return openai_error(502, "upstream_error", "upstream_auth_failed",
                        "The upstream rejected its model-provider credentials; ask the gateway operator "
                        "to check the provider API key" +
                            said(body));
  }
  if (status == 404 || status == 405) {
    return openai_error(502, "upstream_error", "upstream_misconfigured",
                        "The upstream does not serve /api/chat (HTTP " + std::to_string(status) +
                            "); check upstream.base_url");
  }
  return openai_error(502, "upstream_error", "upstream_error",
                      "The upstream failed with HTTP " + std::to_string(status) + said(body));
}

gateway::LocalResponse map_transport_failure(gateway::UpstreamEnd end, const std::string& detail) {
  using gateway::openai_error;
  using gateway::UpstreamEnd;
  const std::string why = detail.empty() ? "" : " (" + detail + ")";
  switch (end) {
    case UpstreamEnd::ConnectFailed:
      return openai_error(502, "upstream_error", "upstream_unreachable",
                          "Cannot connect to the upstream" + why);
    case UpstreamEnd::ConnectTimeout:
      return openai_error(504, "timeout", "upstream_timeout", "Connecting to the upstream timed out" + why);
    case UpstreamEnd::FirstByteTimeout:
      return openai_error(504, "timeout", "upstream_timeout", "The upstream did not start answering in time");
    case UpstreamEnd::IdleTimeout:
      return openai_error(504, "timeout", "upstream_timeout",
                          "The upstream stopped sending in the middle of the answer");
    case UpstreamEnd::Reset:
      return openai_error(502, "upstream_error", "upstream_disconnected",
                          "The upstream connection closed before the answer was complete" + why);
    case UpstreamEnd::Protocol:
      return openai_error(502, "upstream_error", "bad_upstream_response",
                          "The upstream sent an invalid HTTP response" + why);
    case UpstreamEnd::Complete:
      break;
  }
  return openai_error(502, "upstream_error", "upstream_error", "The upstream failed" + why);
}

}  // namespace e2b::fragments
