#pragma once
// PostgreSQL schema migrations, keyed on the `schema_version` row of the meta table. The
// versions are the SQLite engine's: migration i takes both engines from i to i + 1, each
// in its own dialect where column types differ (BIGINT for INTEGER, BYTEA for BLOB,
// identity columns for AUTOINCREMENT).

#include "core/result.hpp"
#include "store/engine/connection.hpp"

namespace store::engine::postgres::detail {

int schema_version();

// Brings the database up to schema_version() under a session advisory lock (nodes starting
// together migrate once), one migration per transaction.
core::Status migrate_blocking(Connection& conn);

}  // namespace store::engine::postgres::detail
