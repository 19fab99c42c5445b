// The admin REST API over real HTTP against the running binary: its OpenAPI document and
// who may call it (the admin tokens, labelled ones named in the audit log).
#include <gtest/gtest.h>

#include "admin_test_support.h"

using namespace harness;
using namespace admin_testing;
using nlohmann::json;

// ---- the document and authentication ----

TEST_F(AdminTest, EveryRouteRejectsMissingWrongAndUserTokens) {
  const auto document = http(gateway_->admin_port(), "GET", "/admin/openapi.json");
  ASSERT_EQ(document.status, 200) << document.body;
  const auto paths = json::parse(document.body).at("paths");
  int checked = 0;
  for (const auto& [pattern, item] : paths.items()) {
    if (pattern == "/admin/openapi.json") continue;
    for (const auto& [method_name, operation] : item.items()) {
      if (!operation.is_object() || !operation.contains("responses")) continue;  // not an operation
      const std::string method = upper(method_name);
      std::string path = pattern;
      if (const auto at = path.find("{id}"); at != std::string::npos)
        path.replace(at, 4,
                     path.starts_with("/admin/v1/tenants") ? "ten_0123456789abcdef" : "key_0123456789abcdef");
      SCOPED_TRACE(method + " " + path);
      const auto missing = http(gateway_->admin_port(), method, path);
      EXPECT_EQ(missing.status, 401);
      EXPECT_EQ(error_code(missing), "invalid_admin_token");
      EXPECT_EQ(admin(method, path, nullptr, "wrong-token-0123456789").status, 401);
      const auto user = admin(method, path, nullptr, gateway_->key());
      EXPECT_EQ(user.status, 401);
      EXPECT_EQ(error_code(user), "invalid_admin_token");
      const auto bearer_less =
          http(gateway_->admin_port(), method, path, {{"Authorization", gateway_->admin_token()}});
      EXPECT_EQ(bearer_less.status, 401) << "the token must come as a bearer token";
      // With a valid token the documented route is served: no 401, 405 or "unknown route".
      const auto served = admin(method, path);
      EXPECT_NE(served.status, 401) << served.body;
      EXPECT_NE(served.status, 405) << served.body;
      EXPECT_FALSE(error_message(served).starts_with("Unknown admin route")) << served.body;
      ++checked;
    }
  }
  EXPECT_GE(checked, 16);
}

TEST_F(AdminTest, OpenApiDocumentIsPublicAndIsTheYaml) {
  const auto r = http(gateway_->admin_port(), "GET", "/admin/openapi.json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.headers.at("content-type").find("application/json"), std::string::npos)
      << r.headers.at("content-type");
  const auto document = json::parse(r.body);
  EXPECT_EQ(document["openapi"], "3.0.3");
  EXPECT_EQ(document["info"]["title"], "e2b-gateway admin API");
  const auto yaml = read_file(source_dir() / "admin/openapi.yaml");
  const auto from_yaml = yaml_operations(yaml);
  EXPECT_GE(from_yaml.size(), 17u);
  EXPECT_EQ(json_operations(document), from_yaml);
  for (const auto& [name, schema] : document["components"]["schemas"].items()) {
    EXPECT_NE(yaml.find("    " + name + ":"), std::string::npos) << name;
  }
  const auto with_token = admin("GET", "/admin/openapi.json");
  EXPECT_EQ(with_token.status, 200);
  EXPECT_EQ(json::parse(with_token.body), document);

  for (const auto& method : {"POST", "PUT", "DELETE", "PATCH"}) {
    const auto wrong = http(gateway_->admin_port(), method, "/admin/openapi.json");
    EXPECT_EQ(wrong.status, 405) << method << ": " << wrong.body;
    EXPECT_EQ(error_code(wrong), "method_not_allowed");
  }
}

TEST_F(AdminTest, KnownPathWithAnotherMethodIs405) {
  const auto r = admin("PUT", "/admin/v1/keys");
  EXPECT_EQ(r.status, 405) << r.body;
  EXPECT_EQ(error_code(r), "method_not_allowed");
  EXPECT_EQ(admin("POST", "/admin/v1/audit").status, 405);
  EXPECT_EQ(admin("GET", "/admin/v1/keys/key_0123456789abcdef/rotate").status, 405);
  EXPECT_EQ(admin("GET", "/admin/v1/nothing").status, 404);
}

TEST_F(AdminTest, LabelledTokenWorksAndIsTheAuditActor) {
  const std::string request_id = new_request_id("ops");
  const auto created = admin("POST", "/admin/v1/tenants", {{"name", "Ops team"}}, kOpsToken, request_id);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.headers.at("x-request-id"), request_id);
  const std::string tenant = json::parse(created.body)["id"];
  EXPECT_EQ(admin("GET", "/admin/v1/tenants/" + tenant, nullptr, kOpsToken).status, 200);
  EXPECT_EQ(admin("GET", "/admin/v1/keys", nullptr, kOpsToken).status, 200);
  EXPECT_EQ(admin("GET", "/admin/v1/keys", nullptr, std::string(kOpsToken) + "x").status, 401);

  const auto patched =
      admin("PATCH", "/admin/v1/tenants/" + tenant, {{"name", "Admin team"}}, "", new_request_id("admin"));
  ASSERT_EQ(patched.status, 200) << patched.body;
  const auto audit = json::parse(admin("GET", "/admin/v1/audit?limit=10").body)["data"];
  std::map<std::string, json> by_action;
  for (const auto& entry : audit) {
    if (entry["target_id"] == tenant) by_action[entry["action"]] = entry;
  }
  ASSERT_TRUE(by_action.count("tenant.create")) << audit.dump(2);
  EXPECT_EQ(by_action["tenant.create"]["actor"], "ops");
  EXPECT_EQ(by_action["tenant.create"]["request_id"], request_id);
  ASSERT_TRUE(by_action.count("tenant.update")) << audit.dump(2);
  EXPECT_EQ(by_action["tenant.update"]["actor"], "admin");
}
