// Hostile JSON against the real binary: bodies nested far deeper than any real request, on the
// chat route and on every admin route with a body; oversize metadata and limits; and database
// rows that an older version could have written too deep to show.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"

using namespace harness;
using nlohmann::json;

namespace {

/// Depths past the 64-level limit: just past it, and far enough to overflow a thread's stack
/// if anything walked them recursively.
const std::vector<std::size_t> kDeepLevels{65, 1'000, 100'000, 200'000};

/// JSON arrays nested `depth` levels deep: "[[[…]]]".
std::string deep(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

json body_of(const Response& r) {
  auto parsed = json::parse(r.body, nullptr, false);
  EXPECT_FALSE(parsed.is_discarded()) << "not JSON: " << r.body.substr(0, 300);
  return parsed;
}

/// A 400 invalid_json whose message names the nesting limit.
::testing::AssertionResult refused_as_too_deep(const Response& r) {
  if (r.status != 400) return ::testing::AssertionFailure() << "status " << r.status << ": " << r.body;
  const auto error = body_of(r).value("error", json::object());
  if (error.value("code", "") != "invalid_json")
    return ::testing::AssertionFailure() << "code is not invalid_json: " << r.body;
  if (error.value("message", "").find("deeper than 64 levels") == std::string::npos)
    return ::testing::AssertionFailure() << "the message does not name the limit: " << r.body;
  return ::testing::AssertionSuccess();
}

/// A 400 invalid_field whose message names `field` first.
::testing::AssertionResult refused_naming(const Response& r, const std::string& field) {
  if (r.status != 400) return ::testing::AssertionFailure() << "status " << r.status << ": " << r.body;
  const auto error = body_of(r).value("error", json::object());
  if (error.value("code", "") != "invalid_field")
    return ::testing::AssertionFailure() << "code is not invalid_field: " << r.body;
  if (!error.value("message", "").starts_with(field))
    return ::testing::AssertionFailure() << "the message does not name " << field << ": " << r.body;
  return ::testing::AssertionSuccess();
}

/// Runs SQL against a SQLite file directly, as an older version or another program could.
void sql_write(const std::string& db_path, const std::string& sql) {
  sqlite3* raw = nullptr;
  const int opened = sqlite3_open(db_path.c_str(), &raw);
  const std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, &sqlite3_close);
  ASSERT_EQ(opened, SQLITE_OK) << db_path;
  char* raw_error = nullptr;
  const int rc = sqlite3_exec(db.get(), sql.c_str(), nullptr, nullptr, &raw_error);
  const std::unique_ptr<char, decltype(&sqlite3_free)> error(raw_error, &sqlite3_free);
  ASSERT_EQ(rc, SQLITE_OK) << (error ? error.get() : "") << "\n" << sql.substr(0, 300);
}

/// SQL for text of JSON arrays nested `depth` levels deep, built by SQLite itself.
std::string sql_deep(std::size_t depth) {
  const std::string n = std::to_string(depth);
  return "replace(hex(zeroblob(" + n + ")), '00', '[') || replace(hex(zeroblob(" + n + ")), '00', ']')";
}

/// Admin requests against one gateway.
class AdminClient {
 public:
  explicit AdminClient(const Gateway& gateway) : gateway_(gateway) {}
  Response raw(const std::string& method, const std::string& path, const std::string& body = "") const {
    std::map<std::string, std::string> headers{{"Authorization", "Bearer " + gateway_.admin_token()}};
    if (!body.empty()) headers["Content-Type"] = "application/json";
    return http(gateway_.admin_port(), method, path, headers, body);
  }
  Response call(const std::string& method, const std::string& path, const json& body = nullptr) const {
    return raw(method, path, body.is_null() ? "" : body.dump());
  }
  /// Creates something and returns its record (201 expected).
  json created(const std::string& path, const json& body) const {
    const auto r = call("POST", path, body);
    EXPECT_EQ(r.status, 201) << r.body;
    return body_of(r);
  }

 private:
  const Gateway& gateway_;
};

/// Every listing and record of the admin API still answers 200.
void expect_admin_answers(const AdminClient& admin, const std::vector<std::string>& records) {
  for (const char* path :
       {"/admin/v1/audit?limit=200", "/admin/v1/tenants?limit=200", "/admin/v1/keys?limit=200"}) {
    EXPECT_EQ(admin.call("GET", path).status, 200) << path;
  }
  for (const auto& path : records) EXPECT_EQ(admin.call("GET", path).status, 200) << path;
}

}  // namespace

class HostileChatJsonTest : public GatewaySuite<DefaultSettings> {};

TEST_F(HostileChatJsonTest, DeepBodiesAreInvalidJsonAndTheGatewayKeepsAnswering) {
  const std::map<std::string, std::string> headers{{"Authorization", "Bearer " + gateway_->key()},
                                                   {"Content-Type", "application/json"}};
  const auto post = [&](const std::string& body) {
    return http(gateway_->port(), "POST", "/v1/chat/completions", headers, body);
  };
  const std::string head = R"({"model":"gpt-4o","messages":[{"role":"user","content":)";
  for (const auto depth : kDeepLevels) {
    SCOPED_TRACE("depth " + std::to_string(depth));
    EXPECT_TRUE(
        refused_as_too_deep(post(head + R"([{"type":"text","text":"hi","extra":)" + deep(depth) + "}]}]}")))
        << "in a content part's extra field";
    EXPECT_TRUE(refused_as_too_deep(post(head + "\"hi\"}," + deep(depth) + "]}"))) << "as a message";
    EXPECT_TRUE(refused_as_too_deep(post(head + "\"hi\"}],\"metadata\":" + deep(depth) + "}")))
        << "in a top-level field";
    EXPECT_TRUE(refused_as_too_deep(post(deep(depth)))) << "as the whole body";
  }
  // The part object is at level 5, so 59 more levels reach the limit exactly: still served.
  const auto at_limit = post(head + R"([{"type":"text","text":"hi","extra":)" + deep(59) + "}]}]}");
  EXPECT_EQ(at_limit.status, 200) << at_limit.body;
  const auto answer =
      chat(gateway_->port(), gateway_->key(),
           {{"model", "gpt-4o"}, {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}});
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(http(gateway_->port(), "GET", "/health").status, 200);
}

// Authentication runs before the body is parsed: an 8 MiB body that is not JSON, or nests past
// the limit, costs a caller without a valid key no parse and gets the 401; with the key, the 400.
TEST_F(HostileChatJsonTest, HugeBadBodiesWithoutAValidKeyAre401NotAParse) {
  constexpr std::size_t kEightMiB = 8 * 1024 * 1024;
  const std::string head = R"({"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":")";
  const std::string unterminated = head + std::string(kEightMiB - 1024 - head.size(), 'x');
  const std::string too_deep = deep((kEightMiB - 1024) / 2);
  const auto post = [&](const std::map<std::string, std::string>& key, const std::string& body) {
    auto headers = key;
    headers.emplace("Content-Type", "application/json");
    return http(gateway_->port(), "POST", "/v1/chat/completions", headers, body);
  };
  const std::map<std::string, std::string> wrong{{"Authorization", "Bearer sk-wrong-key-000000000000"}};
  for (const auto* body : {&unterminated, &too_deep}) {
    SCOPED_TRACE(body == &unterminated ? "unterminated string" : "nested too deep");
    const auto refused = post(wrong, *body);
    EXPECT_EQ(refused.status, 401) << refused.body.substr(0, 300);
    EXPECT_EQ(openai_error_code(refused), "invalid_api_key");
    const auto missing = post({}, *body);
    EXPECT_EQ(missing.status, 401) << missing.body.substr(0, 300);
    EXPECT_EQ(openai_error_code(missing), "missing_api_key");
    const auto parsed = post({{"x-api-key", gateway_->key()}}, *body);
    EXPECT_EQ(parsed.status, 400) << parsed.body.substr(0, 300);
    EXPECT_EQ(openai_error_code(parsed), "invalid_json");
  }
}

/// CPU time (user + system) the process `pid` has used so far, in clock ticks.
long long cpu_ticks(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));  // after "pid (comm) "
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return utime + stime;
}

// The proof that no parse happens: a body that is valid JSON but costly to parse (four million
// array elements, refused only once parsed because it is not an object) costs the gateway a
// small fraction of the CPU without a valid key that it costs with one.
TEST_F(HostileChatJsonTest, AnUnauthenticatedHugeBodyIsNotParsed) {
  constexpr std::size_t kElements = 4 * 1024 * 1024 - 1024;
  std::string costly = "[1";
  costly.reserve(2 * kElements + 2);
  for (std::size_t i = 1; i < kElements; ++i) costly += ",1";
  costly += "]";
  const auto cost_of = [&](const std::map<std::string, std::string>& key, int expected_status) {
    const auto before = cpu_ticks(gateway_->pid());
    for (int i = 0; i < 3; ++i) {
      const auto r = http(gateway_->port(), "POST", "/v1/chat/completions", key, costly);
      EXPECT_EQ(r.status, expected_status) << r.body.substr(0, 300);
    }
    return cpu_ticks(gateway_->pid()) - before;
  };
  const auto unauthenticated = cost_of({{"Authorization", "Bearer sk-wrong-key-000000000000"}}, 401);
  const auto parsed = cost_of({{"x-api-key", gateway_->key()}}, 400);
  EXPECT_GT(parsed, 0) << "three parses of four million elements take measurable CPU";
  EXPECT_LT(unauthenticated * 4, parsed)
      << "without a valid key: " << unauthenticated << " ticks; with one (parsed): " << parsed << " ticks";
}

// A refusal in the request-headers phase is a plain JSON answer even when the body asks for a
// stream: nothing of the body is known yet, and error answers are never streamed.
TEST_F(HostileChatJsonTest, A401ForAStreamRequestIsPlainJson) {
  auto r = chat(gateway_->port(), "sk-wrong-key-000000000000", scenario_request("ok", true));
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(openai_error_code(r), "invalid_api_key");
  EXPECT_EQ(r.headers["content-type"], "application/json");
  EXPECT_EQ(r.headers.count("transfer-encoding"), 0U);
  EXPECT_TRUE(r.complete);
}

class HostileAdminJsonTest : public GatewaySuite<DefaultSettings> {
 protected:
  AdminClient admin() const { return AdminClient(*gateway_); }
};

TEST_F(HostileAdminJsonTest, DeepBodiesAreRefusedOnEveryRouteWithABody) {
  const auto client = admin();
  const std::string tenant = client.created("/admin/v1/tenants", {{"name", "Deep"}})["id"];
  const std::string key =
      client.created("/admin/v1/keys", {{"tenant", tenant}, {"user", "d@example.com"}})["id"];
  struct Route {
    std::string method, path, field;
  };
  const std::vector<Route> routes{{"POST", "/admin/v1/tenants", "metadata"},
                                  {"PATCH", "/admin/v1/tenants/" + tenant, "metadata"},
                                  {"POST", "/admin/v1/keys", "limits"},
                                  {"PATCH", "/admin/v1/keys/" + key, "metadata"},
                                  {"POST", "/admin/v1/keys/" + key + "/rotate", "grace_seconds"},
                                  {"POST", "/admin/v1/keys/" + key + "/disable", "reason"},
                                  {"POST", "/admin/v1/keys/" + key + "/enable", "reason"}};
  for (const auto depth : kDeepLevels) {
    for (const auto& route : routes) {
      SCOPED_TRACE(route.method + " " + route.path + " at depth " + std::to_string(depth));
      EXPECT_TRUE(refused_as_too_deep(client.raw(route.method, route.path, deep(depth))));
      EXPECT_TRUE(refused_as_too_deep(client.raw(route.method, route.path,
                                                 R"({"name":"x","tenant":")" + tenant + R"(","user":"u",")" +
                                                     route.field + "\":" + deep(depth) + "}")));
    }
  }
  expect_admin_answers(client, {"/admin/v1/tenants/" + tenant, "/admin/v1/keys/" + key});
  std::vector<std::string> actions;
  const auto audit = body_of(client.call("GET", "/admin/v1/audit?limit=200"));
  for (const auto& entry : audit["data"]) {
    if (entry["target_id"] == tenant || entry["target_id"] == key) actions.push_back(entry["action"]);
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"key.create", "tenant.create"})) << "nothing refused was done";
  EXPECT_EQ(body_of(client.call("GET", "/admin/v1/keys/" + key))["status"], "active");
}

TEST_F(HostileAdminJsonTest, OversizeMetadataAndLimitsAreRefusedNamingTheField) {
  const auto client = admin();
  const std::string tenant = client.created("/admin/v1/tenants", {{"name", "Sizes"}})["id"];
  const std::string key =
      client.created("/admin/v1/keys", {{"tenant", tenant}, {"user", "s@example.com"}})["id"];
  const auto nested = [](std::size_t levels) {  // metadata nesting `levels`, itself included
    json value = "leaf";
    for (std::size_t i = 0; i < levels; ++i) value = json{{"k", value}};
    return value;
  };
  json many_members = json::object(), many_limits = json::object();
  for (int i = 0; i < 65; ++i) {
    many_members["m" + std::to_string(i)] = i;
    many_limits["l" + std::to_string(i)] = i;
  }
  const json too_big{{"notes", std::string(16 * 1024, 'x')}};
  const json long_limit_name{{std::string(65, 'n'), 1}};
  struct Write {
    std::string method, path;
    json base;
  };
  const std::vector<Write> writes{{"POST", "/admin/v1/tenants", {{"name", "T"}}},
                                  {"PATCH", "/admin/v1/tenants/" + tenant, json::object()},
                                  {"POST", "/admin/v1/keys", {{"tenant", tenant}, {"user", "u@example.com"}}},
                                  {"PATCH", "/admin/v1/keys/" + key, json::object()}};
  for (const auto& write : writes) {
    SCOPED_TRACE(write.method + " " + write.path);
    const auto with = [&](const char* field, const json& value) {
      json body = write.base;
      body[field] = value;
      return client.call(write.method, write.path, body);
    };
    EXPECT_TRUE(refused_naming(with("metadata", nested(6)), "metadata"));
    EXPECT_TRUE(refused_naming(with("metadata", many_members), "metadata"));
    EXPECT_TRUE(refused_naming(with("metadata", too_big), "metadata"));
    EXPECT_TRUE(refused_naming(with("limits", many_limits), "limits"));
    EXPECT_TRUE(refused_naming(with("limits", long_limit_name), "limits"));
    const auto within = with("metadata", nested(5));
    EXPECT_EQ(within.status, write.method == "POST" ? 201 : 200) << within.body;
    EXPECT_EQ(body_of(within)["metadata"], nested(5));
  }
  expect_admin_answers(client, {"/admin/v1/tenants/" + tenant, "/admin/v1/keys/" + key});
}

/// A database written by an older version: values nested too deep to show, or malformed.
class StoredHostileJsonTest : public ::testing::Test {
 protected:
  GatewayOptions options() const {
    GatewayOptions o;
    o.upstream_base = upstream_.base_url();
    o.storage_path = (dir_.path() / "gateway.db").string();
    return o;
  }
  FakeUpstream upstream_;
  TempDir dir_;
};

TEST_F(StoredHostileJsonTest, RowsTooDeepToShowStillListAndSurviveRestarts) {
  std::string tenant, key, key_secret, damaged_key, damaged_secret;
  {
    Gateway first(options());
    const AdminClient client(first);
    tenant = client.created("/admin/v1/tenants", {{"name", "Old team"}})["id"];
    auto record = client.created("/admin/v1/keys", {{"tenant", tenant}, {"user", "old@example.com"}});
    key = record["id"];
    key_secret = record["key"];
    record = client.created("/admin/v1/keys",
                            {{"tenant", tenant}, {"user", "models@example.com"}, {"models", {"gpt-4o"}}});
    damaged_key = record["id"];
    damaged_secret = record["key"];
    ASSERT_EQ(first.stop(), 0);
  }
  const std::string db = options().storage_path;
  sql_write(db, "UPDATE tenants SET metadata = " + sql_deep(100'000) + ", limits = '{not json' WHERE id = '" +
                    tenant + "'");
  sql_write(db, "UPDATE api_keys SET metadata = " + sql_deep(100'000) + ", limits = " + sql_deep(65) +
                    " WHERE id = '" + key + "'");
  sql_write(db, "UPDATE api_keys SET models = " + sql_deep(100'000) + " WHERE id = '" + damaged_key + "'");
  sql_write(db,
            "INSERT INTO audit_log (ts, action, target_id, actor, request_id, details) VALUES (1, "
            "'tenant.update', '" +
                tenant + "', 'admin', 'req_old', " + sql_deep(200'000) + ")");

  for (int start = 0; start < 2; ++start) {
    SCOPED_TRACE(start == 0 ? "first start on the old rows" : "after a restart");
    Gateway gateway(options());
    const AdminClient client(gateway);
    expect_admin_answers(
        client, {"/admin/v1/tenants/" + tenant, "/admin/v1/keys/" + key, "/admin/v1/keys/" + damaged_key});

    const auto shown_tenant = body_of(client.call("GET", "/admin/v1/tenants/" + tenant));
    EXPECT_EQ(shown_tenant["name"], "Old team");
    EXPECT_TRUE(shown_tenant["metadata"].is_null());
    EXPECT_TRUE(shown_tenant["limits"].is_null());
    const auto shown_key = body_of(client.call("GET", "/admin/v1/keys/" + key));
    EXPECT_EQ(shown_key["user"], "old@example.com");
    EXPECT_TRUE(shown_key["metadata"].is_null());
    EXPECT_TRUE(shown_key["limits"].is_null());
    EXPECT_TRUE(body_of(client.call("GET", "/admin/v1/keys/" + damaged_key))["models"].is_null());
    const auto audit = body_of(client.call("GET", "/admin/v1/audit?limit=200"))["data"];
    ASSERT_FALSE(audit.empty());
    EXPECT_EQ(audit[0]["request_id"], "req_old");
    EXPECT_TRUE(audit[0]["details"].is_null());

    const auto me = http(gateway.port(), "GET", "/v1/me", {{"Authorization", "Bearer " + key_secret}});
    EXPECT_EQ(me.status, 200) << "the rest of the key works: " << me.body;
    EXPECT_EQ(
        http(gateway.port(), "GET", "/v1/models", {{"Authorization", "Bearer " + damaged_secret}}).status,
        401)
        << "a key whose model list cannot be read is refused, never given every model";
    EXPECT_TRUE(eventually([&] { return gateway.log().find("tenants row " + tenant) != std::string::npos; }))
        << "the log names the damaged row";
    EXPECT_EQ(gateway.stop(), 0);
  }

  Gateway repaired(options());
  const AdminClient client(repaired);
  auto r = client.call("PATCH", "/admin/v1/tenants/" + tenant,
                       {{"metadata", {{"team", "blue"}}}, {"limits", json::object()}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["metadata"], json({{"team", "blue"}}));
  r = client.call("PATCH", "/admin/v1/keys/" + damaged_key, {{"alias", "kept"}});
  EXPECT_TRUE(refused_naming(r, "models")) << "a change that would keep the unreadable model list";
  r = client.call("PATCH", "/admin/v1/keys/" + damaged_key, {{"models", {"gpt-4o"}}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(
      http(repaired.port(), "GET", "/v1/models", {{"Authorization", "Bearer " + damaged_secret}}).status,
      200);
}
