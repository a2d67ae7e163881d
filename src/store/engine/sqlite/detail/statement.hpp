#pragma once
// Thin RAII layer over the SQLite C API: one connection, a cache of prepared statements,
// bound parameters only, and the one place where SQLite result codes become core::Error.
// Trust: our own SQL text (string constants); every value is bound, never spliced.

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace store::engine::sqlite::detail {

// Public texts of the errors this layer produces (the fixed, reviewed set).
inline constexpr const char* kStoreUnavailable =
    "the store is temporarily unavailable; please try again";
inline constexpr const char* kStoreIntegrity = "stored data failed an integrity check";
inline constexpr const char* kStoreInternal = "internal error in the store";

// Maps a SQLite result code to an error kind and a public text; the SQLite message goes
// only to the detail. `what` names the operation for the logs.
core::Error sqlite_error(sqlite3* db, int rc, std::string_view what);

// A prepared statement borrowed from a Connection's cache. Binds are 1-based as in SQLite.
// The destructor resets the statement and clears its bindings, so that a cached statement
// never keeps a read transaction open nor points into a caller's buffer.
class Query {
 public:
  Query(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Query();
  Query(Query&& other) noexcept
      : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), bind_rc_(other.bind_rc_) {}
  Query& operator=(Query&&) = delete;
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& bind(int index, std::int64_t value);
  Query& bind(int index, std::string_view text);  // copied (SQLITE_TRANSIENT)
  Query& bind_null(int index);
  // Not copied: `bytes` must outlive this Query (it is unbound in the destructor).
  Query& bind_blob_static(int index, std::span<const std::uint8_t> bytes);

  // One step: SQLITE_ROW, SQLITE_DONE or an error code (the first failed bind, if any).
  int step();
  // Steps to completion of a statement that returns no rows.
  core::Status run(std::string_view what);

  std::int64_t column_int64(int column) const;
  bool column_is_null(int column) const;
  std::string column_text(int column) const;
  std::vector<std::uint8_t> column_blob(int column) const;

  core::Error error(int rc, std::string_view what) const { return sqlite_error(db_, rc, what); }
  sqlite3_stmt* statement() const noexcept { return stmt_; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

class Connection {
 public:
  // Opens an existing database file read-write, with extended result codes, foreign keys,
  // synchronous=FULL and a busy timeout. The file must exist (the caller creates it with
  // its mode); SQLite is never allowed to create it with the process umask.
  static core::Result<std::unique_ptr<Connection>> open_blocking(const std::string& path);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* handle() const noexcept { return db_; }

  // Runs constant SQL without parameters (PRAGMAs, BEGIN/COMMIT, the schema).
  core::Status exec(const char* sql);
  // A prepared statement from the cache (prepared on first use, kept for the life of the
  // connection). `sql` must be constant text: values go through bind().
  core::Result<Query> query(std::string_view sql);
  // Runs a constant single-row PRAGMA and returns its first column as text.
  core::Result<std::string> pragma_text(const char* sql);

  bool in_transaction() const noexcept { return sqlite3_get_autocommit(db_) == 0; }
  // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
  std::int64_t changes() const noexcept { return sqlite3_changes64(db_); }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  struct StmtDeleter {
    void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
  };
  sqlite3* db_;
  std::map<std::string, std::unique_ptr<sqlite3_stmt, StmtDeleter>, std::less<>> cache_;
};

// A transaction that rolls back unless committed. `immediate` takes the write lock at
// once (BEGIN IMMEDIATE), so a read-then-write sequence cannot fail with SQLITE_BUSY
// half-way (the busy timeout applies to the BEGIN instead).
class Transaction {
 public:
  static core::Result<Transaction> begin(Connection& conn, bool immediate);
  ~Transaction();
  Transaction(Transaction&& other) noexcept : conn_(std::exchange(other.conn_, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  core::Status commit();

 private:
  explicit Transaction(Connection& conn) : conn_(&conn) {}
  Connection* conn_;  // null once committed or moved from
};

}  // namespace store::engine::sqlite::detail
