// The event a refused request reports for monitoring: the refusing limit and its level only.
#include "refusal.h"

#include <gtest/gtest.h>

namespace e2b::rate_limit {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

TEST(RefusalEvent, NamesTheRefusingLimitAndItsLevel) {
  Refusal refusal;
  refusal.limit = Limit::RequestsPerMinute;
  refusal.level = Level::Key;
  refusal.subject = "key_0123456789abcdef";
  const auto event = refusal_event(refusal);
  EXPECT_EQ(event.name, gateway::kEventRateLimited);
  EXPECT_EQ(event.labels, (Labels{{"limit", "requests_per_minute"}, {"level", "key"}}));
}

TEST(RefusalEvent, EveryLimitAtTheTenantLevelCarriesNoSubject) {
  for (std::size_t i = 0; i < kLimitCount; ++i) {
    Refusal refusal;
    refusal.limit = static_cast<Limit>(i);
    refusal.level = Level::Tenant;
    refusal.subject = "ten_secret_subject";
    const auto event = refusal_event(refusal);
    EXPECT_EQ(event.labels,
              (Labels{{"limit", std::string(gateway::RateLimits::kFields[i].name)}, {"level", "tenant"}}));
  }
}

}  // namespace
}  // namespace e2b::rate_limit
