#pragma once
// The SQLite engine: one WAL-mode file, synchronous=FULL, foreign keys on, a busy timeout.
// SQLite has one writer at a time for the whole file: a write transaction (BEGIN
// IMMEDIATE) takes that lock up front, which is what serialises the audit chain and the
// guarded updates across every process that opens the file.

#include <memory>
#include <string>

#include "core/result.hpp"
#include "store/engine/database.hpp"

namespace store::engine::sqlite {

// Creates the file with mode 0600 if needed (neither it nor its -wal/-shm companions are
// ever readable by others, whatever the umask), switches it to WAL and applies the
// migrations. Then returns a connector for the pool and the group-commit writer.
core::Result<std::unique_ptr<Connector>> prepare_blocking(const std::string& path);

// The schema version this build writes (PRAGMA user_version).
int schema_version();

// Test hooks: the migrations up to `version` only (an older sealpost's file), and a cap on
// the file's page count so that writes needing a new page fail with SQLITE_FULL.
core::Status migrate_to_for_test(const std::string& path, int version);
core::Status simulate_disk_full_for_test(Connection& conn, bool full);

}  // namespace store::engine::sqlite
