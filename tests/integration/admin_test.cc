// The admin REST API over real HTTP against the running binary and a real SQLite file.
#include <gtest/gtest.h>

#include <thread>

#include "harness.h"

using namespace harness;
using nlohmann::json;

class AdminTest : public GatewaySuite<DefaultSettings> {
 protected:
  Response admin(const std::string& method, const std::string& path, const json& body = nullptr,
                 const std::string& token = "") {
    std::map<std::string, std::string> headers{
        {"Authorization", "Bearer " + (token.empty() ? gateway_->admin_token() : token)}};
    if (!body.is_null()) headers["Content-Type"] = "application/json";
    return http(gateway_->admin_port(), method, path, headers, body.is_null() ? "" : body.dump());
  }
  std::string new_tenant() {
    const auto r = admin("POST", "/admin/v1/tenants", {{"name", "Team"}});
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body)["id"];
  }
};

TEST_F(AdminTest, EveryRouteRejectsMissingWrongAndUserTokens) {
  for (const auto& [method, path] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/admin/v1/tenants"},
                                                        {"POST", "/admin/v1/tenants"},
                                                        {"GET", "/admin/v1/tenants/x"},
                                                        {"GET", "/admin/v1/keys"},
                                                        {"POST", "/admin/v1/keys"},
                                                        {"GET", "/admin/v1/keys/x"},
                                                        {"DELETE", "/admin/v1/keys/x"},
                                                        {"POST", "/admin/v1/keys/x/disable"},
                                                        {"POST", "/admin/v1/keys/x/enable"},
                                                        {"POST", "/admin/v1/keys/x/rotate"},
                                                        {"PATCH", "/admin/v1/tenants/x"}}) {
    EXPECT_EQ(http(gateway_->admin_port(), method, path).status, 401) << method << " " << path;
    EXPECT_EQ(admin(method, path, nullptr, "wrong-token-0123456789").status, 401) << method << " " << path;
    const auto user = admin(method, path, nullptr, gateway_->key());
    EXPECT_EQ(user.status, 401) << method << " " << path;
    EXPECT_EQ(json::parse(user.body)["error"]["code"], "invalid_admin_token");
  }
}

TEST_F(AdminTest, KeyLifecycleTakesEffectOnTheNextRequest) {
  const auto tenant = new_tenant();
  auto created =
      admin("POST", "/admin/v1/keys", {{"tenant", tenant}, {"user", "alice@example.com"}, {"alias", "cli"}});
  ASSERT_EQ(created.status, 201) << created.body;
  const auto record = json::parse(created.body);
  const std::string key = record["key"];
  const std::string id = record["id"];
  ASSERT_TRUE(key.starts_with("sk-e2b-"));
  const auto first = chat(gateway_->port(), key, scenario_request("ok", false));
  EXPECT_EQ(first.status, 200) << first.body << gateway_->log();

  ASSERT_EQ(admin("POST", "/admin/v1/keys/" + id + "/disable").status, 200);
  EXPECT_EQ(chat(gateway_->port(), key, scenario_request("ok", false)).status, 401) << "disabled at once";
  ASSERT_EQ(admin("POST", "/admin/v1/keys/" + id + "/enable").status, 200);
  EXPECT_EQ(chat(gateway_->port(), key, scenario_request("ok", false)).status, 200);
  ASSERT_EQ(admin("DELETE", "/admin/v1/keys/" + id).status, 200);
  EXPECT_EQ(chat(gateway_->port(), key, scenario_request("ok", false)).status, 401) << "revoked at once";
  EXPECT_EQ(admin("POST", "/admin/v1/keys/" + id + "/enable").status, 409);

  const auto fetched = admin("GET", "/admin/v1/keys/" + id);
  EXPECT_EQ(json::parse(fetched.body)["status"], "revoked") << "the row stays for usage history";
  for (const auto& r : {fetched, admin("GET", "/admin/v1/keys?tenant=" + tenant)}) {
    EXPECT_EQ(r.body.find(key), std::string::npos) << "the plaintext is shown only at creation";
  }
  EXPECT_EQ(gateway_->log().find(key), std::string::npos);
}

TEST_F(AdminTest, InvalidInputIsExplained) {
  auto r = admin("POST", "/admin/v1/tenants", json::object());
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(json::parse(r.body)["error"]["message"].get<std::string>().find("name"), std::string::npos);
  r = admin("POST", "/admin/v1/keys", {{"tenant", "ten_missing"}, {"user", "x"}});
  EXPECT_EQ(r.status, 404);
  r = admin("POST", "/admin/v1/keys", {{"tenant", new_tenant()}, {"user", "x"}, {"models", "gpt-4o"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(admin("GET", "/admin/v1/keys/key_missing").status, 404);
  EXPECT_EQ(admin("GET", "/admin/v1/tenants/ten_missing").status, 404);
  EXPECT_EQ(admin("GET", "/admin/v1/nothing").status, 404);
}

TEST_F(AdminTest, DisabledTenantLocksOutItsKeys) {
  const auto tenant = new_tenant();
  const auto key = json::parse(
      admin("POST", "/admin/v1/keys", {{"tenant", tenant}, {"user", "t@example.com"}}).body)["key"];
  EXPECT_EQ(chat(gateway_->port(), key, scenario_request("ok", false)).status, 200);
  ASSERT_EQ(admin("PATCH", "/admin/v1/tenants/" + tenant, {{"status", "disabled"}}).status, 200);
  EXPECT_EQ(chat(gateway_->port(), key, scenario_request("ok", false)).status, 401);
  ASSERT_EQ(admin("PATCH", "/admin/v1/tenants/" + tenant, {{"status", "active"}}).status, 200);
  EXPECT_EQ(chat(gateway_->port(), key, scenario_request("ok", false)).status, 200);
  EXPECT_EQ(admin("PATCH", "/admin/v1/tenants/" + tenant, {{"status", "sleeping"}}).status, 400);
}

TEST_F(AdminTest, RotationKeepsTheOldSecretForTheGracePeriodOnly) {
  const auto tenant = new_tenant();
  const auto created =
      json::parse(admin("POST", "/admin/v1/keys", {{"tenant", tenant}, {"user", "r@example.com"}}).body);
  const std::string old_key = created["key"];
  const std::string id = created["id"];
  const auto rotated = admin("POST", "/admin/v1/keys/" + id + "/rotate", {{"grace_seconds", 2}});
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  const std::string new_key = json::parse(rotated.body)["key"];
  EXPECT_NE(new_key, old_key);
  EXPECT_EQ(json::parse(rotated.body)["id"], id) << "usage history stays on the same id";
  EXPECT_EQ(chat(gateway_->port(), new_key, scenario_request("ok", false)).status, 200);
  EXPECT_EQ(chat(gateway_->port(), old_key, scenario_request("ok", false)).status, 200)
      << "within the grace period";
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));
  EXPECT_EQ(chat(gateway_->port(), old_key, scenario_request("ok", false)).status, 401)
      << "after the grace period";
  EXPECT_EQ(chat(gateway_->port(), new_key, scenario_request("ok", false)).status, 200);
  const auto again = admin("POST", "/admin/v1/keys/" + id + "/rotate", json::object());
  const std::string newest = json::parse(again.body)["key"];
  EXPECT_EQ(chat(gateway_->port(), new_key, scenario_request("ok", false)).status, 401)
      << "default grace is 0";
  EXPECT_EQ(chat(gateway_->port(), newest, scenario_request("ok", false)).status, 200);
}
