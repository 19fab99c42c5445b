// Applies the embedded schema migrations in order, each in its own transaction.
#include "storage/migrations.h"

#include <chrono>
#include <string>

namespace gateway::db {

int schema_version(Database& db) {
  db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
      "applied_at INTEGER NOT NULL)");
  auto query = db.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  query.step();
  return static_cast<int>(query.integer(0));
}

int migrate(Database& db, const std::vector<Migration>& migrations) {
  int current = schema_version(db);
  const int newest = migrations.empty() ? 0 : migrations.back().version;
  if (current > newest) {
    throw Error("the database is at schema version " + std::to_string(current) +
                " but this e2b-gateway only knows up to " + std::to_string(newest) +
                "; run a newer e2b-gateway (refusing to touch a newer database)");
  }
  for (const auto& m : migrations) {
    if (m.version <= current) continue;
    Transaction tx(db);
    db.exec(m.sql);
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
        .bind(1, std::int64_t{m.version})
        .bind(2, m.name)
        .bind(3, std::int64_t{now})
        .run();
    tx.commit();
    current = m.version;
  }
  return current;
}

}  // namespace gateway::db
