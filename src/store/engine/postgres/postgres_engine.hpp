#pragma once
// The PostgreSQL engine, through libpq: several sealpost nodes share one database.
// Every statement is prepared once per connection and run with bound parameters
// (integers as text, text and byte strings in binary form so that their lengths are
// exact); results come back in binary form. Transactions: see engine::TxMode.
// Trust: the database is ours; its answers are still decoded with bounds checks.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "core/result.hpp"
#include "core/secret.hpp"
#include "store/engine/database.hpp"

namespace store::engine::postgres {

struct Options {
  // A libpq URI (postgresql://user@host:port/dbname?sslmode=verify-full). It must not carry
  // a password: that comes from `password` or from libpq's own PGPASSFILE.
  std::string uri;
  core::SecretBytes password;  // empty: none (libpq may still use PGPASSFILE)
  // A statement running longer than this is cancelled by the server: a wedged query must
  // not hold a request (or the group-commit writer) forever.
  int statement_timeout_ms = 30'000;
  int connect_timeout_s = 5;
};

// Checks the URI's shape (libpq parses it; a password inside it is refused, so that it
// never sits in sealpost.toml). Pure apart from libpq's parser.
core::Status check_uri(const std::string& uri);

// The URI without any secret, for logs and messages.
std::string describe_uri(const std::string& uri);

// Connects once, applies the migrations (under an advisory lock, so nodes starting together
// do not race) and returns a connector for the pool and the group-commit writer.
core::Result<std::unique_ptr<Connector>> prepare_blocking(const Options& options);

// One connection, without touching the schema (the port checks the target is empty).
core::Result<std::unique_ptr<Connection>> connect_only_blocking(const Options& options);

// The schema version this build writes.
int schema_version();

}  // namespace store::engine::postgres
