// The admin REST API over real HTTP against the running binary and a real SQLite file.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include "harness.h"

using namespace harness;
using nlohmann::json;

namespace {

constexpr const char* kOpsToken = "ops-admin-token-0123456789abcdef";

/// The shipped defaults plus a second, labelled admin token.
struct AdminSettings {
  static void apply(GatewayOptions& options) { options.labelled_admin_tokens = {{"ops", kOpsToken}}; }
};

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string upper(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// "METHOD path" of every operation in the `paths:` section of admin/openapi.yaml, read line by
/// line (two-space indent: a path; four-space indent: a method).
std::set<std::string> yaml_operations(const std::string& yaml) {
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

std::set<std::string> json_operations(const json& document) {
  static const std::set<std::string> methods{"get", "put", "post", "delete", "patch", "head", "options"};
  std::set<std::string> out;
  for (const auto& [path, item] : document.at("paths").items()) {
    for (const auto& [method, operation] : item.items()) {
      if (methods.count(method)) out.insert(upper(method) + " " + path);
    }
  }
  return out;
}

json body_of(const Response& r) {
  auto parsed = json::parse(r.body, nullptr, false);
  EXPECT_FALSE(parsed.is_discarded()) << "not JSON: " << r.body;
  return parsed;
}

std::string error_code(const Response& r) {
  return body_of(r).value("error", json::object()).value("code", "");
}

std::string error_message(const Response& r) {
  return body_of(r).value("error", json::object()).value("message", "");
}

/// A 400 whose message names `field` first.
::testing::AssertionResult bad_field(const Response& r, const std::string& field) {
  if (r.status != 400) return ::testing::AssertionFailure() << "status " << r.status << ": " << r.body;
  if (!error_message(r).starts_with(field))
    return ::testing::AssertionFailure() << "the message does not name " << field << ": " << r.body;
  return ::testing::AssertionSuccess();
}

}  // namespace

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

// ---- keys ----

TEST_F(AdminTest, KeyLifecycleTakesEffectOnTheNextRequest) {
  const auto tenant = new_tenant();
  auto created =
      admin("POST", "/admin/v1/keys", {{"tenant", tenant}, {"user", "alice@example.com"}, {"alias", "cli"}});
  ASSERT_EQ(created.status, 201) << created.body;
  const auto record = json::parse(created.body);
  const std::string key = record["key"];
  const std::string id = record["id"];
  ASSERT_TRUE(key.starts_with("sk-e2b-"));
  EXPECT_TRUE(record["last_used_at"].is_null()) << "a new key was never used";
  const auto first = chat(gateway_->port(), key, scenario_request("ok", false));
  EXPECT_EQ(first.status, 200) << first.body << gateway_->log();
  json last_used;
  EXPECT_TRUE(eventually([&] {  // the usage row reaches the database through the log worker
    last_used = json::parse(admin("GET", "/admin/v1/keys/" + id).body)["last_used_at"];
    return !last_used.is_null();
  })) << "last_used_at is set after a chat request";
  if (last_used.is_number()) {
    EXPECT_NEAR(last_used.get<double>(), static_cast<double>(std::time(nullptr)), 60);
  }

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

TEST_F(AdminTest, PatchKeyMergesTheGivenFields) {
  const auto tenant = new_tenant();
  const auto created = new_key(tenant, {{"user", "pat@example.com"},
                                        {"alias", "laptop"},
                                        {"models", {"gpt-4o-mini"}},
                                        {"metadata", {{"team", "red"}, {"cost_center", "c1"}}},
                                        {"limits", {{"requests_per_minute", 10}}}});
  const std::string id = created["id"], key = created["key"];
  const std::string path = "/admin/v1/keys/" + id;
  EXPECT_EQ(visible_models(key), std::set<std::string>{"gpt-4o-mini"});

  auto r = admin("PATCH", path, {{"alias", "desktop"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto record = json::parse(r.body);
  EXPECT_EQ(record["alias"], "desktop");
  EXPECT_EQ(record["user"], "pat@example.com") << "fields not in the patch stay";
  EXPECT_EQ(record["models"], json({"gpt-4o-mini"}));
  EXPECT_EQ(record.count("key"), 0u) << "no secret in a patch answer";

  r = admin("PATCH", path, {{"user", "pat2@example.com"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["user"], "pat2@example.com");
  EXPECT_EQ(json::parse(r.body)["alias"], "desktop");

  // models take effect on the very next request
  r = admin("PATCH", path, {{"models", {"gpt-4o", "llama3.1"}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["models"], json({"gpt-4o", "llama3.1"}));
  EXPECT_EQ(visible_models(key), (std::set<std::string>{"gpt-4o", "llama3.1"}));
  EXPECT_EQ(chat_status(key, "gpt-4o-mini"), 403);
  EXPECT_EQ(chat_status(key, "gpt-4o"), 200);
  r = admin("PATCH", path, {{"models", nullptr}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["models"], json::array()) << "null resets: all models";
  EXPECT_EQ(visible_models(key), visible_models(gateway_->key()));
  EXPECT_EQ(chat_status(key, "gpt-4o-mini"), 200);

  // metadata: a merge patch, null removes a member
  r = admin("PATCH", path, {{"metadata", {{"cost_center", nullptr}, {"owner", "ops"}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["metadata"], json({{"team", "red"}, {"owner", "ops"}}));
  r = admin("PATCH", path, {{"metadata", {{"nested", {{"a", 1}}}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["metadata"],
            json({{"team", "red"}, {"owner", "ops"}, {"nested", {{"a", 1}}}}));

  // limits: likewise, and only non-negative integers
  r = admin("PATCH", path, {{"limits", {{"tokens_per_day", 1000}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["limits"], json({{"requests_per_minute", 10}, {"tokens_per_day", 1000}}));
  r = admin("PATCH", path, {{"limits", {{"requests_per_minute", nullptr}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["limits"], json({{"tokens_per_day", 1000}}));
  EXPECT_TRUE(bad_field(admin("PATCH", path, {{"limits", {{"requests_per_minute", -1}}}}), "limits"));
  EXPECT_TRUE(bad_field(admin("PATCH", path, {{"limits", {{"requests_per_minute", "many"}}}}), "limits"));
  EXPECT_TRUE(bad_field(admin("PATCH", path, {{"metadata", "text"}}), "metadata"));

  // expires_at: in the future or null
  EXPECT_TRUE(bad_field(admin("PATCH", path, {{"expires_at", unix_now() - 10}}), "expires_at"));
  EXPECT_TRUE(bad_field(admin("PATCH", path, {{"expires_at", "tomorrow"}}), "expires_at"));
  EXPECT_TRUE(bad_field(admin("PATCH", path, {{"expires_at", unix_now() + 3600.5}}), "expires_at"));
  EXPECT_TRUE(bad_field(admin("PATCH", path, {{"expires_at", true}}), "expires_at"));
  const auto later = unix_now() + 3600;
  r = admin("PATCH", path, {{"expires_at", later}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["expires_at"], later);
  r = admin("PATCH", path, {{"alias", "again"}});
  EXPECT_EQ(json::parse(r.body)["expires_at"], later) << "untouched by a patch without it";
  r = admin("PATCH", path, {{"expires_at", nullptr}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(json::parse(r.body)["expires_at"].is_null());

  // what cannot be patched
  for (const auto& [field, value] : std::vector<std::pair<std::string, json>>{{"status", "disabled"},
                                                                              {"tenant", tenant},
                                                                              {"key", "sk-e2b-x"},
                                                                              {"prefix", "sk-e2b-..."},
                                                                              {"colour", "blue"}}) {
    EXPECT_TRUE(bad_field(admin("PATCH", path, {{field, value}}), field)) << field;
  }
  EXPECT_TRUE(bad_field(admin("PATCH", path, {{"models", {"no-such-model"}}}), "models"));
  EXPECT_TRUE(bad_field(admin("PATCH", path, {{"models", "gpt-4o"}}), "models"));
  EXPECT_TRUE(bad_field(admin("PATCH", path, {{"user", ""}}), "user"));
  EXPECT_TRUE(bad_field(admin("PATCH", path, {{"user", nullptr}}), "user"));
  EXPECT_TRUE(bad_field(admin("PATCH", path, {{"alias", 5}}), "alias"));
  r = admin("PATCH", path, json::array({1, 2}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "invalid_json");

  // nothing of the refused patches stuck
  record = json::parse(admin("GET", path).body);
  EXPECT_EQ(record["status"], "active");
  EXPECT_EQ(record["user"], "pat2@example.com");
  EXPECT_EQ(record["alias"], "again");
  EXPECT_EQ(record["models"], json::array());
  EXPECT_EQ(record["limits"], json({{"tokens_per_day", 1000}}));
  EXPECT_TRUE(record["expires_at"].is_null());
  EXPECT_EQ(chat_status(key), 200);

  r = admin("PATCH", "/admin/v1/keys/key_0123456789abcdef", {{"alias", "x"}});
  EXPECT_EQ(r.status, 404) << r.body;
  ASSERT_EQ(admin("DELETE", path).status, 200);
  r = admin("PATCH", path, {{"alias", "x"}});
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(error_code(r), "conflict");
}

TEST_F(AdminTest, PatchedExpiryLocksTheKeyOutOnceItPasses) {
  const auto created = new_key(new_tenant());
  const std::string id = created["id"], key = created["key"];
  const auto expires_at = unix_now() + 2;
  const auto r = admin("PATCH", "/admin/v1/keys/" + id, {{"expires_at", expires_at}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(chat_status(key), 200) << "not yet expired";
  EXPECT_TRUE(eventually([&] { return chat_status(key) == 401; }, std::chrono::seconds(6)))
      << "refused once expired";
  EXPECT_EQ(json::parse(admin("GET", "/admin/v1/keys/" + id).body)["expires_at"], expires_at);
  const auto extended = admin("PATCH", "/admin/v1/keys/" + id, {{"expires_at", nullptr}});
  ASSERT_EQ(extended.status, 200) << extended.body;
  EXPECT_EQ(chat_status(key), 200) << "a key that never expires works again";
}

TEST_F(AdminTest, KeysArePagedByCursor) {
  const auto tenant = new_tenant();
  std::set<std::string> created;
  for (int i = 0; i < 7; ++i)
    created.insert(new_key(tenant, {{"user", "page" + std::to_string(i % 2)}})["id"]);

  std::vector<std::string> seen;
  std::vector<std::size_t> sizes;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    const auto r = admin(
        "GET", "/admin/v1/keys?tenant=" + tenant + "&limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(r.status, 200) << r.body;
    const auto body = json::parse(r.body);
    EXPECT_EQ(body["object"], "list");
    sizes.push_back(body["data"].size());
    for (const auto& k : body["data"]) {
      seen.push_back(k["id"]);
      EXPECT_EQ(k["tenant"], tenant);
      EXPECT_EQ(k.count("key"), 0u);
    }
    if (!body["has_more"].get<bool>()) {
      EXPECT_TRUE(body["next_cursor"].is_null());
      break;
    }
    ASSERT_TRUE(body["next_cursor"].is_string());
    cursor = body["next_cursor"];
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{3, 3, 1}));
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end())) << "in id order";
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size()) << "no duplicates";
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), created);

  // an exact multiple of the page size ends with has_more false, not with an empty page
  const auto whole = json::parse(admin("GET", "/admin/v1/keys?tenant=" + tenant + "&limit=7").body);
  EXPECT_EQ(whole["data"].size(), 7u);
  EXPECT_FALSE(whole["has_more"].get<bool>());

  // filters
  EXPECT_EQ(list_all("/admin/v1/keys?tenant=" + tenant + "&user=page1").size(), 3u);
  const std::string revoked = *created.begin();
  ASSERT_EQ(admin("DELETE", "/admin/v1/keys/" + revoked).status, 200);
  const auto revoked_list = list_all("/admin/v1/keys?tenant=" + tenant + "&status=revoked");
  ASSERT_EQ(revoked_list.size(), 1u);
  EXPECT_EQ(revoked_list[0]["id"], revoked);
  EXPECT_EQ(list_all("/admin/v1/keys?tenant=" + tenant + "&status=active").size(), 6u);

  // bad parameters
  for (const auto& limit : {"0", "201", "-1", "abc", "3x", ""}) {
    EXPECT_TRUE(bad_field(admin("GET", "/admin/v1/keys?limit=" + std::string(limit)), "limit")) << limit;
  }
  EXPECT_EQ(admin("GET", "/admin/v1/keys?limit=200").status, 200);
  EXPECT_EQ(admin("GET", "/admin/v1/keys?limit=1").status, 200);
  EXPECT_TRUE(bad_field(admin("GET", "/admin/v1/keys?colour=blue"), "colour"));
  EXPECT_TRUE(bad_field(admin("GET", "/admin/v1/keys?status=sleeping"), "status"));
  EXPECT_TRUE(bad_field(admin("GET", "/admin/v1/keys?include_deleted=true"), "include_deleted"));
  EXPECT_TRUE(bad_field(admin("GET", "/admin/v1/keys/" + revoked + "?limit=3"), "limit"));
}

TEST_F(AdminTest, RotateChecksTheGracePeriod) {
  const std::string id = new_key(new_tenant())["id"];
  const auto rotate = "/admin/v1/keys/" + id + "/rotate";
  for (const auto& grace : {json(-1), json(1.5), json(true), json("60"), json(INT64_MAX), json(UINT64_MAX)}) {
    EXPECT_TRUE(bad_field(admin("POST", rotate, {{"grace_seconds", grace}}), "grace_seconds")) << grace;
  }
  EXPECT_TRUE(bad_field(admin("POST", rotate, {{"grace", 5}}), "grace"));
  EXPECT_EQ(admin("POST", rotate, {{"grace_seconds", 86400}}).status, 200);
  EXPECT_EQ(admin("POST", "/admin/v1/keys/key_0123456789abcdef/rotate").status, 404);
}

TEST_F(AdminTest, QueryValuesAreUrlDecoded) {
  const auto tenant = new_tenant("Encoded");
  const std::string id = new_key(tenant, {{"user", "jane doe@example.com"}})["id"];
  new_key(tenant, {{"user", "other@example.com"}});
  auto keys = list_all("/admin/v1/keys?tenant=" + tenant + "&user=jane%20doe%40example.com");
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0]["id"], id);
  keys = list_all("/admin/v1/keys?tenant=" + tenant + "&user=jane+doe%40example.com");
  ASSERT_EQ(keys.size(), 1u) << "'+' is a space in a query string";
  auto r = admin("GET", "/admin/v1/usage?group_by=model%2Ckey&from=2020-01-01T00%3A00%3A00Z&key=" + id);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["group_by"], json({"model", "key"}));
  EXPECT_EQ(json::parse(r.body)["from"], "2020-01-01");
  r = admin("GET", "/admin/v1/requests?from=2020-01-01T00%3A00%3A00Z&to=2100-01-01T00:00:00Z&key=" + id);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(admin("GET", "/admin/v1/keys?user=%zz").status, 200) << "a malformed escape is left as it is";
  EXPECT_TRUE(bad_field(admin("GET", "/admin/v1/keys?colo%75r=blue"), "colour")) << "names are decoded too";
}

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

// ---- usage, the request log and the audit log ----

TEST_F(AdminTest, UsageAndRequestLogCountEveryRequest) {
  const auto tenant = new_tenant("Usage");
  const auto created = new_key(tenant, {{"user", "usage@example.com"}});
  const std::string id = created["id"], key = created["key"];
  struct Sent {
    std::string model;
    bool stream;
    std::string scenario;
    int status;
  };
  const std::vector<Sent> plan{{"gpt-4o", false, "ok", 200},      {"gpt-4o", true, "ok", 200},
                               {"gpt-4o-mini", false, "ok", 200}, {"gpt-4o", false, "status=500", 502},
                               {"gpt-4o-mini", true, "ok", 200},  {"gpt-4o", false, "ok", 200}};
  std::vector<std::string> request_ids;
  for (const auto& sent : plan) {
    request_ids.push_back(new_request_id("chat"));
    const auto r = chat(gateway_->port(), key, scenario_request(sent.scenario, sent.stream, sent.model),
                        {{"X-Request-ID", request_ids.back()}});
    ASSERT_EQ(r.status, sent.status) << r.body;
  }
  const auto total = static_cast<int>(plan.size());
  ASSERT_TRUE(eventually([&] {
    const auto r = admin("GET", "/admin/v1/usage?group_by=&key=" + id);
    return r.status == 200 && json::parse(r.body)["totals"]["requests"] == total;
  })) << admin("GET", "/admin/v1/usage?group_by=&key=" + id).body;

  // totals
  auto report = json::parse(admin("GET", "/admin/v1/usage?group_by=&key=" + id).body);
  EXPECT_EQ(report["object"], "usage_report");
  EXPECT_EQ(report["group_by"], json::array());
  EXPECT_FALSE(report.contains("data")) << "totals only";
  const auto totals = report["totals"];
  EXPECT_EQ(totals["requests"], total);
  EXPECT_EQ(totals["errors"], 1);
  EXPECT_GT(totals["completion_tokens"].get<int>(), 0);
  EXPECT_EQ(totals["total_tokens"].get<int>(),
            totals["prompt_tokens"].get<int>() + totals["completion_tokens"].get<int>());
  EXPECT_EQ(json::parse(admin("GET", "/admin/v1/usage?group_by=&tenant=" + tenant).body)["totals"], totals);

  // grouped by day (the default)
  report = json::parse(admin("GET", "/admin/v1/usage?key=" + id).body);
  EXPECT_EQ(report["group_by"], json({"day"}));
  int by_day = 0;
  for (const auto& row : report["data"]) by_day += row["requests"].get<int>();
  EXPECT_EQ(by_day, total);

  // grouped by model and key
  report = json::parse(admin("GET", "/admin/v1/usage?group_by=model,key&key=" + id).body);
  EXPECT_EQ(report["group_by"], json({"model", "key"}));
  ASSERT_EQ(report["data"].size(), 2u) << report.dump(2);
  std::map<std::string, json> by_model;
  for (const auto& row : report["data"]) {
    EXPECT_EQ(row["key"], id);
    EXPECT_FALSE(row.contains("day"));
    by_model[row["model"]] = row;
  }
  EXPECT_EQ(by_model["gpt-4o"]["requests"], 4);
  EXPECT_EQ(by_model["gpt-4o"]["errors"], 1);
  EXPECT_EQ(by_model["gpt-4o-mini"]["requests"], 2);
  EXPECT_EQ(by_model["gpt-4o-mini"]["errors"], 0);
  EXPECT_EQ(report["totals"], totals);

  // filters
  report = json::parse(admin("GET", "/admin/v1/usage?group_by=&key=" + id + "&model=gpt-4o-mini").body);
  EXPECT_EQ(report["totals"]["requests"], 2);
  EXPECT_EQ(report["totals"]["prompt_tokens"], by_model["gpt-4o-mini"]["prompt_tokens"]);
  report = json::parse(admin("GET", "/admin/v1/usage?group_by=&key=key_0123456789abcdef").body);
  EXPECT_EQ(report["totals"]["requests"], 0);
  const auto today = unix_now() / 86400 * 86400;
  report = json::parse(admin("GET", "/admin/v1/usage?group_by=&key=" + id +
                                        "&from=" + std::to_string(today - 86400) +
                                        "&to=" + std::to_string(today + 2 * 86400))
                           .body);
  EXPECT_EQ(report["totals"]["requests"], total);
  EXPECT_TRUE(report["from"].is_string());
  report = json::parse(admin("GET", "/admin/v1/usage?group_by=&key=" + id + "&to=2001-01-01").body);
  EXPECT_EQ(report["totals"]["requests"], 0);

  // bad parameters
  EXPECT_TRUE(bad_field(admin("GET", "/admin/v1/usage?from=yesterday"), "from"));
  EXPECT_TRUE(bad_field(admin("GET", "/admin/v1/usage?from=2026-02-30"), "from"));
  EXPECT_TRUE(bad_field(admin("GET", "/admin/v1/usage?to=2026-13-01"), "to"));
  EXPECT_TRUE(bad_field(admin("GET", "/admin/v1/usage?from=2026-02-01&to=2026-01-01"), "to"));
  EXPECT_TRUE(bad_field(admin("GET", "/admin/v1/usage?group_by=colour"), "group_by"));
  EXPECT_TRUE(bad_field(admin("GET", "/admin/v1/usage?limit=3"), "limit"));
  EXPECT_TRUE(bad_field(admin("GET", "/admin/v1/requests?from=soon"), "from"));
  EXPECT_TRUE(bad_field(admin("GET", "/admin/v1/requests?group_by=day"), "group_by"));
  EXPECT_TRUE(bad_field(admin("GET", "/admin/v1/requests?cursor=nonsense"), "cursor"));
  EXPECT_TRUE(bad_field(admin("GET", "/admin/v1/requests?limit=0"), "limit"));
  EXPECT_TRUE(bad_field(admin("GET", "/admin/v1/requests?outcome=exploded"), "outcome"));

  // the request log, one row a page, newest first
  std::vector<json> rows;
  std::string cursor;
  for (int page = 0; page < 20; ++page) {
    const auto r =
        admin("GET", "/admin/v1/requests?limit=1&key=" + id + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(r.status, 200) << r.body;
    const auto body = json::parse(r.body);
    ASSERT_LE(body["data"].size(), 1u);
    for (const auto& row : body["data"]) rows.push_back(row);
    if (!body["has_more"].get<bool>()) {
      EXPECT_TRUE(body["next_cursor"].is_null());
      break;
    }
    cursor = body["next_cursor"];
  }
  ASSERT_EQ(rows.size(), plan.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    const auto& sent = plan[plan.size() - 1 - i];
    EXPECT_EQ(row["request_id"], request_ids[plan.size() - 1 - i]) << "newest first";
    EXPECT_EQ(row["object"], "request");
    EXPECT_EQ(row["key"], id);
    EXPECT_EQ(row["tenant"], tenant);
    EXPECT_EQ(row["user"], "usage@example.com");
    EXPECT_EQ(row["model"], sent.model);
    EXPECT_EQ(row["stream"], sent.stream);
    EXPECT_EQ(row["status"], sent.status);
    EXPECT_EQ(row["outcome"], sent.status == 200 ? "completed" : "upstream_error");
    if (i > 0) {
      EXPECT_LE(row["ts_ms"].get<std::int64_t>(), rows[i - 1]["ts_ms"].get<std::int64_t>());
    }
  }
  std::set<std::string> unique;
  for (const auto& row : rows) unique.insert(row["request_id"].get<std::string>());
  EXPECT_EQ(unique.size(), rows.size()) << "no duplicates";

  auto page = json::parse(admin("GET", "/admin/v1/requests?key=" + id).body);
  EXPECT_EQ(page["data"].size(), plan.size());
  EXPECT_FALSE(page["has_more"].get<bool>());
  page = json::parse(admin("GET", "/admin/v1/requests?outcome=upstream_error&key=" + id).body);
  ASSERT_EQ(page["data"].size(), 1u);
  EXPECT_EQ(page["data"][0]["request_id"], request_ids[3]);
  EXPECT_EQ(page["data"][0]["status"], 502);
  page = json::parse(admin("GET", "/admin/v1/requests?outcome=completed&key=" + id).body);
  EXPECT_EQ(page["data"].size(), plan.size() - 1);
  page = json::parse(admin("GET", "/admin/v1/requests?model=gpt-4o-mini&key=" + id).body);
  EXPECT_EQ(page["data"].size(), 2u);
  page = json::parse(admin("GET", "/admin/v1/requests?user=usage@example.com&tenant=" + tenant).body);
  EXPECT_EQ(page["data"].size(), plan.size());
  page = json::parse(admin("GET", "/admin/v1/requests?key=" + id + "&to=2001-01-01").body);
  EXPECT_EQ(page["data"].size(), 0u);
}

TEST_F(AdminTest, AuditLogRecordsEveryWriteNewestFirst) {
  std::vector<std::pair<std::string, std::string>> expected;  // (action, request id), in order
  const auto write = [&](const std::string& action, const std::string& method, const std::string& path,
                         const json& body) {
    const auto request_id = new_request_id("audit");
    auto r = admin(method, path, body, "", request_id);
    EXPECT_LT(r.status, 300) << action << ": " << r.body;
    EXPECT_EQ(r.headers["x-request-id"], request_id);
    expected.emplace_back(action, request_id);
    return json::parse(r.body);
  };
  const std::string tenant = write("tenant.create", "POST", "/admin/v1/tenants", {{"name", "Audited"}})["id"];
  const auto created =
      write("key.create", "POST", "/admin/v1/keys", {{"tenant", tenant}, {"user", "a@example.com"}});
  const std::string id = created["id"], secret = created["key"];
  const auto key_path = "/admin/v1/keys/" + id;
  write("key.update", "PATCH", key_path, {{"alias", "audited"}});
  write("tenant.update", "PATCH", "/admin/v1/tenants/" + tenant, {{"name", "Audited 2"}});
  write("key.disable", "POST", key_path + "/disable", nullptr);
  write("key.enable", "POST", key_path + "/enable", nullptr);
  const std::string rotated =
      write("key.rotate", "POST", key_path + "/rotate", {{"grace_seconds", 5}})["key"];
  write("key.delete", "DELETE", key_path, nullptr);
  const auto again = admin("DELETE", key_path);  // idempotent: no second entry
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(json::parse(again.body)["status"], "revoked");
  write("tenant.delete", "DELETE", "/admin/v1/tenants/" + tenant, nullptr);
  // refused writes are not audited
  EXPECT_EQ(admin("PATCH", key_path, {{"alias", "x"}}).status, 409);
  EXPECT_EQ(admin("GET", key_path).status, 200);

  const auto r = admin("GET", "/admin/v1/audit?limit=50");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.find(secret.substr(7)), std::string::npos) << "no secret in the audit log";
  EXPECT_EQ(r.body.find(rotated.substr(7)), std::string::npos) << "no secret in the audit log";
  const auto entries = json::parse(r.body)["data"];
  std::vector<std::pair<std::string, std::string>> mine;
  std::int64_t previous_id = INT64_MAX;
  const auto now = unix_now();
  for (const auto& entry : entries) {
    EXPECT_EQ(entry["object"], "audit_entry");
    EXPECT_LT(entry["id"].get<std::int64_t>(), previous_id) << "newest first";
    previous_id = entry["id"];
    if (entry["target_id"] != tenant && entry["target_id"] != id) continue;
    EXPECT_EQ(entry["actor"], "admin");
    EXPECT_NEAR(static_cast<double>(entry["ts"].get<std::int64_t>()), static_cast<double>(now), 60.0);
    EXPECT_TRUE(entry["details"].is_object());
    mine.emplace_back(entry["action"], entry["request_id"]);
  }
  std::reverse(mine.begin(), mine.end());
  EXPECT_EQ(mine, expected);
  for (const auto& entry : entries) {
    if (entry["action"] == "key.update" && entry["target_id"] == id) {
      EXPECT_EQ(entry["details"], json({{"alias", "audited"}})) << "the patch";
    }
    if (entry["action"] == "key.rotate" && entry["target_id"] == id) {
      EXPECT_EQ(entry["details"]["grace_seconds"], 5);
    }
    if (entry["action"] == "tenant.delete" && entry["target_id"] == tenant) {
      EXPECT_EQ(entry["details"]["force"], false);
    }
  }

  // paging through the whole log three at a time gives the same entries as one big page
  std::vector<std::int64_t> paged;
  std::string cursor;
  for (int page = 0; page < 1000; ++page) {
    const auto p = admin("GET", "/admin/v1/audit?limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(p.status, 200) << p.body;
    const auto body = json::parse(p.body);
    EXPECT_LE(body["data"].size(), 3u);
    for (const auto& entry : body["data"]) paged.push_back(entry["id"]);
    if (!body["has_more"].get<bool>()) {
      EXPECT_TRUE(body["next_cursor"].is_null());
      break;
    }
    cursor = body["next_cursor"];
  }
  std::vector<std::int64_t> all;
  for (const auto& entry : list_all("/admin/v1/audit")) all.push_back(entry["id"]);
  EXPECT_EQ(paged, all);
  EXPECT_GE(all.size(), expected.size());
  EXPECT_TRUE(std::is_sorted(all.rbegin(), all.rend()));
  EXPECT_EQ(std::set<std::int64_t>(all.begin(), all.end()).size(), all.size()) << "no duplicates";
  EXPECT_TRUE(bad_field(admin("GET", "/admin/v1/audit?cursor=abc"), "cursor"));
  EXPECT_TRUE(bad_field(admin("GET", "/admin/v1/audit?cursor=-4"), "cursor"));
  EXPECT_TRUE(bad_field(admin("GET", "/admin/v1/audit?action=key.create"), "action"));
}

TEST_F(AdminTest, PlaintextKeyIsNeverStoredLoggedOrShownAgain) {
  const auto tenant = new_tenant("Secrets");
  const auto created = new_key(tenant, {{"user", "secret@example.com"}, {"alias", "s"}});
  const std::string id = created["id"], first = created["key"];
  ASSERT_TRUE(first.starts_with("sk-e2b-"));
  EXPECT_EQ(chat_status(first), 200);
  const auto rotated = admin("POST", "/admin/v1/keys/" + id + "/rotate", {{"grace_seconds", 60}});
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  const std::string second = json::parse(rotated.body)["key"];
  EXPECT_EQ(chat_status(second), 200);
  EXPECT_EQ(chat_status(first), 200) << "in its grace period";
  ASSERT_EQ(admin("PATCH", "/admin/v1/keys/" + id, {{"alias", "t"}}).status, 200);
  ASSERT_TRUE(eventually(
      [&] { return json::parse(admin("GET", "/admin/v1/requests?key=" + id).body)["data"].size() == 3; }));

  // Only the random part is searched for: the "sk-e2b-" prefix is in every key.
  const std::vector<std::string> secrets{first.substr(7), second.substr(7)};
  for (const auto& path :
       {"/admin/v1/keys/" + id, "/admin/v1/keys?tenant=" + tenant, std::string("/admin/v1/keys?limit=200"),
        std::string("/admin/v1/audit?limit=200"), "/admin/v1/requests?key=" + id,
        "/admin/v1/usage?group_by=key&key=" + id, "/admin/v1/tenants/" + tenant}) {
    const auto r = admin("GET", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    for (const auto& secret : secrets) EXPECT_EQ(r.body.find(secret), std::string::npos) << path;
  }
  const auto record = json::parse(admin("GET", "/admin/v1/keys/" + id).body);
  EXPECT_FALSE(record.contains("key"));
  EXPECT_TRUE(record["prefix"].get<std::string>().starts_with("sk-e2b-"));
  EXPECT_LT(record["prefix"].get<std::string>().size(), second.size());

  // no text in any column of any table
  const auto db = gateway_->storage_path();
  int columns = 0;
  for (const auto& table : sql_column(db, "SELECT name FROM sqlite_master WHERE type = 'table'")) {
    for (const auto& column : sql_column(db, "SELECT name FROM pragma_table_info('" + table + "')")) {
      ++columns;
      for (const auto& secret : secrets) {
        const auto hits = sql_column(db, "SELECT COUNT(*) FROM \"" + table + "\" WHERE instr(CAST(\"" +
                                             column + "\" AS TEXT), '" + secret + "') > 0");
        EXPECT_EQ(hits.at(0), "0") << table << "." << column;
      }
    }
  }
  EXPECT_GE(columns, 20) << "the scan saw the schema";
  for (const auto& file : {db, db + "-wal"}) {
    const auto bytes = read_file(file);
    for (const auto& secret : secrets) EXPECT_EQ(bytes.find(secret), std::string::npos) << file;
  }
  const auto log = gateway_->log();
  for (const auto& secret : secrets) EXPECT_EQ(log.find(secret), std::string::npos) << "the gateway log";
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
  EXPECT_TRUE(eventually(
      [&] { return chat(gateway_->port(), old_key, scenario_request("ok", false)).status == 401; }, 6s))
      << "refused after the grace period";
  EXPECT_EQ(chat(gateway_->port(), new_key, scenario_request("ok", false)).status, 200);
  const auto again = admin("POST", "/admin/v1/keys/" + id + "/rotate", json::object());
  const std::string newest = json::parse(again.body)["key"];
  EXPECT_EQ(chat(gateway_->port(), new_key, scenario_request("ok", false)).status, 401)
      << "default grace is 0";
  EXPECT_EQ(chat(gateway_->port(), newest, scenario_request("ok", false)).status, 200);
}
