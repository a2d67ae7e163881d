#include "store/sqlite/detail/schema.hpp"

#include <fmt/format.h>

#include <array>
#include <string>

namespace store::sqlite::detail {

namespace {

// Migration i takes user_version i to i + 1. Append only: never edit a released entry,
// since databases in the field already ran it.
//
// Tables:
//   meta          integer settings of the store itself (config_generation)
//   form_state    one row per form id: enabled or not (applies to all versions)
//   forms         every version of every form declaration, as added
//   keys          recipients' public keys (user_ids as a JSON array of strings)
//   submissions   ciphertext + non-PHI metadata; seq is the store order (AUTOINCREMENT
//                 so a seq is never reused, even after the newest row is deleted)
//   used_tokens   nonces of form tokens already consumed (single use), prunable after
//                 expires_at
//   audit         the hash-chained audit trail (A1, A2): append only, seq 1, 2, 3, ...
//                 (no AUTOINCREMENT: the chain, not SQLite, allocates seq)
//   audit_checkpoints  signed (count, head_hash) statements over the audit chain
constexpr std::array<const char*, 2> kMigrations = {
    R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY NOT NULL,
  value INTEGER NOT NULL
) STRICT;
INSERT INTO meta (key, value) VALUES ('config_generation', 0);

CREATE TABLE form_state (
  form_id TEXT PRIMARY KEY NOT NULL,
  enabled INTEGER NOT NULL CHECK (enabled IN (0, 1))
) STRICT;

CREATE TABLE forms (
  form_id     TEXT NOT NULL REFERENCES form_state (form_id),
  version     INTEGER NOT NULL CHECK (version >= 1),
  declaration TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (form_id, version)
) STRICT;

CREATE TABLE keys (
  fingerprint TEXT PRIMARY KEY NOT NULL,
  armored     TEXT NOT NULL,
  user_ids    TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER,
  imported_at INTEGER NOT NULL
) STRICT;

CREATE TABLE submissions (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  reference    TEXT NOT NULL UNIQUE,
  form_id      TEXT NOT NULL,
  form_version INTEGER NOT NULL,
  received_at  INTEGER NOT NULL,
  ciphertext   BLOB NOT NULL,
  recipients   TEXT NOT NULL,
  FOREIGN KEY (form_id, form_version) REFERENCES forms (form_id, version)
) STRICT;
CREATE INDEX submissions_by_form ON submissions (form_id, seq);

CREATE TABLE used_tokens (
  nonce      BLOB PRIMARY KEY NOT NULL CHECK (length(nonce) = 16),
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX used_tokens_by_expiry ON used_tokens (expires_at);
)sql",
    R"sql(
CREATE TABLE audit (
  seq       INTEGER PRIMARY KEY NOT NULL CHECK (seq >= 1),
  time      INTEGER NOT NULL,
  actor     TEXT NOT NULL,
  action    TEXT NOT NULL,
  object    TEXT NOT NULL,
  source    TEXT NOT NULL,
  outcome   TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash      TEXT NOT NULL
) STRICT;

CREATE TABLE audit_checkpoints (
  count     INTEGER PRIMARY KEY NOT NULL CHECK (count >= 1),
  head_hash TEXT NOT NULL,
  time      INTEGER NOT NULL,
  signature TEXT NOT NULL
) STRICT;
)sql",
};

core::Result<int> read_user_version(Connection& conn) {
  auto text = conn.pragma_text("PRAGMA user_version");
  if (!text) return core::fail(std::move(text).error());
  try {
    return std::stoi(*text);
  } catch (const std::exception&) {
    return core::fail(core::ErrorKind::integrity, kStoreIntegrity, "unreadable user_version");
  }
}

core::Error newer_schema(int found) {
  return core::Error(
      core::ErrorKind::invalid_input,
      fmt::format("the database has schema version {}, newer than this sealpost knows ({}); "
                  "upgrade sealpost",
                  found, schema_version()),
      "user_version is newer than the last migration");
}

}  // namespace

int schema_version() { return static_cast<int>(kMigrations.size()); }

core::Status migrate_blocking(Connection& conn) {
  auto current = read_user_version(conn);
  if (!current) return core::fail(std::move(current).error());
  if (*current > schema_version()) return core::fail(newer_schema(*current));

  while (*current < schema_version()) {
    auto tx = Transaction::begin(conn, /*immediate=*/true);
    if (!tx) return core::fail(std::move(tx).error());
    // Another process may have migrated while we waited for the write lock.
    current = read_user_version(conn);
    if (!current) return core::fail(std::move(current).error());
    if (*current > schema_version()) return core::fail(newer_schema(*current));
    if (*current == schema_version()) break;

    if (auto s = conn.exec(kMigrations[static_cast<std::size_t>(*current)]); !s) {
      return core::fail(std::move(s).error());
    }
    // PRAGMA takes no bound parameters; the value is our own integer, not input.
    std::string set_version = fmt::format("PRAGMA user_version = {}", *current + 1);
    if (auto s = conn.exec(set_version.c_str()); !s) return core::fail(std::move(s).error());
    if (auto s = tx->commit(); !s) return core::fail(std::move(s).error());
    *current += 1;
  }
  return core::ok();
}

}  // namespace store::sqlite::detail
