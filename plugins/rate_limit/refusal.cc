// 429 answers for refused requests (see refusal.h).
#include "refusal.h"

namespace e2b::rate_limit {
namespace {

bool is_quota(Limit limit) {
  return limit == Limit::RequestsPerDay || limit == Limit::TokensPerDay || limit == Limit::TokensPerMonth;
}

bool counts_tokens(Limit limit) {
  return limit == Limit::TokensPerMinute || limit == Limit::TokensPerDay || limit == Limit::TokensPerMonth;
}

std::string message_of(const Refusal& r) {
  const std::string who = std::string(level_name(r.level)) + " " + r.subject;
  const std::string name(limit_name(r.limit));
  const std::string value = std::to_string(r.value);
  if (!r.retry_after) {
    return "Request too large for " + who + ": it may use " + std::to_string(r.needed) +
           " tokens (prompt plus max_tokens), more than the whole " + name + " limit of " + value +
           ", so it can never pass. Lower max_tokens.";
  }
  if (is_quota(r.limit)) {
    const std::string until = " until " + utc_timestamp(*r.reset_at);
    if (r.available == 0)
      return "Quota exceeded for " + who + ": " + name + " quota of " + value + " is used up" + until + ".";
    return "Quota exceeded for " + who + ": " + name + " quota of " + value + " has " +
           std::to_string(r.available) + " tokens left" + until + " and this request may use " +
           std::to_string(r.needed) + " (prompt plus max_tokens). Lower max_tokens or wait.";
  }
  if (r.limit == Limit::MaxConcurrent) {
    return "Rate limit reached for " + who + ": " + name + " limit " + value + " (" + std::to_string(r.used) +
           " requests in progress). Retry when one of them ends.";
  }
  std::string detail;
  if (counts_tokens(r.limit)) {
    detail = " (" + std::to_string(r.available) + " tokens left, this request may use " +
             std::to_string(r.needed) + ")";
  }
  return "Rate limit reached for " + who + ": " + name + " limit " + value + detail + ". Retry in " +
         std::to_string(*r.retry_after) + " s.";
}

}  // namespace

gateway::LocalResponse refusal_response(const Refusal& refusal) {
  const bool quota = is_quota(refusal.limit);
  const char* type = quota ? "insufficient_quota" : counts_tokens(refusal.limit) ? "tokens" : "requests";
  const char* code = quota ? "insufficient_quota" : "rate_limit_exceeded";
  auto response = gateway::openai_error(429, type, code, message_of(refusal));
  if (refusal.retry_after) response.headers.emplace_back("Retry-After", std::to_string(*refusal.retry_after));
  return response;
}

gateway::RequestEvent refusal_event(const Refusal& refusal) {
  return {gateway::kEventRateLimited,
          {{"limit", std::string(limit_name(refusal.limit))}, {"level", level_name(refusal.level)}}};
}

}  // namespace e2b::rate_limit
