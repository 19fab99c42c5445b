// Usage accounting against a real SQLite file: one row per chat request with the right outcome,
// nothing lost on SIGTERM, and a database that survives kill -9.
#include <gtest/gtest.h>

#include "harness.h"

using namespace harness;
using nlohmann::json;

class UsageTest : public ::testing::Test {
 protected:
  Gateway start() {
    GatewayOptions options;
    options.upstream_base = upstream_.base_url();
    options.storage_path = db_;
    options.idle_timeout_ms = 1000;
    return Gateway(options);
  }
  TempDir dir_;
  FakeUpstream upstream_;
  std::string db_ = (dir_.path() / "gateway.db").string();
};

TEST_F(UsageTest, EveryChatRequestGetsOneRowWithItsOutcome) {
  auto gateway = start();
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(chat(gateway.port(), gateway.key(), scenario_request("ok", i % 2 == 0)).status, 200);
  }
  EXPECT_EQ(chat(gateway.port(), gateway.key(), scenario_request("status=500", false)).status, 502);
  EXPECT_EQ(chat(gateway.port(), gateway.key(), scenario_request("ok", false, "no-such-model")).status, 404);
  for (int i = 0; i < 3; ++i) {  // cancelled by the client mid-stream
    Connection c(gateway.port());
    c.send_raw(chat_request_text(gateway.key(), scenario_request("long=100000,delay_ms=20", true)));
    std::string seen;
    for (int reads = 0; reads < 50 && seen.find(" line 0001") == std::string::npos; ++reads) {
      seen += c.read_some(std::chrono::milliseconds(200));
    }
    ASSERT_NE(seen.find(" line 0001"), std::string::npos) << "some of the answer arrived before the abort";
    c.abort();
  }
  ASSERT_TRUE(
      eventually([&] { return gateway.log().find("outcome=client_cancelled") != std::string::npos; }));
  EXPECT_EQ(gateway.stop(), 0);
  EXPECT_EQ(usage_row_count(db_), 11);
  EXPECT_EQ(usage_row_count(db_, "outcome = 'completed'"), 6);
  EXPECT_EQ(usage_row_count(db_, "outcome = 'upstream_error'"), 1);
  EXPECT_EQ(usage_row_count(db_, "outcome = 'rejected' AND status = 404"), 1);
  EXPECT_EQ(usage_row_count(db_, "outcome = 'client_cancelled'"), 3);
  EXPECT_EQ(usage_row_count(db_, "outcome = 'client_cancelled' AND completion_tokens > 0"), 3)
      << "cancelled streams record what was delivered";
  EXPECT_EQ(usage_row_count(db_, "stream = 1 AND outcome = 'completed'"), 3);
  EXPECT_EQ(usage_row_count(db_, "key_id LIKE 'static-%' AND model = 'gpt-4o' AND upstream_model = 'gpt-4o'"),
            10);
  const auto daily = sql_column(db_, "SELECT SUM(requests) FROM usage_daily");
  EXPECT_EQ(daily.at(0), "11") << "the daily aggregate is kept in step";
}

TEST_F(UsageTest, SigtermUnderLoadLosesNoRow) {
  auto gateway = start();
  constexpr int kRequests = 60;
  std::vector<std::unique_ptr<Connection>> clients;
  for (int i = 0; i < kRequests; ++i) {
    clients.push_back(std::make_unique<Connection>(gateway.port()));
    clients.back()->send_raw(
        chat_request_text(gateway.key(), scenario_request("long=3000,delay_ms=5", i % 2 == 0)));
  }
  ASSERT_TRUE(eventually([&] { return upstream_.stats()["requests"].get<int>() == kRequests; }));
  EXPECT_EQ(gateway.stop(), 0);
  EXPECT_EQ(usage_row_count(db_), kRequests);
  EXPECT_EQ(usage_row_count(db_, "outcome = 'completed'"), kRequests)
      << "answers in flight were allowed to finish";
}

TEST_F(UsageTest, KillNineLeavesAConsistentDatabase) {
  auto gateway = start();
  for (int i = 0; i < 20; ++i) chat(gateway.port(), gateway.key(), scenario_request("ok", false));
  ASSERT_TRUE(eventually([&] { return usage_row_count(db_) == 20; }))
      << "every row is committed before the kill";
  gateway.kill();
  EXPECT_EQ(sql_column(db_, "PRAGMA integrity_check").at(0), "ok");
  EXPECT_EQ(usage_row_count(db_), 20) << "rows committed before the kill are there";
}
