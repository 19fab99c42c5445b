// Thin RAII wrappers over the SQLite C API.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace gateway::db {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A prepared statement; bind with 1-based indexes, step, read columns.
class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::optional<std::int64_t> value);
  Statement& bind_null(int index);
  /// Advances; true while a row is available.
  bool step();
  /// Runs a statement that returns no rows.
  void run();
  void reset();
  std::string text(int column) const;
  std::int64_t integer(int column) const;
  std::optional<std::int64_t> optional_integer(int column) const;
  bool is_null(int column) const;

 private:
  struct Finalizer {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
};

/// One open database connection.
class Database {
 public:
  /// Opens (creating if needed) `path` with WAL, synchronous=NORMAL, a busy timeout and
  /// foreign keys on.
  explicit Database(const std::string& path, bool read_only = false);
  sqlite3* handle() const { return db_.get(); }
  void exec(std::string_view sql);
  Statement prepare(std::string_view sql) { return Statement(db_.get(), sql); }
  std::int64_t changes() const { return sqlite3_changes(db_.get()); }

 private:
  struct Closer {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  std::unique_ptr<sqlite3, Closer> db_;
};

/// BEGIN IMMEDIATE … COMMIT; rolls back if destroyed before commit().
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

/// PRAGMA synchronous for one scope (outside any transaction); the previous level comes back
/// after. FULL makes a commit survive power loss; NORMAL (in WAL mode) survives a crash of the
/// process but may lose the last commits on power loss.
class SynchronousScope {
 public:
  enum Level { Normal = 1, Full = 2 };
  SynchronousScope(Database& db, Level level);
  ~SynchronousScope();
  SynchronousScope(const SynchronousScope&) = delete;
  SynchronousScope& operator=(const SynchronousScope&) = delete;

 private:
  Database& db_;
  std::int64_t previous_;
};

}  // namespace gateway::db
