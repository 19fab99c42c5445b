// Random hex tokens: secrets straight from the CSPRNG, ids from a per-thread reserve of it.
#include "util/random_hex.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>

namespace gateway {
namespace {

bool is_lower_hex(const std::string& text) {
  return text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST(RandomHexTest, IdsHaveTwoHexDigitsPerByte) {
  for (std::size_t n : {1u, 12u, 64u}) {
    const auto id = random_id_hex(n);
    EXPECT_EQ(id.size(), 2 * n);
    EXPECT_TRUE(is_lower_hex(id)) << id;
  }
  EXPECT_EQ(random_id_hex(5000).size(), 10000u) << "longer than the reserve: drawn directly";
}

TEST(RandomHexTest, IdsDoNotRepeatAcrossReserveRefills) {
  std::set<std::string> seen;
  for (int i = 0; i < 3000; ++i) {  // 36,000 bytes: the 4 KB reserve is refilled several times
    const auto id = random_id_hex(12);
    ASSERT_TRUE(seen.insert(id).second) << "repeated id " << id << " after " << i;
    ASSERT_NE(id, std::string(24, '0')) << "a used byte was handed out again";
  }
}

TEST(RandomHexTest, ThreadsDrawDifferentIds) {
  std::set<std::string> first;
  std::set<std::string> second;
  std::thread a([&first] {
    for (int i = 0; i < 500; ++i) first.insert(random_id_hex(12));
  });
  std::thread b([&second] {
    for (int i = 0; i < 500; ++i) second.insert(random_id_hex(12));
  });
  a.join();
  b.join();
  ASSERT_EQ(first.size(), 500u);
  ASSERT_EQ(second.size(), 500u);
  for (const auto& id : first) EXPECT_EQ(second.count(id), 0u) << id;
}

TEST(RandomHexTest, SecretsAreFreshEachCall) {
  EXPECT_EQ(random_hex(32).size(), 64u);
  EXPECT_NE(random_hex(32), random_hex(32));
}

}  // namespace
}  // namespace gateway
