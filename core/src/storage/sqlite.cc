// RAII wrappers over SQLite connections and statements.
#include "storage/sqlite.h"

namespace gateway::db {
namespace {

void check(sqlite3* db, int rc, std::string_view what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    throw Error(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
  }
}

}  // namespace

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  sqlite3_stmt* raw = nullptr;
  check(db, sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr), "prepare");
  stmt_.reset(raw);
}

Statement& Statement::bind(int index, std::string_view value) {
  check(db_,
        sqlite3_bind_text(stmt_.get(), index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT),
        "bind");
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  check(db_, sqlite3_bind_int64(stmt_.get(), index, value), "bind");
  return *this;
}

Statement& Statement::bind(int index, std::optional<std::int64_t> value) {
  return value ? bind(index, *value) : bind_null(index);
}

Statement& Statement::bind_null(int index) {
  check(db_, sqlite3_bind_null(stmt_.get(), index), "bind");
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_.get());
  check(db_, rc, "step");
  return rc == SQLITE_ROW;
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

std::string Statement::text(int column) const {
  const auto* value = sqlite3_column_text(stmt_.get(), column);
  return value ? std::string(reinterpret_cast<const char*>(value),
                             static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), column)))
               : std::string();
}

std::int64_t Statement::integer(int column) const {
  return sqlite3_column_int64(stmt_.get(), column);
}

std::optional<std::int64_t> Statement::optional_integer(int column) const {
  if (is_null(column)) return std::nullopt;
  return integer(column);
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL;
}

Database::Database(const std::string& path, bool read_only) {
  sqlite3* raw = nullptr;
  const int flags =
      (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  db_.reset(raw);
  check(raw, rc, "open " + path);
  sqlite3_busy_timeout(raw, 5000);
  if (!read_only) exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
}

void Database::exec(std::string_view sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_.get(), std::string(sql).c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string text = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    throw Error(text);
  }
}

Transaction::Transaction(Database& db) : db_(db) {
  db_.exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (!done_) {
    try {
      db_.exec("ROLLBACK");
    } catch (const Error&) {
      // Nothing more can be done; the connection rolls back when closed.
    }
  }
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

SynchronousScope::SynchronousScope(Database& db, Level level) : db_(db) {
  previous_ = [&] {
    auto query = db_.prepare("PRAGMA synchronous");
    query.step();
    return query.integer(0);
  }();
  db_.exec("PRAGMA synchronous = " + std::to_string(static_cast<int>(level)));
}

SynchronousScope::~SynchronousScope() {
  try {
    db_.exec("PRAGMA synchronous = " + std::to_string(previous_));
  } catch (const Error&) {
    // The connection keeps the scope's level; both are safe.
  }
}

}  // namespace gateway::db
