// SQLite storage: migrations, key material and the key index.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "gateway/json_limits.h"
#include "storage/migrations.h"
#include "storage/storage.h"
#include "temp_db.h"

using namespace gateway;

using testing_support::TempDb;

TEST(Migrations, EmbeddedMigrationsAreNumberedInOrder) {
  const auto& all = db::embedded_migrations();
  ASSERT_GE(all.size(), 2u);
  for (std::size_t i = 0; i < all.size(); ++i)
    EXPECT_EQ(all[i].version, static_cast<int>(i) + 1) << all[i].name;
}

TEST(Migrations, FromEmptyAppliesEverythingOnce) {
  TempDb file;
  db::Database db(file.path());
  const int latest = db::embedded_migrations().back().version;
  EXPECT_EQ(db::migrate(db), latest);
  EXPECT_EQ(db::migrate(db), latest) << "a second run changes nothing";
  auto q = db.prepare("SELECT COUNT(*) FROM schema_migrations");
  q.step();
  EXPECT_EQ(q.integer(0), latest);
}

TEST(Migrations, FromEveryEarlierVersion) {
  const auto& all = db::embedded_migrations();
  for (std::size_t stop = 0; stop < all.size(); ++stop) {
    TempDb file;
    db::Database db(file.path());
    const std::vector<db::Migration> earlier(all.begin(), all.begin() + static_cast<long>(stop) + 1);
    EXPECT_EQ(db::migrate(db, earlier), earlier.back().version);
    EXPECT_EQ(db::migrate(db), all.back().version) << "upgrading from version " << earlier.back().version;
    db.exec("SELECT COUNT(*) FROM api_keys; SELECT COUNT(*) FROM usage_daily;");
  }
}

TEST(Migrations, Version3KeepsVersion2UsageAndBackfillsTheRollups) {
  TempDb file;
  db::Database db(file.path());
  const auto& all = db::embedded_migrations();
  db::migrate(db, {all.begin(), all.begin() + 2});
  db.exec(
      "INSERT INTO usage_daily (day, key_id, model, tenant_id, requests, errors, prompt_tokens, "
      "completion_tokens) "
      "VALUES ('2026-10-30', 'k1', 'm1', 't1', 3, 1, 30, 15), ('2026-10-31', 'k1', 'm1', 't1', 2, 0, 20, "
      "10), "
      "('2026-11-01', 'k2', 'm1', 't2', 5, 0, 50, 25)");
  db::migrate(db);
  const auto one = [&](const std::string& sql) {
    auto q = db.prepare(sql);
    EXPECT_TRUE(q.step()) << sql;
    return q.text(0);
  };
  EXPECT_EQ(one("SELECT group_concat(day || key_id || requests, ',') FROM usage_daily"),
            "2026-10-30k13,2026-10-31k12,2026-11-01k25");
  EXPECT_EQ(
      one("SELECT group_concat(month || key_id || requests || '/' || errors || '/' || prompt_tokens, ',') "
          "FROM usage_monthly"),
      "2026-10k15/1/50,2026-11k25/0/50");
  EXPECT_EQ(one("SELECT group_concat(day || model || requests, ',') FROM usage_daily_models"),
            "2026-10-30m13,2026-10-31m12,2026-11-01m15");
}

TEST(Migrations, RefusesADatabaseNewerThanTheBinary) {
  TempDb file;
  db::Database db(file.path());
  db::migrate(db);
  db.exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future', 0)");
  try {
    db::migrate(db);
    FAIL() << "a newer database must be refused";
  } catch (const db::Error& e) {
    EXPECT_NE(std::string(e.what()).find("999"), std::string::npos) << e.what();
  }
}

TEST(Migrations, AFailingMigrationLeavesNoTrace) {
  TempDb file;
  db::Database db(file.path());
  const std::vector<db::Migration> broken{
      {1, "0001_ok", "CREATE TABLE a (x INTEGER);"},
      {2, "0002_broken", "CREATE TABLE b (y INTEGER); SELECT * FROM nowhere;"}};
  EXPECT_THROW(db::migrate(db, broken), db::Error);
  EXPECT_EQ(db::schema_version(db), 1);
  EXPECT_THROW(db.exec("SELECT * FROM b"), db::Error) << "the failed migration was rolled back";
}

TEST(KeyMaterial, SecretsAreLongRandomAndUrlSafe) {
  const auto a = generate_key_secret();
  const auto b = generate_key_secret();
  EXPECT_NE(a, b);
  EXPECT_TRUE(a.starts_with("sk-e2b-"));
  EXPECT_EQ(a.size(), 7u + 43u);
  EXPECT_EQ(a.substr(7).find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  EXPECT_EQ(key_digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(KeyStore, AuthenticatesActiveKeysOnlyAndSurvivesReopening) {
  TempDb file;
  std::string secret;
  std::string id;
  {
    Storage store(file.path());
    const auto tenant = store.tenants().create_tenant("Team");
    auto created =
        store.keys().create_key({tenant.id, "eve@example.com", "ci", {"gpt-4o"}, unix_now() + 100, {}});
    secret = created.secret;
    id = created.key.id;
    const auto principal = store.index().authenticate(secret);
    ASSERT_TRUE(principal);
    EXPECT_EQ(principal->user, "eve@example.com");
    EXPECT_EQ(principal->tenant_id, tenant.id);
    EXPECT_EQ(principal->allowed_models, std::vector<std::string>{"gpt-4o"});
    EXPECT_EQ(principal->key_mask, secret.substr(0, 11) + "…");
    EXPECT_FALSE(store.index().authenticate(secret, unix_now() + 101)) << "expired";
    EXPECT_FALSE(store.index().authenticate(secret + "x"));
  }
  Storage reopened(file.path());
  EXPECT_TRUE(reopened.index().authenticate(secret)) << "keys are durable";
  EXPECT_TRUE(reopened.keys().revoke_key(id));
  EXPECT_FALSE(reopened.index().authenticate(secret)) << "revocation takes effect at once";
  EXPECT_FALSE(reopened.keys().revoke_key("key_unknown"));
}

TEST(KeyStore, IdentitiesCarryTheLimitsOfTheKeyAndItsTenant) {
  TempDb file;
  Storage store(file.path());
  auto tenant = store.tenants().create_tenant("Team", nlohmann::json::object(), {{"tokens_per_day", 1000}});
  NewKey request{
      tenant.id, "eve", "", {}, std::nullopt, {}, {{"requests_per_minute", 5}, {"max_concurrent", 0}}};
  const auto created = store.keys().create_key(request);
  auto principal = store.index().authenticate(created.secret);
  ASSERT_TRUE(principal);
  EXPECT_EQ(principal->key_limits.requests_per_minute, 5);
  EXPECT_EQ(principal->key_limits.max_concurrent, 0) << "0 (no limit) is kept apart from unset";
  EXPECT_FALSE(principal->key_limits.tokens_per_day);
  EXPECT_EQ(principal->tenant_limits.tokens_per_day, 1000);
  tenant.limits = {{"tokens_per_day", 2000}};
  store.tenants().update_tenant(tenant);
  principal = store.index().authenticate(created.secret);
  ASSERT_TRUE(principal);
  EXPECT_EQ(principal->tenant_limits.tokens_per_day, 2000) << "a tenant change applies to the next request";
  request.limits = {{"requests_per_hour", 5}};
  EXPECT_THROW(store.keys().create_key(request), std::invalid_argument) << "not a limit";
}

TEST(KeyStore, RejectsInvalidKeys) {
  TempDb file;
  Storage store(file.path());
  EXPECT_THROW(store.keys().create_key({"ten_missing", "x", "", {}, std::nullopt, {}}),
               std::invalid_argument);
  const auto tenant = store.tenants().create_tenant("T");
  EXPECT_THROW(store.keys().create_key({tenant.id, "", "", {}, std::nullopt, {}}), std::invalid_argument);
  EXPECT_THROW(store.keys().create_key({tenant.id, "u", "", {}, unix_now() - 1, {}}), std::invalid_argument);
  EXPECT_THROW(store.tenants().create_tenant(""), std::invalid_argument);
}

TEST(KeyStore, KeyChangesAreCommittedWithFullSyncAndUsageScopesLowerIt) {
  TempDb file;
  Storage store(file.path());
  const auto level = [&] {
    auto q = store.database().prepare("PRAGMA synchronous");
    q.step();
    return q.integer(0);
  };
  EXPECT_EQ(level(), 2) << "FULL: a created or revoked key survives power loss";
  {
    db::SynchronousScope normal(store.database(), db::SynchronousScope::Normal);
    EXPECT_EQ(level(), 1);
  }
  EXPECT_EQ(level(), 2) << "restored after the scope";
}

namespace {

/// JSON arrays nested `depth` levels deep, as an older version could have stored them.
std::string deep_json(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

/// Overwrites one column of one row, bypassing every check of the store.
void overwrite(Storage& store, const std::string& table, const std::string& column, const std::string& id,
               const std::string& value) {
  store.database()
      .prepare("UPDATE " + table + " SET " + column + " = ? WHERE id = ?")
      .bind(1, value)
      .bind(2, id)
      .run();
}

}  // namespace

TEST(KeyStore, StoredValuesTooDeepOrMalformedReadAsNull) {
  TempDb file;
  std::string tenant_id, key_id, secret;
  {
    Storage store(file.path());
    tenant_id = store.tenants().create_tenant("Team", {{"team", "red"}}, {{"requests_per_minute", 5}}).id;
    auto created =
        store.keys().create_key({tenant_id, "old@example.com", "laptop", {"gpt-4o"}, std::nullopt, {}});
    key_id = created.key.id;
    secret = created.secret;
    store.audit().audit("tenant.create", tenant_id, "admin", "req_1", {{"name", "Team"}});
    overwrite(store, "tenants", "metadata", tenant_id, deep_json(100'000));
    overwrite(store, "tenants", "limits", tenant_id, "{not json");
    overwrite(store, "api_keys", "metadata", key_id, deep_json(100'000));
    overwrite(store, "api_keys", "limits", key_id, deep_json(kMaxJsonDepth + 1));
    store.database().prepare("UPDATE audit_log SET details = ?").bind(1, deep_json(100'000)).run();
  }
  Storage store(file.path());  // loads every key into its index
  const auto tenant = store.tenants().tenant(tenant_id);
  ASSERT_TRUE(tenant);
  EXPECT_EQ(tenant->name, "Team");
  EXPECT_TRUE(tenant->metadata.is_null());
  EXPECT_TRUE(tenant->limits.is_null());
  ASSERT_EQ(store.tenants().tenants().size(), 1u);
  EXPECT_TRUE(store.tenants().tenants()[0].metadata.is_null());

  const auto key = store.keys().key(key_id);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->user, "old@example.com");
  EXPECT_EQ(key->models, std::vector<std::string>{"gpt-4o"});
  EXPECT_TRUE(key->metadata.is_null());
  EXPECT_TRUE(key->limits.is_null());
  ASSERT_EQ(store.keys().keys().size(), 1u);
  EXPECT_TRUE(store.keys().keys()[0].metadata.is_null());
  EXPECT_TRUE(store.index().authenticate(secret)) << "the rest of the key still works";

  const auto audit = store.audit().audit_entries(0, 10);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].action, "tenant.create");
  EXPECT_TRUE(audit[0].details.is_null());

  auto repaired = *tenant;
  repaired.metadata = {{"team", "blue"}};
  repaired.limits = nlohmann::json::object();
  store.tenants().update_tenant(repaired);
  EXPECT_EQ(store.tenants().tenant(tenant_id)->metadata, nlohmann::json({{"team", "blue"}}));
}

TEST(KeyStore, UnreadableModelsRefuseTheKeyUntilTheyAreSetAgain) {
  TempDb file;
  std::string key_id, secret;
  {
    Storage store(file.path());
    const auto tenant = store.tenants().create_tenant("Team");
    auto created = store.keys().create_key({tenant.id, "u@example.com", "", {"gpt-4o"}, std::nullopt, {}});
    key_id = created.key.id;
    secret = created.secret;
    overwrite(store, "api_keys", "models", key_id, deep_json(100'000));
  }
  Storage store(file.path());
  auto key = store.keys().key(key_id);
  ASSERT_TRUE(key);
  EXPECT_TRUE(key->models_unreadable);
  EXPECT_TRUE(key->models.empty());
  EXPECT_FALSE(store.index().authenticate(secret)) << "never read as 'every model'";
  key->alias = "renamed";
  EXPECT_THROW(store.keys().update_key(*key), std::invalid_argument)
      << "a change that keeps the damaged list";
  for (const char* damaged : {"{\"a\":1}", "[1, 2]", "not json"}) {
    overwrite(store, "api_keys", "models", key_id, damaged);
    EXPECT_TRUE(store.keys().key(key_id)->models_unreadable) << damaged;
  }
  key->models = {"gpt-4o-mini"};
  key->models_unreadable = false;
  store.keys().update_key(*key);
  EXPECT_FALSE(store.keys().key(key_id)->models_unreadable);
  ASSERT_TRUE(store.index().authenticate(secret));
  EXPECT_EQ(store.index().authenticate(secret)->allowed_models, std::vector<std::string>{"gpt-4o-mini"});
}

TEST(KeyStore, MetadataAndLimitsAreBounded) {
  TempDb file;
  Storage store(file.path());
  const auto nested = [](std::size_t depth) {  // metadata nesting `depth` levels, itself included
    nlohmann::json value = 1;
    for (std::size_t i = 0; i < depth; ++i) value = nlohmann::json{{"k", value}};
    return value;
  };
  const auto tenant = store.tenants().create_tenant("Within", nested(kMaxMetadataDepth));
  EXPECT_EQ(store.tenants().tenant(tenant.id)->metadata, nested(kMaxMetadataDepth));
  EXPECT_THROW(store.tenants().create_tenant("Deep", nested(kMaxMetadataDepth + 1)), std::invalid_argument);

  nlohmann::json many = nlohmann::json::object();
  for (std::size_t i = 0; i <= kMaxMetadataMembers; ++i) many["m" + std::to_string(i)] = i;
  EXPECT_THROW(store.tenants().create_tenant("Many", many), std::invalid_argument);
  many.erase("m0");
  EXPECT_NO_THROW(store.tenants().create_tenant("Enough", many));

  const nlohmann::json big{{"text", std::string(kMaxMetadataBytes, 'x')}};
  EXPECT_THROW(store.tenants().create_tenant("Big", big), std::invalid_argument);
  EXPECT_THROW(store.keys().create_key({tenant.id, "u", "", {}, std::nullopt, big}), std::invalid_argument);

  // Limits are the known names only, which bounds them too.
  EXPECT_THROW(store.tenants().create_tenant("Limits", {}, {{"l0", 1}}), std::invalid_argument);
  EXPECT_THROW(store.tenants().create_tenant("Name", {}, {{std::string(100'000, 'n'), 1}}),
               std::invalid_argument);
  EXPECT_NO_THROW(store.tenants().create_tenant("Name", {}, {{"requests_per_day", 1}}));
  try {
    store.tenants().create_tenant("Deep", nested(kMaxMetadataDepth + 1));
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(std::string(e.what()).starts_with("metadata:")) << e.what();
  }
}
