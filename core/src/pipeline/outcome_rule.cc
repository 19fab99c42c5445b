// Who a failed answer belongs to, from its status and who decided it.
#include "pipeline/outcome_rule.h"

namespace gateway {

Outcome outcome_for_status(int status, AnswerSource source) {
  if (status < 400) return Outcome::Completed;
  if (status == 504) return Outcome::Timeout;
  if (status == 429) return source == AnswerSource::Upstream ? Outcome::UpstreamError : Outcome::Rejected;
  if (status < 500 || status == 501 || status == 505) return Outcome::Rejected;
  return Outcome::UpstreamError;
}

}  // namespace gateway
