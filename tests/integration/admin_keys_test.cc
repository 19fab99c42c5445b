// The admin REST API's keys over real HTTP against the running binary and a real SQLite file:
// creation, changes, paging, rotation, and the secret shown once and never stored.
#include <gtest/gtest.h>

#include <thread>

#include "admin_test_support.h"

using namespace harness;
using namespace admin_testing;
using nlohmann::json;

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
