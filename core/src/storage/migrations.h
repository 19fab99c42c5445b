// Schema migrations: numbered SQL files from migrations/, compiled into the binary, applied in
// order at start-up inside transactions and recorded in schema_migrations.
#pragma once

#include <vector>

#include "storage/sqlite.h"

namespace gateway::db {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

/// migrations/*.sql as compiled into this binary, in version order.
const std::vector<Migration>& embedded_migrations();

/// The highest migration version recorded in the database (0 for a new one).
int schema_version(Database& db);

/// Applies every migration newer than the database, each in its own transaction, and returns
/// the resulting version. Throws Error when the database is newer than `migrations` know.
int migrate(Database& db, const std::vector<Migration>& migrations = embedded_migrations());

}  // namespace gateway::db
