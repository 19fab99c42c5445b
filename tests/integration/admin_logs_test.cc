// The admin REST API's usage report, request log and audit log over real HTTP against the
// running binary and a real SQLite file.
#include <gtest/gtest.h>

#include <thread>

#include "admin_test_support.h"

using namespace harness;
using namespace admin_testing;
using nlohmann::json;

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
