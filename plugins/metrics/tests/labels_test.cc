// Bounded label values: nothing a client typed or a plugin misreported becomes a new series.
#include "labels.h"

#include <gtest/gtest.h>

#include <string>

#include "test_support.h"

namespace e2b::metrics {
namespace {

gateway::ModelCatalog catalog() {
  return testing::catalog_of({"gpt-4o", "gpt-4.1-mini"});
}

TEST(RouteLabel, NamesEveryRoute) {
  EXPECT_STREQ(route_label(gateway::Route::ChatCompletions), "chat_completions");
  EXPECT_STREQ(route_label(gateway::Route::Models), "models");
  EXPECT_STREQ(route_label(gateway::Route::Health), "health");
  EXPECT_STREQ(route_label(gateway::Route::Metrics), "metrics");
  EXPECT_STREQ(route_label(gateway::Route::Other), "other");
}

TEST(BoundedLabel, KeepsShortSnakeCaseValues) {
  EXPECT_EQ(bounded_label("requests_per_minute"), "requests_per_minute");
  EXPECT_EQ(bounded_label("max_tokens"), "max_tokens");
  EXPECT_EQ(bounded_label("upstream_error_502"), "upstream_error_502");
}

TEST(BoundedLabel, TurnsAnythingElseIntoOther) {
  EXPECT_EQ(bounded_label(""), "other");
  EXPECT_EQ(bounded_label("Max_Tokens"), "other");
  EXPECT_EQ(bounded_label("max-tokens"), "other");
  EXPECT_EQ(bounded_label("sk-e2b-0123456789abcdef"), "other");
  EXPECT_EQ(bounded_label("a\"}b"), "other");
  EXPECT_EQ(bounded_label(std::string(kMaxLabelLength, 'a')), std::string(kMaxLabelLength, 'a'));
  EXPECT_EQ(bounded_label(std::string(kMaxLabelLength + 1, 'a')), "other");
}

TEST(BoundedIdentifier, KeepsGatewayIdsAndBoundsTheRest) {
  EXPECT_EQ(bounded_identifier("ten_3f9a0c1d"), "ten_3f9a0c1d");
  EXPECT_EQ(bounded_identifier("Team-A.eu:1"), "Team-A.eu:1");
  EXPECT_EQ(bounded_identifier(""), "none");
  EXPECT_EQ(bounded_identifier("has space"), "other");
  EXPECT_EQ(bounded_identifier(std::string(kMaxLabelLength + 1, 'x')), "other");
}

TEST(ModelLabel, IsACatalogIdOrOtherOrNone) {
  const auto models = catalog();
  EXPECT_EQ(model_label("gpt-4o", &models), "gpt-4o");
  EXPECT_EQ(model_label("gpt-4.1-mini", &models), "gpt-4.1-mini");
  EXPECT_EQ(model_label("evil-model-xyz", &models), "other");
  EXPECT_EQ(model_label("", &models), "none");
  EXPECT_EQ(model_label("gpt-4o", nullptr), "other");
}

TEST(StatusLabel, IsTheCodeWithinHttpRange) {
  EXPECT_EQ(status_label(200), "200");
  EXPECT_EQ(status_label(429), "429");
  EXPECT_EQ(status_label(599), "599");
  EXPECT_EQ(status_label(0), "other");
  EXPECT_EQ(status_label(600), "other");
  EXPECT_EQ(status_label(-1), "other");
}

TEST(SeriesKey, SeparatesTuplesThatConcatenateAlike) {
  EXPECT_NE(series_key({"ab", "c"}), series_key({"a", "bc"}));
  EXPECT_NE(series_key({"a"}), series_key({"a", ""}));
  EXPECT_EQ(series_key({"chat_completions", "gpt-4o", "200"}),
            series_key({"chat_completions", "gpt-4o", "200"}));
}

TEST(ConstantTimeEqual, MatchesOnlyTheExactSecret) {
  const std::string token = "metrics-token-0123456789";
  EXPECT_TRUE(constant_time_equal(token, token));
  EXPECT_FALSE(constant_time_equal("metrics-token-0123456788", token));
  EXPECT_FALSE(constant_time_equal("metrics-token-012345678", token)) << "a prefix";
  EXPECT_FALSE(constant_time_equal(token + "9", token)) << "longer";
  EXPECT_FALSE(constant_time_equal("", token));
  EXPECT_FALSE(constant_time_equal(std::string("metrics-token-0123456789\0", 25), token));
}

}  // namespace
}  // namespace e2b::metrics
