// Stored per-user keys: created with the CLI against a real SQLite file, used over HTTP.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "harness.h"

using namespace harness;
using nlohmann::json;
using namespace std::chrono_literals;

class KeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = (dir_.path() / "gateway.db").string();
    config_ = dir_.path() / "config.yaml";
    // The CLI checks a key's models against the catalog of the configuration it is given.
    std::ofstream(config_) << "storage: {path: " << db_ << "}\nproviders: {openai: {name: OpenAI}}\n"
                           << "models:\n  - {id: gpt-4o, provider_id: openai}\n"
                           << "  - {id: gpt-4o-mini, provider_id: openai}\n";
    tenant_ = cli_output(config_, "tenants create 'Team A'");
    ASSERT_TRUE(tenant_.starts_with("ten_")) << tenant_;
  }
  Gateway start() {
    GatewayOptions options;
    options.upstream_base = upstream_.base_url();
    options.storage_path = db_;
    return Gateway(options);
  }
  TempDir dir_;
  FakeUpstream upstream_;
  std::string db_;
  std::filesystem::path config_;
  std::string tenant_;
};

TEST_F(KeysTest, CreatedKeyWorksAndOnlyItsDigestIsStored) {
  const auto key =
      cli_output(config_, "keys create --tenant " + tenant_ + " --user alice@example.com --alias laptop");
  ASSERT_TRUE(key.starts_with("sk-e2b-")) << key;
  EXPECT_GE(key.size(), 7u + 43u) << "32 random bytes, base64url";
  auto gateway = start();
  const auto r = chat(gateway.port(), key, scenario_request("ok", false));
  EXPECT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(eventually([&] { return gateway.log().find("key=sk-e2b-") != std::string::npos; }));
  EXPECT_EQ(gateway.log().find(key), std::string::npos) << "the key never reaches the log";
  std::ifstream db(db_, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(db)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.find(key.substr(7)), std::string::npos) << "the secret is not in the database";
  EXPECT_EQ(cli_output(config_, "keys list").find(key.substr(12)), std::string::npos)
      << "listing never shows the secret";
}

TEST_F(KeysTest, RevokedKeyIsRefused) {
  const auto key = cli_output(config_, "keys create --tenant " + tenant_ + " --user bob@example.com");
  const auto list = cli_output(config_, "keys list");
  const auto id = list.substr(0, list.find('\t'));
  ASSERT_TRUE(id.starts_with("key_")) << list;
  EXPECT_NE(cli_output(config_, "keys revoke " + id).find("revoked"), std::string::npos);
  auto gateway = start();
  const auto r = chat(gateway.port(), key, scenario_request("ok", false));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "invalid_api_key");
}

TEST_F(KeysTest, ExpiredKeyIsRefused) {
  const auto key =
      cli_output(config_, "keys create --tenant " + tenant_ + " --user carol@example.com --expires 1s");
  ASSERT_TRUE(key.starts_with("sk-e2b-"));
  auto gateway = start();
  EXPECT_TRUE(
      eventually([&] { return chat(gateway.port(), key, scenario_request("ok", false)).status == 401; }, 5s))
      << "refused once its second has passed";
}

TEST_F(KeysTest, AllowedModelsAreEnforcedAndListed) {
  const auto key =
      cli_output(config_, "keys create --tenant " + tenant_ + " --user dan@example.com --models gpt-4o-mini");
  auto gateway = start();
  EXPECT_EQ(chat(gateway.port(), key, scenario_request("ok", false, "gpt-4o")).status, 403);
  EXPECT_EQ(chat(gateway.port(), key, scenario_request("ok", false, "gpt-4o-mini")).status, 200);
  const auto models =
      json::parse(http(gateway.port(), "GET", "/v1/models", {{"Authorization", "Bearer " + key}}).body);
  ASSERT_EQ(models["data"].size(), 1u);
  EXPECT_EQ(models["data"][0]["id"], "gpt-4o-mini");
}

TEST_F(KeysTest, UnknownTenantIsRefusedByTheCli) {
  const auto result = cli(config_, "keys create --tenant ten_missing --user x");
  EXPECT_TRUE(exited_with(result, kAnyFailure));
  EXPECT_EQ(result.out, "") << "no key is printed";
  EXPECT_NE(result.err.find("ten_missing"), std::string::npos) << result.err;
}

TEST_F(KeysTest, UnknownModelIsRefusedByTheCli) {
  const auto result =
      cli(config_, "keys create --tenant " + tenant_ + " --user x --models gpt-4o,no-such-model");
  EXPECT_TRUE(exited_with(result, kAnyFailure));
  EXPECT_EQ(result.out, "") << "no key is printed";
  EXPECT_NE(result.err.find("no-such-model"), std::string::npos) << result.err;
  EXPECT_TRUE(cli_output(config_, "keys create --tenant " + tenant_ + " --user x --models gpt-4o")
                  .starts_with("sk-e2b-"));
}
