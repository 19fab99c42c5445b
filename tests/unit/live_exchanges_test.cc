// The registry shutdown uses to end the chat answers still in flight.
#include <gtest/gtest.h>

#include "pipeline/request_state.h"

namespace gateway {
namespace {

class CountingMember : public LiveExchanges::Member {
 public:
  void end_for_shutdown() override { ++ended; }
  int ended = 0;
};

TEST(LiveExchangesTest, EndsEveryLiveMemberOnce) {
  LiveExchanges exchanges;
  auto first = std::make_shared<CountingMember>();
  auto second = std::make_shared<CountingMember>();
  auto removed = std::make_shared<CountingMember>();
  ASSERT_NE(exchanges.add(first), 0u);
  ASSERT_NE(exchanges.add(second), 0u);
  const auto id = exchanges.add(removed);
  exchanges.remove(id);
  EXPECT_EQ(exchanges.end_all(), 2u);
  EXPECT_EQ(first->ended, 1);
  EXPECT_EQ(second->ended, 1);
  EXPECT_EQ(removed->ended, 0) << "a logged answer is not ended again";
}

TEST(LiveExchangesTest, SkipsMembersThatAreGone) {
  LiveExchanges exchanges;
  auto gone = std::make_shared<CountingMember>();
  exchanges.add(gone);
  gone.reset();
  EXPECT_EQ(exchanges.end_all(), 0u);
}

TEST(LiveExchangesTest, RefusesRegistrationsAfterTheEnd) {
  LiveExchanges exchanges;
  exchanges.end_all();
  auto late = std::make_shared<CountingMember>();
  EXPECT_EQ(exchanges.add(late), 0u) << "an answer that starts after the end must end itself";
}

TEST(LiveExchangesTest, AMemberMayRemoveItselfWhileBeingEnded) {
  LiveExchanges exchanges;
  struct SelfRemoving : LiveExchanges::Member {
    LiveExchanges* registry = nullptr;
    std::uint64_t id = 0;
    void end_for_shutdown() override { registry->remove(id); }
  };
  auto member = std::make_shared<SelfRemoving>();
  member->registry = &exchanges;
  member->id = exchanges.add(member);
  EXPECT_EQ(exchanges.end_all(), 1u);
}

}  // namespace
}  // namespace gateway
