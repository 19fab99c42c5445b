// Serving /metrics: method, token and format.
#include "metrics_endpoint.h"

#include <gtest/gtest.h>

#include <prometheus/counter.h>
#include <prometheus/registry.h>

namespace e2b::metrics {
namespace {

constexpr const char* kToken = "scrape-token-0123456789";

std::shared_ptr<prometheus::Registry> one_counter() {
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildCounter().Name("demo_total").Help("A demo.").Register(*registry).Add({}).Increment(2);
  return registry;
}

gateway::HttpRequest get(std::string authorization = "") {
  gateway::HttpRequest request;
  request.method = "GET";
  request.path = "/metrics";
  if (!authorization.empty()) request.headers.emplace_back("authorization", std::move(authorization));
  return request;
}

std::string error_code(const gateway::LocalResponse& response) {
  return nlohmann::json::parse(response.body)["error"]["code"].get<std::string>();
}

TEST(MetricsEndpoint, ServesTheTextFormatWithoutATokenWhenNoneIsSet) {
  const MetricsEndpoint endpoint("", {one_counter()});
  const auto response = endpoint.serve(get());
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(gateway::find_header(response.headers, "content-type"), kTextFormat);
  EXPECT_NE(response.body.find("# TYPE demo_total counter\ndemo_total 2\n"), std::string::npos)
      << response.body;
}

TEST(MetricsEndpoint, RefusesOtherMethodsWith405) {
  const MetricsEndpoint endpoint("", {one_counter()});
  auto request = get();
  request.method = "POST";
  const auto response = endpoint.serve(request);
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(gateway::find_header(response.headers, "allow"), "GET");
  EXPECT_EQ(error_code(response), "method_not_allowed");
}

TEST(MetricsEndpoint, RequiresTheBearerTokenWhenSet) {
  const MetricsEndpoint endpoint(kToken, {one_counter()});
  const std::vector<std::string> refused = {"",
                                            "Bearer wrong-token-0123456789",
                                            "Bearer",
                                            "Basic c2NyYXBl",
                                            std::string("Bearer ") + kToken + "x",
                                            kToken};
  for (const auto& authorization : refused) {
    const auto response = endpoint.serve(get(authorization));
    EXPECT_EQ(response.status, 401) << authorization;
    EXPECT_EQ(error_code(response), "invalid_metrics_token");
    EXPECT_EQ(response.body.find("demo_total"), std::string::npos);
  }
  EXPECT_EQ(endpoint.serve(get(std::string("Bearer ") + kToken)).status, 200);
  EXPECT_EQ(endpoint.serve(get(std::string("bearer  ") + kToken + " ")).status, 200);
}

TEST(MetricsEndpoint, RendersSourcesInOrder) {
  auto second = std::make_shared<prometheus::Registry>();
  prometheus::BuildCounter().Name("later_total").Help("Later.").Register(*second).Add({}).Increment();
  const MetricsEndpoint endpoint("", {one_counter(), second});
  const auto text = endpoint.render();
  EXPECT_LT(text.find("demo_total"), text.find("later_total"));
}

}  // namespace
}  // namespace e2b::metrics
