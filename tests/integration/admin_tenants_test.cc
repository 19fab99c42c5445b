// The admin REST API's tenants over real HTTP against the running binary and a real SQLite file.
#include <gtest/gtest.h>

#include "admin_test_support.h"

using namespace harness;
using namespace admin_testing;
using nlohmann::json;

// ---- tenants ----

TEST_F(AdminTest, PatchTenantMergesTheGivenFields) {
  const auto created = admin("POST", "/admin/v1/tenants",
                             {{"name", "Blue"},
                              {"metadata", {{"region", "eu"}, {"plan", "pro"}}},
                              {"limits", {{"requests_per_minute", 100}}}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string tenant = json::parse(created.body)["id"];
  const std::string path = "/admin/v1/tenants/" + tenant;

  auto r = admin("PATCH", path, {{"name", "Green"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto record = json::parse(r.body);
  EXPECT_EQ(record["name"], "Green");
  EXPECT_EQ(record["metadata"], json({{"region", "eu"}, {"plan", "pro"}}));
  EXPECT_EQ(record["status"], "active");

  r = admin("PATCH", path, {{"metadata", {{"plan", nullptr}, {"owner", "ops"}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["metadata"], json({{"region", "eu"}, {"owner", "ops"}}));

  r = admin("PATCH", path, {{"limits", {{"requests_per_minute", 5}, {"tokens_per_day", 10}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["limits"], json({{"requests_per_minute", 5}, {"tokens_per_day", 10}}));
  r = admin("PATCH", path, {{"limits", nullptr}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["limits"], json::object());

  const auto key = new_key(tenant)["key"].get<std::string>();
  r = admin("PATCH", path, {{"status", "disabled"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["status"], "disabled");
  EXPECT_EQ(chat_status(key), 401) << "a disabled tenant's keys stop at once";
  r = admin("PATCH", path, {{"status", "active"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(chat_status(key), 200);

  EXPECT_TRUE(bad_field(admin("PATCH", path, {{"status", "deleted"}}), "status"));
  EXPECT_TRUE(bad_field(admin("PATCH", path, {{"status", "sleeping"}}), "status"));
  EXPECT_TRUE(bad_field(admin("PATCH", path, {{"name", ""}}), "name"));
  EXPECT_TRUE(bad_field(admin("PATCH", path, {{"name", 7}}), "name"));
  EXPECT_TRUE(bad_field(admin("PATCH", path, {{"limits", {{"rpm", -5}}}}), "limits"));
  EXPECT_TRUE(bad_field(admin("PATCH", path, {{"id", "ten_other"}}), "id"));
  EXPECT_TRUE(bad_field(admin("PATCH", path, {{"deleted_at", 1}}), "deleted_at"));
  record = json::parse(admin("GET", path).body);
  EXPECT_EQ(record["name"], "Green") << "refused patches change nothing";
  EXPECT_EQ(record["status"], "active");

  EXPECT_EQ(admin("PATCH", "/admin/v1/tenants/ten_0123456789abcdef", {{"name", "x"}}).status, 404);
}

TEST_F(AdminTest, DeletingATenantWithKeysNeedsForce) {
  const auto tenant = new_tenant("Doomed");
  const auto path = "/admin/v1/tenants/" + tenant;
  const auto first = new_key(tenant), second = new_key(tenant);
  const std::string key = first["key"];
  ASSERT_EQ(admin("DELETE", "/admin/v1/keys/" + second["id"].get<std::string>()).status, 200);

  auto r = admin("DELETE", path);
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(error_code(r), "tenant_has_keys");
  EXPECT_EQ(chat_status(key), 200) << "a refused delete changes nothing";
  EXPECT_EQ(json::parse(admin("GET", path).body)["status"], "active");
  EXPECT_TRUE(bad_field(admin("DELETE", path + "?force=maybe"), "force"));
  EXPECT_EQ(admin("DELETE", path + "?force=false").status, 409);

  r = admin("DELETE", path + "?force=true");
  ASSERT_EQ(r.status, 200) << r.body;
  auto record = json::parse(r.body);
  EXPECT_EQ(record["status"], "deleted");
  EXPECT_TRUE(record["deleted_at"].is_number_integer());
  EXPECT_EQ(chat_status(key), 401) << "its keys are revoked with it";
  EXPECT_EQ(json::parse(admin("GET", "/admin/v1/keys/" + first["id"].get<std::string>()).body)["status"],
            "revoked");

  record = json::parse(admin("GET", path).body);
  EXPECT_EQ(record["status"], "deleted") << "the row stays";
  const auto ids_of = [](const std::vector<json>& items) {
    std::set<std::string> ids;
    for (const auto& item : items) ids.insert(item["id"].get<std::string>());
    return ids;
  };
  EXPECT_EQ(ids_of(list_all("/admin/v1/tenants")).count(tenant), 0u) << "hidden by default";
  EXPECT_EQ(ids_of(list_all("/admin/v1/tenants?include_deleted=false")).count(tenant), 0u);
  EXPECT_EQ(ids_of(list_all("/admin/v1/tenants?include_deleted=true")).count(tenant), 1u);
  EXPECT_EQ(ids_of(list_all("/admin/v1/tenants?include_deleted=1", 2)).count(tenant), 1u);
  EXPECT_TRUE(bad_field(admin("GET", "/admin/v1/tenants?include_deleted=yes"), "include_deleted"));

  r = admin("POST", "/admin/v1/keys", {{"tenant", tenant}, {"user", "late@example.com"}});
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(admin("PATCH", path, {{"name", "Revived"}}).status, 409);
  r = admin("DELETE", path);
  EXPECT_EQ(r.status, 200) << "deleting again is harmless: " << r.body;
  EXPECT_EQ(json::parse(r.body)["deleted_at"], record["deleted_at"]);

  // without live keys no force is needed
  const auto empty = new_tenant("Empty");
  r = admin("DELETE", "/admin/v1/tenants/" + empty);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["status"], "deleted");
  EXPECT_EQ(admin("DELETE", "/admin/v1/tenants/ten_0123456789abcdef").status, 404);
}

TEST_F(AdminTest, TenantsArePagedByCursor) {
  std::set<std::string> created;
  for (int i = 0; i < 5; ++i) created.insert(new_tenant("Paged " + std::to_string(i)));
  const auto all = list_all("/admin/v1/tenants", 2);
  std::vector<std::string> ids;
  for (const auto& t : all) ids.push_back(t["id"]);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size()) << "no duplicates";
  for (const auto& id : created) EXPECT_EQ(std::count(ids.begin(), ids.end(), id), 1) << id;
  EXPECT_TRUE(bad_field(admin("GET", "/admin/v1/tenants?limit=0"), "limit"));
  EXPECT_TRUE(bad_field(admin("GET", "/admin/v1/tenants?tenant=x"), "tenant"));
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
