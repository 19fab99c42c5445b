// The rate_limit plugin over real HTTP: the gateway binary with a real SQLite file and the fake
// upstream. Each test makes its own tenant and keys through the admin API, with the limits it
// needs, so the tests share nothing but the suite's gateway.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "harness.h"

using namespace harness;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr const char* kPluginYaml = "  - name: rate_limit\n    config: {time_zone: UTC}\n";

struct RateLimitSettings {
  static void apply(GatewayOptions& options) { options.extra_plugins_yaml = kPluginYaml; }
};

/// A key made through the admin API.
struct Key {
  std::string id;
  std::string secret;
  std::string tenant;
};

Response admin(const Gateway& gateway, const std::string& method, const std::string& path,
               const json& body = nullptr) {
  std::map<std::string, std::string> headers{{"Authorization", "Bearer " + gateway.admin_token()}};
  if (!body.is_null()) headers["Content-Type"] = "application/json";
  return http(gateway.admin_port(), method, path, headers, body.is_null() ? "" : body.dump());
}

std::string new_tenant(const Gateway& gateway, const json& limits = json::object()) {
  const auto r = admin(gateway, "POST", "/admin/v1/tenants", {{"name", "Team"}, {"limits", limits}});
  EXPECT_EQ(r.status, 201) << r.body;
  return r.status == 201 ? json::parse(r.body)["id"].get<std::string>() : "";
}

Key new_key(const Gateway& gateway, const std::string& tenant, const json& limits) {
  const auto r = admin(gateway, "POST", "/admin/v1/keys",
                       {{"tenant", tenant}, {"user", "user@example.com"}, {"limits", limits}});
  EXPECT_EQ(r.status, 201) << r.body;
  if (r.status != 201) return {};
  const auto body = json::parse(r.body);
  return {body["id"], body["key"], tenant};
}

/// A quick answer, optionally with a token budget.
json small_request(std::optional<int> max_tokens = std::nullopt, const std::string& scenario = "ok") {
  auto body = scenario_request(scenario, false, "gpt-4o-mini");
  if (max_tokens) body["max_tokens"] = *max_tokens;
  return body;
}

std::string header(const Response& r, const std::string& name) {
  const auto found = r.headers.find(name);
  return found == r.headers.end() ? "" : found->second;
}

json error_of(const Response& r) {
  const auto body = json::parse(r.body, nullptr, false);
  return body.is_object() && body.contains("error") ? body["error"] : json::object();
}

/// The entry of a LimitState array for `name` at `level`, or null.
json limit_entry(const json& limits, const std::string& name, const std::string& level = "key") {
  for (const auto& item : limits) {
    if (item["name"] == name && item["level"] == level) return item;
  }
  return nullptr;
}

json me(const Gateway& gateway, const Key& key) {
  const auto r = http(gateway.port(), "GET", "/v1/me", {{"Authorization", "Bearer " + key.secret}});
  EXPECT_EQ(r.status, 200) << r.body;
  return json::parse(r.body, nullptr, false);
}

std::int64_t seconds_to_utc_midnight() {
  const auto now = std::chrono::system_clock::now();
  const auto next = std::chrono::floor<std::chrono::days>(now) + std::chrono::days(1);
  return std::chrono::duration_cast<std::chrono::seconds>(next - now).count();
}

}  // namespace

class RateLimitIntegration : public GatewaySuite<RateLimitSettings> {};

TEST_F(RateLimitIntegration, RequestsPerMinuteAnswersFiveThenRefusesWithHeadersCountingDown) {
  const auto key = new_key(*gateway_, new_tenant(*gateway_), {{"requests_per_minute", 5}});
  for (int i = 0; i < 5; ++i) {
    auto body = small_request();
    body["stream"] = i % 2 == 1;  // streams carry the headers too
    const auto r = chat(gateway_->port(), key.secret, body);
    ASSERT_EQ(r.status, 200) << i << ": " << r.body;
    EXPECT_EQ(header(r, "x-ratelimit-limit-requests"), "5");
    EXPECT_EQ(header(r, "x-ratelimit-remaining-requests"), std::to_string(4 - i));
    EXPECT_FALSE(header(r, "x-ratelimit-reset-requests").empty());
    EXPECT_EQ(header(r, "x-ratelimit-limit-tokens"), "") << "no token limit, no token headers";
  }
  const auto refused = chat(gateway_->port(), key.secret, small_request());
  ASSERT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(error_of(refused)["code"], "rate_limit_exceeded");
  EXPECT_NE(error_of(refused)["message"].get<std::string>().find("key " + key.id), std::string::npos);
  const int retry_after = std::stoi(header(refused, "retry-after"));
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 12) << "one request comes back every 12 s at 5 per minute";
  EXPECT_EQ(header(refused, "x-ratelimit-remaining-requests"), "0") << "429s carry the headers too";
}

TEST_F(RateLimitIntegration, KeysOfOneTenantShareItsLimit) {
  const auto tenant = new_tenant(*gateway_, {{"requests_per_minute", 3}});
  const auto a = new_key(*gateway_, tenant, json::object());
  const auto b = new_key(*gateway_, tenant, json::object());
  EXPECT_EQ(chat(gateway_->port(), a.secret, small_request()).status, 200);
  EXPECT_EQ(chat(gateway_->port(), a.secret, small_request()).status, 200);
  EXPECT_EQ(chat(gateway_->port(), b.secret, small_request()).status, 200);
  for (const auto* key : {&a, &b}) {
    const auto r = chat(gateway_->port(), key->secret, small_request());
    ASSERT_EQ(r.status, 429) << r.body;
    const auto message = error_of(r)["message"].get<std::string>();
    EXPECT_NE(message.find("tenant " + tenant), std::string::npos) << message;
    EXPECT_NE(message.find("requests_per_minute"), std::string::npos) << message;
  }
}

TEST_F(RateLimitIntegration, MaxConcurrentRefusesAtOnceAndNeverOpensMoreUpstream) {
  const auto key = new_key(*gateway_, new_tenant(*gateway_), {{"max_concurrent", 2}});
  upstream_->reset();
  struct Result {
    int status = 0;
    std::chrono::steady_clock::time_point at;
  };
  std::vector<Result> results(6);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      const auto r = chat(gateway_->port(), key.secret, small_request(std::nullopt, "first_byte_ms=2500"));
      results[i] = {r.status, std::chrono::steady_clock::now()};
    });
  }
  for (auto& t : threads) t.join();
  int answered = 0;
  int refused = 0;
  auto first_answer = std::chrono::steady_clock::time_point::max();
  auto last_refusal = std::chrono::steady_clock::time_point::min();
  for (const auto& r : results) {
    if (r.status == 200) {
      ++answered;
      first_answer = std::min(first_answer, r.at);
    } else if (r.status == 429) {
      ++refused;
      last_refusal = std::max(last_refusal, r.at);
    }
  }
  EXPECT_EQ(answered, 2);
  EXPECT_EQ(refused, 4);
  EXPECT_LT(last_refusal, first_answer) << "refusals do not wait for a slot";
  const auto stats = upstream_->stats();
  EXPECT_EQ(stats["requests"], 2) << "refused requests never went upstream";
  EXPECT_LE(stats["max_active"].get<int>(), 2) << stats.dump();
}

TEST_F(RateLimitIntegration, AnAbortedStreamFreesItsSlot) {
  const auto key = new_key(*gateway_, new_tenant(*gateway_), {{"max_concurrent", 1}});
  Connection stream(gateway_->port());
  stream.send_raw(chat_request_text(key.secret, scenario_request("stall_after=3", true, "gpt-4o-mini")));
  const auto head = stream.read_some(5s);
  ASSERT_NE(head.find("200"), std::string::npos) << head;
  const auto held = chat(gateway_->port(), key.secret, small_request());
  EXPECT_EQ(held.status, 429) << "the stream holds the only slot";
  EXPECT_EQ(error_of(held)["code"], "rate_limit_exceeded");
  EXPECT_EQ(header(held, "retry-after"), "1");
  stream.abort();
  EXPECT_TRUE(eventually([&] {
    const auto limits = me(*gateway_, key)["rate_limits"];
    return limit_entry(limits, "max_concurrent")["remaining"] == 1;
  })) << "the slot comes back when the client leaves";
  EXPECT_EQ(chat(gateway_->port(), key.secret, small_request()).status, 200);
}

TEST_F(RateLimitIntegration, TokensPerMinuteReservesMaxTokens) {
  const auto key = new_key(*gateway_, new_tenant(*gateway_), {{"tokens_per_minute", 1000}});
  const auto too_large = chat(gateway_->port(), key.secret, small_request(5000));
  ASSERT_EQ(too_large.status, 429) << too_large.body;
  EXPECT_EQ(error_of(too_large)["code"], "rate_limit_exceeded");
  EXPECT_NE(error_of(too_large)["message"].get<std::string>().find("max_tokens"), std::string::npos);
  EXPECT_EQ(header(too_large, "retry-after"), "") << "waiting would not help";
  const auto without_budget = chat(gateway_->port(), key.secret, small_request());
  EXPECT_EQ(without_budget.status, 429) << "the default reservation of 4096 tokens does not fit either";
  const auto fits = chat(gateway_->port(), key.secret, small_request(50));
  ASSERT_EQ(fits.status, 200) << fits.body;
  EXPECT_EQ(header(fits, "x-ratelimit-limit-tokens"), "1000");
  const auto remaining = std::stoll(header(fits, "x-ratelimit-remaining-tokens"));
  EXPECT_LE(remaining, 950) << "the prompt and the whole max_tokens are reserved";
  EXPECT_GT(remaining, 900);
}

TEST_F(RateLimitIntegration, AQuotaRefusalIsRecordedRejectedAndDoesNotCountAsARequest) {
  const auto key =
      new_key(*gateway_, new_tenant(*gateway_), {{"requests_per_day", 3}, {"tokens_per_day", 200}});
  EXPECT_EQ(chat(gateway_->port(), key.secret, small_request(100, "long=4000")).status, 200);
  const auto request_id = new_request_id("quota");
  const auto refused =
      chat(gateway_->port(), key.secret, small_request(100, "long=4000"), {{"X-Request-ID", request_id}});
  ASSERT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(error_of(refused)["code"], "insufficient_quota");
  EXPECT_EQ(error_of(refused)["type"], "insufficient_quota");
  EXPECT_EQ(usage_column(gateway_->storage_path(), request_id, "outcome"), "rejected");
  const auto limits = me(*gateway_, key)["rate_limits"];
  EXPECT_EQ(limit_entry(limits, "requests_per_day")["remaining"], 2) << limits.dump();
  EXPECT_EQ(chat(gateway_->port(), key.secret, small_request(5)).status, 200);
  EXPECT_EQ(chat(gateway_->port(), key.secret, small_request(5)).status, 200);
  const auto fourth = chat(gateway_->port(), key.secret, small_request(5));
  ASSERT_EQ(fourth.status, 429) << "three requests counted, the refused one not";
  EXPECT_NE(error_of(fourth)["message"].get<std::string>().find("requests_per_day"), std::string::npos);
}

TEST_F(RateLimitIntegration, MeAndTheAdminApiShowTheLimitsAndAPatchAppliesToTheNextRequest) {
  const auto tenant = new_tenant(*gateway_, {{"tokens_per_day", 100000}});
  const auto key = new_key(*gateway_, tenant, {{"requests_per_minute", 10}});
  ASSERT_EQ(chat(gateway_->port(), key.secret, small_request(50)).status, 200);
  const auto mine = me(*gateway_, key)["rate_limits"];
  ASSERT_TRUE(mine.is_array()) << mine.dump();
  ASSERT_EQ(mine.size(), 2u) << mine.dump();
  const auto rpm = limit_entry(mine, "requests_per_minute");
  EXPECT_EQ(rpm["limit"], 10);
  EXPECT_EQ(rpm["remaining"], 9);
  EXPECT_TRUE(rpm["reset_seconds"].is_number()) << rpm.dump();
  const auto day = limit_entry(mine, "tokens_per_day", "tenant");
  EXPECT_EQ(day["limit"], 100000);
  EXPECT_LT(day["remaining"].get<std::int64_t>(), 100000);
  EXPECT_NEAR(day["reset_seconds"].get<double>(), static_cast<double>(seconds_to_utc_midnight()), 5.0);

  const auto r = admin(*gateway_, "GET", "/admin/v1/keys/" + key.id + "/limits");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto report = json::parse(r.body);
  EXPECT_EQ(report["enforced"], true);
  EXPECT_EQ(limit_entry(report["limits"], "requests_per_minute")["remaining"], 9);
  EXPECT_EQ(limit_entry(report["limits"], "tokens_per_day", "tenant")["remaining"], day["remaining"]);

  ASSERT_EQ(admin(*gateway_, "PATCH", "/admin/v1/keys/" + key.id, {{"limits", {{"requests_per_minute", 1}}}})
                .status,
            200);
  const auto next = chat(gateway_->port(), key.secret, small_request(50));
  ASSERT_EQ(next.status, 200) << next.body;
  EXPECT_EQ(header(next, "x-ratelimit-limit-requests"), "1");
  EXPECT_EQ(header(next, "x-ratelimit-remaining-requests"), "0");
  EXPECT_EQ(chat(gateway_->port(), key.secret, small_request(50)).status, 429);
}

TEST(RateLimitRestart, ASpentDailyTokenQuotaStaysSpentAcrossARestart) {
  TempDir dir;
  FakeUpstream upstream;
  GatewayOptions options;
  options.upstream_base = upstream.base_url();
  options.storage_path = (dir.path() / "gateway.db").string();
  options.extra_plugins_yaml = kPluginYaml;
  Key key;
  {
    Gateway first(options);
    key = new_key(first, new_tenant(first), {{"tokens_per_day", 200}});
    ASSERT_EQ(chat(first.port(), key.secret, small_request(100, "long=4000")).status, 200);
    const auto refused = chat(first.port(), key.secret, small_request(100, "long=4000"));
    ASSERT_EQ(refused.status, 429) << refused.body;
    EXPECT_EQ(error_of(refused)["code"], "insufficient_quota");
    ASSERT_EQ(first.stop(), 0);
  }
  Gateway second(options);
  const auto refused = chat(second.port(), key.secret, small_request(100, "long=4000"));
  ASSERT_EQ(refused.status, 429) << "a restart gives nobody a fresh day: " << refused.body;
  EXPECT_EQ(error_of(refused)["code"], "insufficient_quota");
  const auto retry_after = std::stoll(header(refused, "retry-after"));
  EXPECT_NEAR(static_cast<double>(retry_after), static_cast<double>(seconds_to_utc_midnight()), 5.0)
      << "until the next midnight UTC";
  const auto day = limit_entry(me(second, key)["rate_limits"], "tokens_per_day");
  EXPECT_LT(day["remaining"].get<std::int64_t>(), 100) << day.dump();
}
