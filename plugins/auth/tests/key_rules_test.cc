// Unit tests of the auth plugin's rules: key extraction, static keys, matching, permissions.
#include "key_rules.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace e2b::auth {
namespace {

using gateway::HttpRequest;
using gateway::ModelCatalog;
using gateway::ModelInfo;
using gateway::PluginConfigError;
using gateway::Principal;
using nlohmann::json;

HttpRequest with_headers(gateway::Headers headers) {
  HttpRequest request;
  request.method = "POST";
  request.path = "/v1/chat/completions";
  request.headers = std::move(headers);
  return request;
}

std::string error_code(const gateway::LocalResponse& response) {
  return json::parse(response.body)["error"]["code"];
}

ModelCatalog catalog_of(std::initializer_list<std::string> ids) {
  ModelCatalog catalog;
  for (const auto& id : ids) {
    ModelInfo info;
    info.id = id;
    catalog.add(info);
  }
  return catalog;
}

TEST(PresentedKey, ReadsABearerTokenWithAnyCaseAndTrimsSpaces) {
  EXPECT_EQ(presented_key(with_headers({{"Authorization", "Bearer sk-one"}})), "sk-one");
  EXPECT_EQ(presented_key(with_headers({{"authorization", "bEaReR   sk-two  "}})), "sk-two");
}

TEST(PresentedKey, FallsBackToXApiKey) {
  EXPECT_EQ(presented_key(with_headers({{"X-Api-Key", "sk-three"}})), "sk-three");
  EXPECT_EQ(presented_key(with_headers({{"Authorization", "Basic abc"}, {"x-api-key", "sk-four"}})),
            "sk-four");
}

TEST(PresentedKey, PrefersTheBearerTokenOverXApiKey) {
  EXPECT_EQ(presented_key(with_headers({{"x-api-key", "sk-header"}, {"Authorization", "Bearer sk-bearer"}})),
            "sk-bearer");
}

TEST(PresentedKey, NoneWhenAbsentOrEmpty) {
  EXPECT_EQ(presented_key(with_headers({})), std::nullopt);
  EXPECT_EQ(presented_key(with_headers({{"Authorization", "Bearer    "}})), std::nullopt);
  EXPECT_EQ(presented_key(with_headers({{"Authorization", "Bearer"}, {"x-api-key", ""}})), std::nullopt);
}

TEST(StaticKeys, GiveAStableIdAndAMaskedDisplayFormButNeverTheSecret) {
  const auto key = make_static_key("sk-e2b-abcdefghijklmnopqrstuvwxyz", "alice", {"m1"});
  EXPECT_TRUE(key.principal.authenticated);
  EXPECT_EQ(key.principal.tenant_id, "static");
  EXPECT_EQ(key.principal.user, "alice");
  EXPECT_EQ(key.principal.key_id.rfind("static-", 0), 0U);
  EXPECT_EQ(key.principal.key_id.size(), std::string("static-").size() + 12);
  EXPECT_EQ(key.principal.key_id,
            make_static_key("sk-e2b-abcdefghijklmnopqrstuvwxyz", "bob", {}).principal.key_id);
  EXPECT_EQ(key.principal.key_mask, "sk-e2b-abcd…");
  EXPECT_EQ(key.principal.allowed_models, std::vector<std::string>{"m1"});
}

TEST(StaticKeys, ParseStringsAndMappings) {
  const auto catalog = catalog_of({"m1", "m2"});
  const auto keys = parse_static_keys(
      json::array({"sk-plain-key", "", {{"key", "sk-mapped-key"}, {"user", "bob"}, {"models", {"m2"}}}}),
      &catalog);
  ASSERT_EQ(keys.size(), 2U);  // the empty string is skipped
  EXPECT_EQ(keys[0].principal.user, "static");
  EXPECT_TRUE(keys[0].principal.allowed_models.empty());
  EXPECT_EQ(keys[1].principal.user, "bob");
  EXPECT_EQ(keys[1].principal.allowed_models, std::vector<std::string>{"m2"});
}

/// The field a PluginConfigError names when `listed` is parsed.
std::string refused_field(const json& listed, const ModelCatalog* catalog) {
  try {
    parse_static_keys(listed, catalog);
  } catch (const PluginConfigError& e) {
    return e.field();
  }
  return "";
}

TEST(StaticKeys, RefuseBadEntriesNamingTheField) {
  const auto catalog = catalog_of({"m1"});
  EXPECT_EQ(refused_field(json::object(), &catalog), "keys");
  EXPECT_EQ(refused_field(json::array({{{"key", "short"}}}), &catalog), "keys[0].key");
  EXPECT_EQ(refused_field(json::array({"sk-ok-key", {{"user", "x"}}}), &catalog), "keys[1].key");
  EXPECT_EQ(refused_field(json::array({{{"key", "sk-long-key"}, {"models", {"nope"}}}}), &catalog),
            "keys[0].models");
  EXPECT_EQ(refused_field(json::array({{{"key", "sk-long-key"}, {"colour", "red"}}}), &catalog),
            "keys[0].colour");
  EXPECT_EQ(refused_field(json::array({42}), &catalog), "keys[0]");
}

TEST(StaticKeys, CarryTheirLimits) {
  const auto keys = parse_static_keys(
      json::array(
          {{{"key", "sk-limited-key"}, {"limits", {{"requests_per_minute", 5}, {"tokens_per_day", 0}}}}}),
      nullptr);
  ASSERT_EQ(keys.size(), 1U);
  EXPECT_EQ(keys[0].principal.key_limits.requests_per_minute, 5);
  EXPECT_EQ(keys[0].principal.key_limits.tokens_per_day, 0);  // 0 = no limit, distinct from unset
  EXPECT_FALSE(keys[0].principal.key_limits.max_concurrent.has_value());
  EXPECT_EQ(refused_field(json::array({{{"key", "sk-long-key"}, {"limits", {{"rpm", 5}}}}}), nullptr),
            "keys[0].limits.rpm");
  EXPECT_EQ(
      refused_field(json::array({{{"key", "sk-long-key"}, {"limits", {{"max_concurrent", -1}}}}}), nullptr),
      "keys[0].limits.max_concurrent");
  EXPECT_EQ(refused_field(json::array({{{"key", "sk-long-key"}, {"limits", 5}}}), nullptr), "keys[0].limits");
}

TEST(StaticKeys, AcceptAnyModelWithoutACatalog) {
  EXPECT_EQ(parse_static_keys(json::array({{{"key", "sk-long-key"}, {"models", {"any"}}}}), nullptr).size(),
            1U);
}

TEST(MatchStaticKey, FindsTheKeyWithTheDigest) {
  const std::vector<StaticKey> keys{make_static_key("sk-first-key", "a", {}),
                                    make_static_key("sk-second-key", "b", {})};
  const StaticKey* match = match_static_key(keys, digest_of("sk-second-key"));
  ASSERT_NE(match, nullptr);
  EXPECT_EQ(match->principal.user, "b");
  EXPECT_EQ(match_static_key(keys, digest_of("sk-other-key")), nullptr);
  EXPECT_EQ(match_static_key({}, digest_of("sk-first-key")), nullptr);
}

TEST(IsProtected, MatchesPathPrefixes) {
  const std::vector<std::string> prefixes{"/v1/", "/models"};
  EXPECT_TRUE(is_protected("/v1/chat/completions", prefixes));
  EXPECT_TRUE(is_protected("/models", prefixes));
  EXPECT_FALSE(is_protected("/health", prefixes));
  EXPECT_FALSE(is_protected("/v1", prefixes));
}

TEST(KeyErrors, AreOpenAiShaped401sThatNeverShowTheWholeKey) {
  const auto missing = missing_key_error();
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(error_code(missing), "missing_api_key");
  const auto invalid = invalid_key_error("sk-e2b-secretsecretsecret");
  EXPECT_EQ(invalid.status, 401);
  EXPECT_EQ(error_code(invalid), "invalid_api_key");
  EXPECT_EQ(invalid.body.find("secretsecret"), std::string::npos);
  EXPECT_NE(invalid.body.find("sk-e2b-secr…"), std::string::npos);
}

TEST(ModelPermission, AnEmptyListMeansEveryModel) {
  Principal anyone;
  EXPECT_TRUE(anyone.may_use("m1"));
  EXPECT_FALSE(model_refusal(anyone, "m1").has_value());
}

TEST(ModelPermission, AListAllowsOnlyItsModels) {
  Principal limited;
  limited.allowed_models = {"m1"};
  EXPECT_TRUE(limited.may_use("m1"));
  EXPECT_FALSE(limited.may_use("m2"));
  const auto refusal = model_refusal(limited, "m2");
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->status, 403);
  const auto error = json::parse(refusal->body)["error"];
  EXPECT_EQ(error["code"], "model_not_allowed");
  EXPECT_EQ(error["type"], "invalid_request_error");
  EXPECT_EQ(error["param"], "model");
  EXPECT_EQ(error["message"], "This API key may not use the model `m2`.");
}

}  // namespace
}  // namespace e2b::auth
