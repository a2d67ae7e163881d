#pragma once
// The engine seam (DESIGN.md "The store: written once, run on two engines"). The queries
// of every aggregate are written once, in one SQL dialect, and run through this interface;
// what differs between SQLite and PostgreSQL lives behind it, in engine/sqlite/ and
// engine/postgres/: the connection, placeholders, column types, transaction modes,
// locks, and which failures are worth a retry.
//
// The dialect the queries are written in:
//   - placeholders are numbered `?1`, `?2`, ... (a number may repeat); PostgreSQL gets
//     them rewritten to `$1`, `$2`, ...;
//   - integers are 64-bit, byte strings are BLOB/BYTEA, text is UTF-8;
//   - a parameter whose type the query does not otherwise fix is written
//     `CAST(?n AS BIGINT)` / `CAST(?n AS TEXT)` (PostgreSQL infers parameter types);
//   - only functions both engines have: length(), substr(), coalesce(), max()/min() as
//     aggregates (never the two-argument scalar max of SQLite), count(*);
//   - upserts are `INSERT ... ON CONFLICT (...) DO UPDATE/NOTHING`, both have them.
// Trust: our own SQL text (string constants); every value is bound, never spliced.

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "core/result.hpp"

namespace store::engine {

enum class Dialect { sqlite, postgres };

std::string_view dialect_name(Dialect dialect);

// A value bound to a placeholder. Views: the caller's buffers must outlive the call.
using Param =
    std::variant<std::nullptr_t, std::int64_t, std::string_view, std::span<const std::uint8_t>>;

// Convenience for optional values.
template <class T>
Param opt(const std::optional<T>& value) {
  if (!value) return nullptr;
  if constexpr (std::is_same_v<T, std::string>) {
    return std::string_view(*value);
  } else {
    return static_cast<std::int64_t>(*value);
  }
}

// One column of a result row.
using Value = std::variant<std::monostate, std::int64_t, std::string, std::vector<std::uint8_t>>;

class Row {
 public:
  explicit Row(std::vector<Value> columns) : columns_(std::move(columns)) {}
  std::size_t size() const noexcept { return columns_.size(); }
  bool is_null(std::size_t column) const;
  // Conversions are lenient about the storage class (text read as bytes, and so on) but
  // a NULL reads as 0 / empty: callers that care test is_null() first.
  std::int64_t int64(std::size_t column) const;
  std::string text(std::size_t column) const;
  std::vector<std::uint8_t> blob(std::size_t column) const;
  // The value as the engine returned it (a NULL is monostate).
  const Value& value(std::size_t column) const;

 private:
  std::vector<Value> columns_;
};

using Rows = std::vector<Row>;

// How a transaction runs. Each store operation names the mode it needs (docs/ARCHITECTURE.md
// "The store" lists them with the reason).
enum class TxMode {
  // A consistent snapshot for several reads (SQLite: a deferred transaction on a WAL file;
  // PostgreSQL: REPEATABLE READ, READ ONLY).
  read,
  // Writes whose statements are each safe on their own under concurrency (guarded UPDATEs,
  // upserts, inserts that a unique key protects). SQLite: BEGIN IMMEDIATE (the one writer
  // lock, taken up front so a read-then-write cannot fail half-way); PostgreSQL: READ
  // COMMITTED, where an UPDATE re-checks its WHERE after waiting for a row lock.
  write,
};

// One connection to the database. Not thread-safe: one user at a time (the pool lends it).
class Connection {
 public:
  virtual ~Connection() = default;

  virtual Dialect dialect() const noexcept = 0;

  // Runs a statement and returns every row it produced (a statement without RETURNING
  // gives none). Errors: conflict (a unique or primary key was violated), not_found (a
  // foreign key names a missing row), invalid_input (a CHECK failed), unavailable (busy,
  // disk, connection lost: see retryable()), integrity, internal.
  virtual core::Result<Rows> query(std::string_view sql, std::span<const Param> params) = 0;
  // Runs a statement and returns how many rows it changed.
  virtual core::Result<std::int64_t> execute(std::string_view sql,
                                             std::span<const Param> params) = 0;

  core::Result<Rows> query(std::string_view sql, std::initializer_list<Param> params = {}) {
    return query(sql, std::span<const Param>(params.begin(), params.size()));
  }
  core::Result<std::int64_t> execute(std::string_view sql,
                                     std::initializer_list<Param> params = {}) {
    return execute(sql, std::span<const Param>(params.begin(), params.size()));
  }

  // Runs constant text of several statements without parameters (schema migrations).
  virtual core::Status execute_script(const char* sql) = 0;

  virtual core::Status begin(TxMode mode) = 0;
  virtual core::Status commit() = 0;
  // Never fails in a way the caller could act on; a failure is logged and marks the
  // connection broken.
  virtual void rollback() noexcept = 0;
  virtual bool in_transaction() const noexcept = 0;

  // Serialises the rest of this write transaction with every other one that takes the same
  // lock, in this and every other process or node (the audit chain's appends). SQLite:
  // nothing to do (a write transaction holds the database's one write lock); PostgreSQL: a
  // transaction-scoped advisory lock.
  virtual core::Status lock_for_transaction(std::int64_t lock_id) = 0;

  // Whether the last failure is worth running the whole transaction again: a serialisation
  // failure or deadlock (PostgreSQL), a busy database (SQLite).
  virtual bool last_failure_retryable() const noexcept = 0;
  // The connection is unusable (lost, or left in an unknown state): the pool drops it.
  virtual bool broken() const noexcept = 0;
};

// Rewrites the dialect's `?N` placeholders into PostgreSQL's `$N`, leaving quoted text
// alone. Pure; exposed for tests.
std::string to_postgres_placeholders(std::string_view sql);

}  // namespace store::engine
