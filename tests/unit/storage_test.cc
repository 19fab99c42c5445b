// SQLite storage: migrations, key material and the key index.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "storage/key_store.h"
#include "storage/migrations.h"
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
    KeyStore store(file.path());
    const auto tenant = store.create_tenant("Team");
    auto created = store.create_key({tenant.id, "eve@example.com", "ci", {"gpt-4o"}, unix_now() + 100, {}});
    secret = created.secret;
    id = created.key.id;
    const auto principal = store.authenticate(secret);
    ASSERT_TRUE(principal);
    EXPECT_EQ(principal->user, "eve@example.com");
    EXPECT_EQ(principal->tenant_id, tenant.id);
    EXPECT_EQ(principal->allowed_models, std::vector<std::string>{"gpt-4o"});
    EXPECT_EQ(principal->key_mask, secret.substr(0, 11) + "…");
    EXPECT_FALSE(store.authenticate(secret, unix_now() + 101)) << "expired";
    EXPECT_FALSE(store.authenticate(secret + "x"));
  }
  KeyStore reopened(file.path());
  EXPECT_TRUE(reopened.authenticate(secret)) << "keys are durable";
  EXPECT_TRUE(reopened.revoke_key(id));
  EXPECT_FALSE(reopened.authenticate(secret)) << "revocation takes effect at once";
  EXPECT_FALSE(reopened.revoke_key("key_unknown"));
}

TEST(KeyStore, RejectsInvalidKeys) {
  TempDb file;
  KeyStore store(file.path());
  EXPECT_THROW(store.create_key({"ten_missing", "x", "", {}, std::nullopt, {}}), std::invalid_argument);
  const auto tenant = store.create_tenant("T");
  EXPECT_THROW(store.create_key({tenant.id, "", "", {}, std::nullopt, {}}), std::invalid_argument);
  EXPECT_THROW(store.create_key({tenant.id, "u", "", {}, unix_now() - 1, {}}), std::invalid_argument);
  EXPECT_THROW(store.create_tenant(""), std::invalid_argument);
}

TEST(KeyStore, KeyChangesAreCommittedWithFullSyncAndUsageScopesLowerIt) {
  TempDb file;
  KeyStore store(file.path());
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
