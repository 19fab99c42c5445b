// What the admin API tests share: the suite's gateway with a second, labelled admin token, a
// client for the admin listener, and readers of its answers and of the OpenAPI document.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"

namespace admin_testing {

using namespace harness;
using nlohmann::json;

inline constexpr const char* kOpsToken = "ops-admin-token-0123456789abcdef";

/// The shipped defaults plus a second, labelled admin token.
struct AdminSettings {
  static void apply(GatewayOptions& options) { options.labelled_admin_tokens = {{"ops", kOpsToken}}; }
};

inline std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::string upper(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// "METHOD path" of every operation in the `paths:` section of admin/openapi.yaml, read line by
/// line (two-space indent: a path; four-space indent: a method).
inline std::set<std::string> yaml_operations(const std::string& yaml) {
  static const std::set<std::string> methods{"get", "put", "post", "delete", "patch", "head", "options"};
  std::set<std::string> out;
  std::istringstream in(yaml);
  bool in_paths = false;
  std::string path;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != ' ' && line[0] != '#') in_paths = line == "paths:";
    if (!in_paths) continue;
    if (line.starts_with("  /") && line.ends_with(":")) {
      path = line.substr(2, line.size() - 3);
    } else if (line.starts_with("    ") && line[4] != ' ' && line.ends_with(":")) {
      const auto method = line.substr(4, line.size() - 5);
      if (methods.count(method)) out.insert(upper(method) + " " + path);
    }
  }
  return out;
}

inline std::set<std::string> json_operations(const json& document) {
  static const std::set<std::string> methods{"get", "put", "post", "delete", "patch", "head", "options"};
  std::set<std::string> out;
  for (const auto& [path, item] : document.at("paths").items()) {
    for (const auto& [method, operation] : item.items()) {
      if (methods.count(method)) out.insert(upper(method) + " " + path);
    }
  }
  return out;
}

inline json body_of(const Response& r) {
  auto parsed = json::parse(r.body, nullptr, false);
  EXPECT_FALSE(parsed.is_discarded()) << "not JSON: " << r.body;
  return parsed;
}

inline std::string error_code(const Response& r) {
  return body_of(r).value("error", json::object()).value("code", "");
}

inline std::string error_message(const Response& r) {
  return body_of(r).value("error", json::object()).value("message", "");
}

/// A 400 whose message names `field` first.
inline ::testing::AssertionResult bad_field(const Response& r, const std::string& field) {
  if (r.status != 400) return ::testing::AssertionFailure() << "status " << r.status << ": " << r.body;
  if (!error_message(r).starts_with(field))
    return ::testing::AssertionFailure() << "the message does not name " << field << ": " << r.body;
  return ::testing::AssertionSuccess();
}

/// The suite's gateway and its admin client.
class AdminTest : public GatewaySuite<AdminSettings> {
 protected:
  Response admin(const std::string& method, const std::string& path, const json& body = nullptr,
                 const std::string& token = "", const std::string& request_id = "") {
    std::map<std::string, std::string> headers{
        {"Authorization", "Bearer " + (token.empty() ? gateway_->admin_token() : token)}};
    if (!body.is_null()) headers["Content-Type"] = "application/json";
    if (!request_id.empty()) headers["X-Request-ID"] = request_id;
    return http(gateway_->admin_port(), method, path, headers, body.is_null() ? "" : body.dump());
  }
  std::string new_tenant(const std::string& name = "Team") {
    const auto r = admin("POST", "/admin/v1/tenants", {{"name", name}});
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body)["id"];
  }
  /// Creates a key in `tenant` with `fields` added; the record with its secret in "key".
  json new_key(const std::string& tenant, json fields = json::object()) {
    fields["tenant"] = tenant;
    if (!fields.contains("user")) fields["user"] = "user@example.com";
    const auto r = admin("POST", "/admin/v1/keys", fields);
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body);
  }
  /// Every item of a paged admin listing, following next_cursor; `path` may hold a query.
  std::vector<json> list_all(const std::string& path, int limit = 200) {
    std::vector<json> items;
    std::string cursor;
    for (int page = 0; page < 1000; ++page) {
      const auto separator = path.find('?') == std::string::npos ? "?" : "&";
      const auto r = admin("GET", path + separator + "limit=" + std::to_string(limit) +
                                      (cursor.empty() ? "" : "&cursor=" + cursor));
      EXPECT_EQ(r.status, 200) << path << ": " << r.body;
      if (r.status != 200) break;
      const auto page_body = json::parse(r.body);
      for (const auto& item : page_body["data"]) items.push_back(item);
      if (!page_body["has_more"].get<bool>()) {
        EXPECT_TRUE(page_body["next_cursor"].is_null());
        break;
      }
      cursor = page_body["next_cursor"];
    }
    return items;
  }
  /// The ids of /v1/models as `key` sees them.
  std::set<std::string> visible_models(const std::string& key) {
    const auto r = http(gateway_->port(), "GET", "/v1/models", {{"Authorization", "Bearer " + key}});
    EXPECT_EQ(r.status, 200) << r.body;
    std::set<std::string> ids;
    const auto models = json::parse(r.body);
    for (const auto& m : models["data"]) ids.insert(m["id"].get<std::string>());
    return ids;
  }
  int chat_status(const std::string& key, const std::string& model = "gpt-4o") {
    return chat(gateway_->port(), key, scenario_request("ok", false, model)).status;
  }
};

}  // namespace admin_testing
