// The rule that records who a failed answer belongs to: the client, the upstream, or time.
#include <gtest/gtest.h>

#include "pipeline/log_worker.h"
#include "pipeline/outcome_rule.h"

namespace gateway {
namespace {

TEST(OutcomeRuleTest, EachStatusNamesWhoFailed) {
  struct Row {
    int status;
    const char* why;
    Outcome outcome;
  };
  const Row rows[] = {
      {200, "answered", Outcome::Completed},
      {204, "a CORS preflight", Outcome::Completed},
      {400, "invalid JSON, bad parameter, image not supported, framing", Outcome::Rejected},
      {401, "no or wrong key", Outcome::Rejected},
      {403, "model not allowed for the key", Outcome::Rejected},
      {404, "unknown model or path", Outcome::Rejected},
      {405, "method not allowed", Outcome::Rejected},
      {413, "body too large", Outcome::Rejected},
      {431, "head too large", Outcome::Rejected},
      {500, "the gateway failed (internal_error)", Outcome::UpstreamError},
      {501, "a Transfer-Encoding the gateway lacks", Outcome::Rejected},
      {502, "upstream error, garbage, reset, unreachable, empty or incomplete answer",
       Outcome::UpstreamError},
      {503, "upstream overloaded, no upstream", Outcome::UpstreamError},
      {504, "connect, first-byte or idle timeout", Outcome::Timeout},
      {505, "an HTTP version the gateway lacks", Outcome::Rejected},
  };
  for (const auto& row : rows) {
    for (const auto source : {AnswerSource::Gateway, AnswerSource::Upstream}) {
      EXPECT_STREQ(outcome_name(outcome_for_status(row.status, source)), outcome_name(row.outcome))
          << row.status << " (" << row.why << ")";
    }
  }
}

TEST(OutcomeRuleTest, A429IsTheClientsLimitFromTheGatewayAndTheUpstreamsFromUpstream) {
  EXPECT_EQ(outcome_for_status(429, AnswerSource::Gateway), Outcome::Rejected);
  EXPECT_EQ(outcome_for_status(429, AnswerSource::Upstream), Outcome::UpstreamError);
}

TEST(OutcomeRuleTest, NoStatusIsRecordedAsCancelled) {
  for (int status = 100; status < 600; ++status) {
    EXPECT_NE(outcome_for_status(status, AnswerSource::Gateway), Outcome::ClientCancelled) << status;
    EXPECT_NE(outcome_for_status(status, AnswerSource::Upstream), Outcome::ClientCancelled) << status;
  }
}

}  // namespace
}  // namespace gateway
