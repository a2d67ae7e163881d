#pragma once
// Schema migrations, keyed on `PRAGMA user_version`.

#include "core/result.hpp"
#include "store/engine/sqlite/detail/statement.hpp"

namespace store::engine::sqlite::detail {

// The user_version this build writes; a database with a larger one was written by a newer
// sealpost and is refused rather than misread.
int schema_version();

// Brings the database up to schema_version(), one migration per transaction. Safe to run
// concurrently from several processes (each migration re-reads user_version under the
// write lock) and a no-op on an up-to-date database.
core::Status migrate_blocking(Connection& conn);

// Applies the migrations up to `version` only, so that a test can make the database an
// older sealpost left behind and then open it with this one.
core::Status migrate_to_for_test(Connection& conn, int version);

}  // namespace store::engine::sqlite::detail
