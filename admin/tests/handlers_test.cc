// The admin handlers against a temporary database, called directly without a server: answers,
// refusals and the audit entries each change leaves.
#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>

#include "admin/keys.h"
#include "admin/reports.h"
#include "admin/tenants.h"
#include "temp_db.h"

namespace {

using namespace gateway;
using namespace gateway::admin;
using nlohmann::json;

/// A database, a model catalog and a way to call one handler as an admin would.
class AdminHandlers : public ::testing::Test {
 protected:
  AdminHandlers() : store_(file_.path()) {
    ModelInfo model;
    model.id = "gpt-test";
    models_.add(model);
  }

  /// Runs `handler` with `body`, the {id} segment `id` and the query `query`.
  LocalResponse call(LocalResponse (*handler)(AdminCall&), json body = json::object(), std::string id = "",
                     std::map<std::string, std::string> query = {}) {
    HttpRequest request;
    request.query = std::move(query);
    AdminCall admin_call{store_, models_, limit_status_, request, body, std::move(id), "ops", "req_test"};
    return handler(admin_call);
  }

  static json body_of(const LocalResponse& response) { return json::parse(response.body); }

  /// Reports the limits it was asked about, as a rate-limit plugin would report their state.
  LimitStatus limit_status_ = [](const Principal& principal) {
    return json::array({{{"level", "key"}, {"limits", principal.key_limits.to_json()}},
                        {{"level", "tenant"}, {"limits", principal.tenant_limits.to_json()}}});
  };

  std::string make_tenant(const std::string& name = "acme") {
    return body_of(call(create_tenant, {{"name", name}}))["id"].get<std::string>();
  }

  testing_support::TempDb file_;
  Storage store_;
  ModelCatalog models_;
};

TEST_F(AdminHandlers, CreatedTenantCanBeReadBack) {
  const auto created = call(create_tenant, {{"name", "acme"}});
  ASSERT_EQ(created.status, 201);
  const auto id = body_of(created)["id"].get<std::string>();
  const auto read = call(get_tenant, json::object(), id);
  EXPECT_EQ(read.status, 200);
  EXPECT_EQ(body_of(read)["name"], "acme");
  EXPECT_EQ(body_of(read)["status"], "active");
}

TEST_F(AdminHandlers, TenantWithoutNameIsRefused) {
  const auto answer = call(create_tenant, {{"metadata", json::object()}});
  EXPECT_EQ(answer.status, 400);
  EXPECT_EQ(body_of(answer)["error"]["code"], "invalid_field");
  EXPECT_THROW(call(create_tenant, {{"name", "x"}, {"colour", "red"}}), std::invalid_argument);
}

TEST_F(AdminHandlers, UnknownTenantIsNotFound) {
  EXPECT_EQ(call(get_tenant, json::object(), "ten_missing").status, 404);
  EXPECT_EQ(call(patch_tenant, {{"name", "x"}}, "ten_missing").status, 404);
}

TEST_F(AdminHandlers, TenantWithLiveKeysIsDeletedOnlyWithForce) {
  const auto tenant = make_tenant();
  ASSERT_EQ(call(create_key, {{"tenant", tenant}, {"user", "ana@example.com"}}).status, 201);
  EXPECT_EQ(call(delete_tenant, json::object(), tenant).status, 409);
  const auto forced = call(delete_tenant, json::object(), tenant, {{"force", "true"}});
  EXPECT_EQ(forced.status, 200);
  EXPECT_EQ(body_of(forced)["status"], "deleted");
}

TEST_F(AdminHandlers, KeySecretIsShownOnlyAtCreation) {
  const auto created = call(create_key, {{"tenant", make_tenant()}, {"user", "ana@example.com"}});
  ASSERT_EQ(created.status, 201);
  const auto body = body_of(created);
  EXPECT_TRUE(body["key"].get<std::string>().starts_with("sk-e2b-"));
  const auto read = body_of(call(get_key, json::object(), body["id"].get<std::string>()));
  EXPECT_FALSE(read.contains("key"));
  EXPECT_EQ(read["user"], "ana@example.com");
}

TEST_F(AdminHandlers, KeyWithUnknownModelIsRefused) {
  EXPECT_THROW(call(create_key, {{"tenant", make_tenant()}, {"user", "ana"}, {"models", {"nope"}}}),
               std::invalid_argument);
}

TEST_F(AdminHandlers, DisabledKeyCanBeEnabledAgainButRevokedCannot) {
  const auto id =
      body_of(call(create_key, {{"tenant", make_tenant()}, {"user", "ana"}}))["id"].get<std::string>();
  EXPECT_EQ(body_of(call(disable_key, json::object(), id))["status"], "disabled");
  EXPECT_EQ(body_of(call(enable_key, json::object(), id))["status"], "active");
  EXPECT_EQ(body_of(call(delete_key, json::object(), id))["status"], "revoked");
  EXPECT_EQ(call(enable_key, json::object(), id).status, 409);
  EXPECT_EQ(call(rotate_key, json::object(), id).status, 409);
}

TEST_F(AdminHandlers, RotationGraceIsBounded) {
  const auto id =
      body_of(call(create_key, {{"tenant", make_tenant()}, {"user", "ana"}}))["id"].get<std::string>();
  EXPECT_THROW(call(rotate_key, {{"grace_seconds", 1LL << 40}}, id), std::invalid_argument);
  const auto rotated = call(rotate_key, {{"grace_seconds", 60}}, id);
  EXPECT_EQ(rotated.status, 200);
  EXPECT_TRUE(body_of(rotated).contains("key"));
}

TEST_F(AdminHandlers, TenantListPagesWithCursor) {
  for (const char* name : {"a", "b", "c"}) make_tenant(name);
  const auto first = body_of(call(list_tenants, json::object(), "", {{"limit", "2"}}));
  EXPECT_EQ(first["data"].size(), 2u);
  ASSERT_TRUE(first["has_more"].get<bool>());
  const auto cursor = first["next_cursor"].get<std::string>();
  const auto second = body_of(call(list_tenants, json::object(), "", {{"limit", "2"}, {"cursor", cursor}}));
  EXPECT_EQ(second["data"].size(), 1u);
  EXPECT_FALSE(second["has_more"].get<bool>());
  EXPECT_THROW(call(list_tenants, json::object(), "", {{"limit", "0"}}), std::invalid_argument);
}

TEST_F(AdminHandlers, EveryChangeIsAudited) {
  const auto tenant = make_tenant();
  const auto audit_log = body_of(call(audit));
  ASSERT_EQ(audit_log["data"].size(), 1u);
  EXPECT_EQ(audit_log["data"][0]["action"], "tenant.create");
  EXPECT_EQ(audit_log["data"][0]["target_id"], tenant);
  EXPECT_EQ(audit_log["data"][0]["actor"], "ops");
  EXPECT_EQ(audit_log["data"][0]["request_id"], "req_test");
}

TEST_F(AdminHandlers, RequestLogRefusesUnknownOutcome) {
  EXPECT_THROW(call(requests, json::object(), "", {{"outcome", "exploded"}}), std::invalid_argument);
  EXPECT_EQ(call(requests, json::object(), "", {{"outcome", "completed"}}).status, 200);
}

TEST_F(AdminHandlers, UsageRefusesUnknownGrouping) {
  EXPECT_THROW(call(usage, json::object(), "", {{"group_by", "colour"}}), std::invalid_argument);
  EXPECT_EQ(call(usage, json::object(), "", {{"group_by", "model"}}).status, 200);
}

}  // namespace

TEST_F(AdminHandlers, KeyLimitsReportTheKeysAndItsTenantsLimits) {
  const auto tenant =
      body_of(call(create_tenant, {{"name", "acme"}, {"limits", {{"tokens_per_day", 1000}}}}));
  const auto key = body_of(call(
      create_key, {{"tenant", tenant["id"]}, {"user", "ann"}, {"limits", {{"requests_per_minute", 5}}}}));
  const auto answer = call(get_key_limits, json::object(), key["id"].get<std::string>());
  ASSERT_EQ(answer.status, 200) << answer.body;
  const auto limits = body_of(answer);
  EXPECT_EQ(limits["object"], "rate_limits");
  EXPECT_EQ(limits["key_id"], key["id"]);
  EXPECT_EQ(limits["tenant_id"], tenant["id"]);
  EXPECT_EQ(limits["enforced"], true);
  EXPECT_EQ(limits["limits"][0]["limits"], json({{"requests_per_minute", 5}}));
  EXPECT_EQ(limits["limits"][1]["limits"], json({{"tokens_per_day", 1000}}));
  EXPECT_EQ(call(get_key_limits, json::object(), "key_missing").status, 404);
}

TEST_F(AdminHandlers, UnknownLimitNamesAreRefused) {
  const auto tenant = make_tenant();
  try {
    call(create_key, {{"tenant", tenant}, {"user", "ann"}, {"limits", {{"request_per_minute", 5}}}});
    ADD_FAILURE() << "a misspelt limit was stored";
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(std::string(e.what()).starts_with("limits.request_per_minute:")) << e.what();
  }
}
