// Keeps admin/openapi.yaml in step with the routes AdminApi serves: the same paths and methods,
// the same query parameters, and the parts every operation must have.
#include <gtest/gtest.h>

#include <cctype>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "admin/router.h"

namespace {

using gateway::admin::AdminApi;
using nlohmann::json;

const std::set<std::string> kHttpMethods{"get", "put", "post", "delete", "options", "head", "patch", "trace"};
const std::string kDocumentRoute = "GET /admin/openapi.json";

std::string upper(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

/// Follows a local "$ref" ("#/components/…") to the object it names.
const json& resolve(const json& document, const json& node) {
  if (!node.is_object() || !node.contains("$ref")) return node;
  const std::string ref = node["$ref"];
  EXPECT_TRUE(ref.starts_with("#/")) << ref;
  return resolve(document, document.at(json::json_pointer(ref.substr(1))));
}

/// Every operation of the document as "METHOD path" -> the operation object.
std::map<std::string, json> operations(const json& document) {
  std::map<std::string, json> out;
  for (const auto& [path, item] : document.at("paths").items()) {
    for (const auto& [method, operation] : item.items()) {
      if (kHttpMethods.count(method)) out[upper(method) + " " + path] = operation;
    }
  }
  return out;
}

/// The parameters of an operation in `where` ("query", "path"), by name, path-level ones included.
std::set<std::string> parameter_names(const json& document, const std::string& path, const json& operation,
                                      const std::string& where) {
  std::set<std::string> names;
  const auto add = [&](const json& list) {
    for (const auto& p : list) {
      const auto& parameter = resolve(document, p);
      if (parameter.value("in", "") == where) names.insert(parameter.at("name").get<std::string>());
    }
  };
  add(document.at("paths").at(path).value("parameters", json::array()));
  add(operation.value("parameters", json::array()));
  return names;
}

TEST(OpenApiTest, DocumentIsOpenApi3) {
  const auto& document = AdminApi::openapi();
  ASSERT_TRUE(document.is_object());
  EXPECT_TRUE(document.value("openapi", "").starts_with("3.")) << document.value("openapi", "");
  EXPECT_TRUE(document.contains("info"));
  EXPECT_TRUE(document.at("components").at("securitySchemes").contains("adminToken"));
}

TEST(OpenApiTest, DocumentedOperationsAreExactlyTheRoutes) {
  std::set<std::string> documented;
  for (const auto& [name, operation] : operations(AdminApi::openapi())) {
    if (name != kDocumentRoute) documented.insert(name);
  }
  std::set<std::string> served;
  for (const auto& route : AdminApi::routes()) {
    EXPECT_TRUE(served.insert(route).second) << "route listed twice: " << route;
  }
  EXPECT_EQ(documented, served);
  EXPECT_EQ(served.size(), AdminApi::routes().size());
  EXPECT_TRUE(operations(AdminApi::openapi()).count(kDocumentRoute)) << "the document describes itself";
}

TEST(OpenApiTest, EveryOperationHasAnIdASummaryAndA401) {
  std::set<std::string> ids;
  for (const auto& [name, operation] : operations(AdminApi::openapi())) {
    ASSERT_TRUE(operation.is_object()) << name;
    const auto id = operation.value("operationId", "");
    EXPECT_FALSE(id.empty()) << name << " has no operationId";
    EXPECT_TRUE(ids.insert(id).second) << "operationId " << id << " is used twice";
    EXPECT_FALSE(operation.value("summary", "").empty()) << name << " has no summary";
    EXPECT_TRUE(operation.contains("responses")) << name;
    if (name == kDocumentRoute) {
      EXPECT_EQ(operation.value("security", json(nullptr)), json::array()) << "the document is public";
      continue;
    }
    EXPECT_TRUE(operation.value("responses", json::object()).contains("401")) << name << " documents no 401";
  }
}

TEST(OpenApiTest, QueryParametersAreExactlyTheAcceptedOnes) {
  const auto& document = AdminApi::openapi();
  const auto documented = operations(document);
  const auto route_queries = AdminApi::route_queries();
  EXPECT_EQ(route_queries.size(), AdminApi::routes().size());
  for (const auto& [route, accepted] : route_queries) {
    const auto it = documented.find(route);
    if (it == documented.end()) {
      ADD_FAILURE() << route << " is not documented";
      continue;
    }
    const auto path = route.substr(route.find(' ') + 1);
    EXPECT_EQ(parameter_names(document, path, it->second, "query"), accepted) << route;
    const std::set<std::string> path_parameters =
        path.find("{id}") == std::string::npos ? std::set<std::string>{} : std::set<std::string>{"id"};
    EXPECT_EQ(parameter_names(document, path, it->second, "path"), path_parameters) << route;
  }
}

TEST(OpenApiTest, EveryReferenceResolves) {
  const auto& document = AdminApi::openapi();
  std::function<void(const json&, const std::string&)> walk = [&](const json& node,
                                                                  const std::string& where) {
    if (node.is_object()) {
      if (const auto ref = node.find("$ref"); ref != node.end()) {
        const std::string target = *ref;
        ASSERT_TRUE(target.starts_with("#/")) << where << ": " << target;
        EXPECT_TRUE(document.contains(json::json_pointer(target.substr(1)))) << where << ": " << target;
      }
      for (const auto& [name, value] : node.items()) walk(value, where + "/" + name);
    } else if (node.is_array()) {
      for (std::size_t i = 0; i < node.size(); ++i) walk(node[i], where + "/" + std::to_string(i));
    }
  };
  walk(document, "");
}

}  // namespace
