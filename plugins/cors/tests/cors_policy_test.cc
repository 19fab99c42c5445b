// Unit tests of the CORS policy: settings, preflight answers and origin matching.
#include "cors_policy.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace e2b::cors {
namespace {

using gateway::find_header;
using gateway::Headers;
using gateway::PluginConfigError;
using nlohmann::json;

CorsSettings settings_for(const json& config) {
  return parse_cors_settings(config);
}

Headers headers_for(const CorsSettings& settings, std::optional<std::string> origin) {
  Headers headers{{"Content-Type", "application/json"}};
  add_cors_headers(settings, origin, headers);
  return headers;
}

TEST(CorsSettings, DefaultsAllowEveryOriginWithoutCredentials) {
  const auto s = settings_for(nullptr);
  EXPECT_EQ(s.origins, std::vector<std::string>{"*"});
  EXPECT_EQ(s.methods, "GET, POST, OPTIONS");
  EXPECT_EQ(s.headers, "*");
  EXPECT_EQ(s.expose, "X-Request-ID, Retry-After");
  EXPECT_EQ(s.max_age, 86400);
  EXPECT_FALSE(s.credentials);
}

/// The field a PluginConfigError names when `config` is read.
std::string refused_field(const json& config) {
  try {
    parse_cors_settings(config);
  } catch (const PluginConfigError& e) {
    return e.field();
  }
  return "";
}

TEST(CorsSettings, RefuseBadFieldsNamingThem) {
  EXPECT_EQ(refused_field({{"allow_origins", json::array()}}), "allow_origins");
  EXPECT_EQ(refused_field({{"max_age_seconds", -1}}), "max_age_seconds");
  EXPECT_EQ(refused_field({{"allow_credentials", "yes"}}), "allow_credentials");
  EXPECT_EQ(refused_field({{"allow_origin", {"*"}}}), "allow_origin");
}

TEST(Preflight, AnswersWithMethodsHeadersAndMaxAge) {
  const auto s =
      settings_for({{"allow_headers", {"Authorization", "Content-Type"}}, {"max_age_seconds", 60}});
  const auto answer = preflight_response(s, {{"Access-Control-Request-Headers", "x-custom"}});
  EXPECT_EQ(answer.status, 204);
  EXPECT_TRUE(answer.body.empty());
  EXPECT_EQ(find_header(answer.headers, "access-control-allow-methods"), "GET, POST, OPTIONS");
  EXPECT_EQ(find_header(answer.headers, "access-control-allow-headers"), "Authorization, Content-Type");
  EXPECT_EQ(find_header(answer.headers, "access-control-max-age"), "60");
}

TEST(Preflight, AWildcardEchoesTheRequestedHeaders) {
  const auto s = settings_for(nullptr);
  EXPECT_EQ(
      find_header(preflight_response(s, {{"access-control-request-headers", "authorization, x-a"}}).headers,
                  "access-control-allow-headers"),
      "authorization, x-a");
  EXPECT_EQ(find_header(preflight_response(s, {}).headers, "access-control-allow-headers"), "*");
}

TEST(ResponseHeaders, AWildcardWithoutCredentialsAllowsEveryOrigin) {
  const auto headers = headers_for(settings_for(nullptr), std::nullopt);
  EXPECT_EQ(find_header(headers, "access-control-allow-origin"), "*");
  EXPECT_EQ(find_header(headers, "access-control-expose-headers"), "X-Request-ID, Retry-After");
  EXPECT_EQ(find_header(headers, "vary"), std::nullopt);
}

TEST(ResponseHeaders, AListedOriginIsEchoedWithVary) {
  const auto s = settings_for({{"allow_origins", {"https://a.example"}}});
  const auto headers = headers_for(s, "https://a.example");
  EXPECT_EQ(find_header(headers, "access-control-allow-origin"), "https://a.example");
  EXPECT_EQ(find_header(headers, "vary"), "Origin");
  EXPECT_EQ(find_header(headers, "access-control-allow-credentials"), std::nullopt);
}

TEST(ResponseHeaders, AnOriginNotListedOrAbsentGetsNothing) {
  const auto s = settings_for({{"allow_origins", {"https://a.example"}}});
  EXPECT_EQ(headers_for(s, "https://b.example").size(), 1U);
  EXPECT_EQ(headers_for(s, std::nullopt).size(), 1U);
}

TEST(ResponseHeaders, CredentialsEchoTheOriginEvenForAWildcard) {
  const auto s = settings_for({{"allow_credentials", true}});
  const auto headers = headers_for(s, "https://c.example");
  EXPECT_EQ(find_header(headers, "access-control-allow-origin"), "https://c.example");
  EXPECT_EQ(find_header(headers, "access-control-allow-credentials"), "true");
  EXPECT_EQ(headers_for(s, std::nullopt).size(), 1U);
}

TEST(ResponseHeaders, NoExposeHeaderWhenNoneAreConfigured) {
  const auto s = settings_for({{"expose_headers", json::array()}});
  EXPECT_EQ(find_header(headers_for(s, std::nullopt), "access-control-expose-headers"), std::nullopt);
}

}  // namespace
}  // namespace e2b::cors
