// Background threads' scheduling classes: never left behind in SCHED_IDLE.
#include "util/thread_role.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <array>
#include <cstring>
#include <thread>

namespace gateway {
namespace {

TEST(ThreadRoleTest, FairAfterLeftoverIsBatchAgain) {
  int leftover_policy = -1;
  int fair_policy = -1;
  std::thread worker([&] {
    set_cpu_share(CpuShare::Leftover);
    leftover_policy = sched_getscheduler(0);
    set_cpu_share(CpuShare::Fair);
    fair_policy = sched_getscheduler(0);
  });
  worker.join();
  EXPECT_TRUE(leftover_policy == SCHED_IDLE || leftover_policy == SCHED_BATCH) << leftover_policy;
  EXPECT_EQ(fair_policy, SCHED_BATCH) << "a thread must never stay in SCHED_IDLE";
}

TEST(ThreadRoleTest, BackgroundThreadsAreNamedAndBatch) {
  std::array<char, 32> name{};
  int policy = -1;
  std::thread worker([&] {
    become_background_thread("gw-a-rather-long-name");
    pthread_getname_np(pthread_self(), name.data(), name.size());
    policy = sched_getscheduler(0);
  });
  worker.join();
  EXPECT_STREQ(name.data(), "gw-a-rather-lon") << "cut to the 15 characters Linux keeps";
  EXPECT_EQ(policy, SCHED_BATCH);
}

}  // namespace
}  // namespace gateway
