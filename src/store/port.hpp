#pragma once
// Moving an SQLite installation to PostgreSQL (O5; Synapse's synapse_port_db, with a proof):
// every table is copied inside one PostgreSQL transaction from one SQLite snapshot taken
// under the file's write lock, then read back and compared, table by table: row counts and
// a SHA-256 over every row's values in key order (ciphertexts included, byte for byte).
// Nothing of the source is changed. The caller (app/) still verifies the audit chain on the
// target and only then switches the configuration.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/secret.hpp"

namespace store {

struct PortTable {
  std::string name;
  std::int64_t rows = 0;
  std::string sha256;  // hex, of the source rows; equal on the target, else the port fails
};

struct PortReport {
  std::vector<PortTable> tables;
};

// `progress(table, done, total)` is called now and then, for a human watching.
using PortProgress = std::function<void(const std::string&, std::int64_t, std::int64_t)>;

// Errors: invalid_input when the target is not empty (any table in its schema holding a
// row, or any table that is not sealpost's), unavailable when either database cannot be
// reached, integrity when the read-back differs (nothing committed then).
core::Result<PortReport> port_sqlite_to_postgres_blocking(const std::string& sqlite_path,
                                                          const std::string& postgres_uri,
                                                          const core::SecretBytes& password,
                                                          const PortProgress& progress);

}  // namespace store
