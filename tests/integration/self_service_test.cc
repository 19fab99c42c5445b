// Self-service on the main port: GET /v1/me and GET /v1/me/usage with the caller's own key, for
// keys created with the CLI and for keys in the configuration.
#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <fstream>

#include "harness.h"

using namespace harness;
using nlohmann::json;

namespace {

std::map<std::string, std::string> bearer(const std::string& key) {
  return {{"Authorization", "Bearer " + key}};
}

/// Checks the OpenAI error shape and returns the error object.
json openai_error(const Response& r) {
  const auto body = json::parse(r.body, nullptr, false);
  EXPECT_TRUE(body.is_object() && body.contains("error")) << r.body;
  if (!body.is_object() || !body.contains("error")) return json::object();
  const auto& error = body["error"];
  for (const char* field : {"message", "type", "param", "code"})
    EXPECT_TRUE(error.contains(field)) << field << " missing: " << r.body;
  EXPECT_TRUE(error["message"].is_string()) << r.body;
  EXPECT_TRUE(error["type"].is_string()) << r.body;
  return error;
}

std::int64_t now_seconds() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

}  // namespace

class SelfServiceTest : public ::testing::Test {
 protected:
  // Started by the first test rather than in SetUpTestSuite, whose failures would only show as
  // skipped tests.
  void SetUp() override {
    if (!gateway_) start_suite();
    ASSERT_NE(gateway_, nullptr) << "the suite could not start its gateway";
  }
  static void start_suite() {
    dir_ = std::make_unique<TempDir>();
    db_ = (dir_->path() / "gateway.db").string();
    const auto config = dir_->path() / "config.yaml";
    // The CLI checks --models against the configured catalog.
    std::ofstream(config) << "storage: {path: " << db_ << "}\n"
                          << "providers:\n  openai: {name: OpenAI}\nmodels:\n"
                          << "  - {id: gpt-4o, provider_id: openai, name: GPT-4o}\n"
                          << "  - {id: gpt-4o-mini, provider_id: openai, name: GPT-4o Mini}\n";
    tenant_ = cli_output(config, "tenants create 'Team A'");
    ASSERT_TRUE(tenant_.starts_with("ten_")) << tenant_;
    alice_ = cli_output(
        config, "keys create --tenant " + tenant_ +
                    " --user alice@example.com --alias laptop --models gpt-4o,gpt-4o-mini --expires 30d");
    bob_ = cli_output(config, "keys create --tenant " + tenant_ + " --user bob@example.com");
    carol_ = cli_output(config, "keys create --tenant " + tenant_ + " --user carol@example.com");
    for (const auto* key : {&alice_, &bob_, &carol_}) ASSERT_TRUE(key->starts_with("sk-e2b-")) << *key;
    const auto id_of = [](const std::string& user) {
      const auto ids = sql_column(db_, "SELECT id FROM api_keys WHERE user = '" + user + "'");
      return ids.size() == 1 ? ids[0] : std::string();
    };
    alice_id_ = id_of("alice@example.com");
    bob_id_ = id_of("bob@example.com");
    carol_id_ = id_of("carol@example.com");
    ASSERT_TRUE(alice_id_.starts_with("key_") && bob_id_.starts_with("key_") &&
                carol_id_.starts_with("key_"));
    upstream_ = std::make_unique<FakeUpstream>();
    GatewayOptions options;
    options.upstream_base = upstream_->base_url();
    options.storage_path = db_;
    gateway_ = std::make_unique<Gateway>(options);
  }
  static void TearDownTestSuite() {
    gateway_.reset();
    upstream_.reset();
    dir_.reset();
  }
  static Response get(const std::string& path, const std::string& key) {
    return http(gateway_->port(), "GET", path, bearer(key));
  }
  static json usage_of(const std::string& key, const std::string& query = "") {
    const auto r = get("/v1/me/usage" + query, key);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  }

  static inline std::unique_ptr<TempDir> dir_;
  static inline std::unique_ptr<FakeUpstream> upstream_;
  static inline std::unique_ptr<Gateway> gateway_;
  static inline std::string db_, tenant_;
  static inline std::string alice_, bob_, carol_;
  static inline std::string alice_id_, bob_id_, carol_id_;
};

TEST_F(SelfServiceTest, MeDescribesAStoredKeyButNeverItsSecret) {
  const auto r = get("/v1/me", alice_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.headers.at("content-type").find("application/json"), std::string::npos);
  const auto me = json::parse(r.body);
  EXPECT_EQ(me["object"], "me");
  EXPECT_EQ(me["user"], "alice@example.com");
  const auto& key = me["key"];
  EXPECT_EQ(key["id"], alice_id_);
  EXPECT_EQ(key["prefix"], alice_.substr(0, 11) + "…");
  EXPECT_EQ(key["alias"], "laptop");
  EXPECT_EQ(key["status"], "active");
  EXPECT_EQ(key["models"], (json{"gpt-4o", "gpt-4o-mini"}));
  EXPECT_EQ(key["source"], "database");
  ASSERT_TRUE(key["expires_at"].is_number_integer()) << r.body;
  const auto expires = key["expires_at"].get<std::int64_t>();
  EXPECT_NEAR(static_cast<double>(expires), static_cast<double>(now_seconds() + 30 * 86400), 300.0);
  ASSERT_TRUE(key["created_at"].is_number_integer()) << r.body;
  EXPECT_NEAR(static_cast<double>(key["created_at"].get<std::int64_t>()), static_cast<double>(now_seconds()),
              300.0);
  EXPECT_EQ(me["tenant"]["id"], tenant_);
  EXPECT_EQ(me["tenant"]["name"], "Team A");
  EXPECT_EQ(me["tenant"]["status"], "active");
  EXPECT_EQ(r.body.find(alice_), std::string::npos) << "never the secret";
  EXPECT_EQ(r.body.find(alice_.substr(11)), std::string::npos) << "not even its hidden part";
  const auto digest = sql_column(db_, "SELECT digest FROM api_keys WHERE id = '" + alice_id_ + "'");
  ASSERT_EQ(digest.size(), 1u);
  EXPECT_EQ(r.body.find(digest[0]), std::string::npos) << "nor its digest";
  EXPECT_FALSE(key.contains("digest"));
  EXPECT_FALSE(key.contains("secret"));

  const auto other = json::parse(get("/v1/me", bob_).body);
  EXPECT_EQ(other["user"], "bob@example.com");
  EXPECT_EQ(other["key"]["id"], bob_id_);
  EXPECT_EQ(other["key"]["alias"], "");
  EXPECT_EQ(other["key"]["models"], json::array()) << "no restriction: every model";
  EXPECT_TRUE(other["key"]["expires_at"].is_null());
}

TEST_F(SelfServiceTest, ConfigKeysAreDescribedFromTheConfiguration) {
  auto r = get("/v1/me", gateway_->key());
  ASSERT_EQ(r.status, 200) << r.body;
  auto me = json::parse(r.body);
  EXPECT_EQ(me["key"]["source"], "config");
  EXPECT_TRUE(me["key"]["id"].get<std::string>().starts_with("static-")) << r.body;
  EXPECT_EQ(me["key"]["prefix"], gateway_->key().substr(0, 11) + "…");
  EXPECT_EQ(me["user"], "static");
  EXPECT_EQ(me["tenant"]["id"], "static");
  EXPECT_TRUE(me["key"]["expires_at"].is_null());
  EXPECT_EQ(r.body.find(gateway_->key()), std::string::npos) << "never the secret";

  r = get("/v1/me", "sk-test-limited-0123456789");
  ASSERT_EQ(r.status, 200) << r.body;
  me = json::parse(r.body);
  EXPECT_EQ(me["key"]["source"], "config");
  EXPECT_EQ(me["user"], "limited@example.com");
  EXPECT_EQ(me["key"]["models"], (json{"gpt-4o-mini"}));
  EXPECT_EQ(r.body.find("sk-test-limited-0123456789"), std::string::npos);
}

TEST_F(SelfServiceTest, WithoutAValidKeyTheAnswerIs401) {
  for (const std::string path : {"/v1/me", "/v1/me/usage"}) {
    auto r = http(gateway_->port(), "GET", path);
    EXPECT_EQ(r.status, 401) << path << " " << r.body;
    EXPECT_EQ(openai_error(r)["code"], "missing_api_key") << path;
    r = get(path, "sk-e2b-this-key-does-not-exist-0123456789abcdefghijklmnop");
    EXPECT_EQ(r.status, 401) << path << " " << r.body;
    EXPECT_EQ(openai_error(r)["code"], "invalid_api_key") << path;
    EXPECT_EQ(r.body.find("this-key-does-not-exist"), std::string::npos) << "the presented key is masked";
  }
}

TEST_F(SelfServiceTest, OnlyGetIsAllowed) {
  for (const std::string method : {"POST", "PUT", "DELETE", "PATCH"}) {
    for (const std::string path : {"/v1/me", "/v1/me/usage"}) {
      const auto r =
          http(gateway_->port(), method, path,
               {{"Authorization", "Bearer " + alice_}, {"Content-Type", "application/json"}}, "{}");
      EXPECT_EQ(r.status, 405) << method << " " << path << " " << r.body;
      EXPECT_EQ(openai_error(r)["type"], "invalid_request_error");
      ASSERT_TRUE(r.headers.contains("allow")) << method << " " << path;
      EXPECT_NE(r.headers.at("allow").find("GET"), std::string::npos);
    }
  }
}

TEST_F(SelfServiceTest, UsageCountsTheCallersOwnRequestsOnly) {
  // bob: three plain and two streamed answers on two models; carol: two of her own.
  for (int i = 0; i < 5; ++i) {
    const bool stream = i >= 3;
    const auto r =
        chat(gateway_->port(), bob_, scenario_request("ok", stream, stream ? "gpt-4o-mini" : "gpt-4o"));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(chat(gateway_->port(), carol_, scenario_request("ok", i == 0)).status, 200);

  // Usage rows reach the database shortly after each answer.
  json report;
  EXPECT_TRUE(eventually([&] {
    report = usage_of(bob_);
    return report.value("totals", json::object()).value("requests", 0) == 5;
  })) << report.dump();
  EXPECT_EQ(report["object"], "usage_report");
  EXPECT_EQ(report["key"], bob_id_);
  EXPECT_EQ(report["group_by"], (json{"day"})) << "grouped by day unless asked otherwise";
  EXPECT_EQ(report["totals"]["errors"], 0);
  EXPECT_GT(report["totals"]["prompt_tokens"].get<int>(), 0);
  EXPECT_GT(report["totals"]["completion_tokens"].get<int>(), 0);
  int by_day = 0;
  for (const auto& row : report["data"]) by_day += row["requests"].get<int>();
  EXPECT_EQ(by_day, 5);
  EXPECT_TRUE(eventually([&] { return usage_of(carol_)["totals"]["requests"] == 2; }))
      << "another key's requests are not counted";
  EXPECT_EQ(usage_of(bob_)["totals"]["requests"], 5) << "still only bob's own requests";
  EXPECT_EQ(usage_of(alice_)["totals"]["requests"], 0);
  const auto me = [&](const std::string& key) { return json::parse(get("/v1/me", key).body)["key"]; };
  EXPECT_TRUE(me(alice_)["last_used_at"].is_null()) << "alice made no chat request";
  ASSERT_TRUE(me(bob_)["last_used_at"].is_number_integer());
  EXPECT_NEAR(static_cast<double>(me(bob_)["last_used_at"].get<std::int64_t>()),
              static_cast<double>(now_seconds()), 300.0);

  report = usage_of(bob_, "?group_by=model");
  EXPECT_EQ(report["group_by"], (json{"model"}));
  ASSERT_EQ(report["data"].size(), 2u) << report.dump();
  EXPECT_EQ(report["data"][0]["model"], "gpt-4o");
  EXPECT_EQ(report["data"][0]["requests"], 3);
  EXPECT_EQ(report["data"][1]["model"], "gpt-4o-mini");
  EXPECT_EQ(report["data"][1]["requests"], 2);

  report = usage_of(bob_, "?group_by=day,model");
  EXPECT_EQ(report["group_by"], (json{"day", "model"}));
  EXPECT_GE(report["data"].size(), 2u) << report.dump();

  char today[16];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(today, sizeof today, "%Y-%m-%d", &tm);
  report = usage_of(bob_, std::string("?from=") + today + "&to=" + today);
  EXPECT_EQ(report["from"], today);
  EXPECT_EQ(report["to"], today);
  EXPECT_EQ(report["totals"]["requests"], 5) << report.dump();
  report = usage_of(bob_, "?from=2100-01-01");
  EXPECT_EQ(report["totals"]["requests"], 0) << report.dump();
  report = usage_of(bob_, "?to=2000-01-01");
  EXPECT_EQ(report["totals"]["requests"], 0) << report.dump();
}

TEST_F(SelfServiceTest, ConfigKeysHaveUsageToo) {
  const auto before = usage_of(gateway_->key())["totals"]["requests"].get<int>();
  ASSERT_EQ(chat(gateway_->port(), gateway_->key(), scenario_request("ok", false)).status, 200);
  EXPECT_TRUE(eventually([&] { return usage_of(gateway_->key())["totals"]["requests"] == before + 1; }));
  EXPECT_TRUE(usage_of(gateway_->key())["key"].get<std::string>().starts_with("static-"));
}

TEST_F(SelfServiceTest, InvalidUsageQueriesAre400WithTheField) {
  const std::vector<std::pair<std::string, std::string>> cases{{"?group_by=key", "group_by"},
                                                               {"?group_by=tenant", "group_by"},
                                                               {"?group_by=day,key", "group_by"},
                                                               {"?from=yesterday", "from"},
                                                               {"?from=2026-02-30", "from"},
                                                               {"?to=garbage", "to"},
                                                               {"?from=2026-03-02&to=2026-03-01", "to"},
                                                               {"?key=" + carol_id_, "key"},
                                                               {"?tenant=" + tenant_, "tenant"}};
  for (const auto& [query, field] : cases) {
    const auto r = get("/v1/me/usage" + query, bob_);
    EXPECT_EQ(r.status, 400) << query << " " << r.body;
    const auto error = openai_error(r);
    EXPECT_EQ(error["type"], "invalid_request_error") << query;
    EXPECT_TRUE(error["message"].get<std::string>().starts_with(field + ":")) << query << " " << r.body;
    EXPECT_EQ(error["code"], "invalid_field") << query;
  }
}
