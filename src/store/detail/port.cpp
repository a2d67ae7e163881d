// The SQLite → PostgreSQL port (store/port.hpp). Engine-specific by nature: it names
// SQLite's rowid and sqlite_sequence and PostgreSQL's identity sequences, and it is the
// one place that does.

#include "store/port.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <memory>

#include "core/encoding.hpp"
#include "core/log.hpp"
#include "store/detail/codec.hpp"
#include "store/engine/postgres/postgres_engine.hpp"
#include "store/engine/sqlite/sqlite_engine.hpp"

namespace store {

namespace {

using engine::Connection;
using engine::Param;
using engine::Row;
using engine::Rows;

constexpr const char* kNotEmpty =
    "the target database is not empty: migrate needs a new, empty PostgreSQL database";
constexpr const char* kMismatch =
    "the copy in PostgreSQL differs from the SQLite database; nothing was committed";

// Table and column names cannot be bound parameters:
// the statements below splice them, and only ever from this constant list (a name read from
// the database is matched against it first, never spliced itself). Values are bound.
//
// Every table, parents before children, with the columns copied and the key that orders
// them (for paging and for the hash). `rowid`: page the SQLite side by rowid (large tables);
// the others are small and read whole.
struct TableSpec {
  const char* name;
  const char* columns;
  const char* order;
  bool rowid;
  const char* identity;  // a column whose PostgreSQL sequence must continue after the copy
};

constexpr TableSpec kTables[] = {
    {"meta", "key, value", "key", true, nullptr},
    {"form_state", "form_id, enabled", "form_id", true, nullptr},
    {"forms", "form_id, version, declaration, created_at, granted_recipients", "form_id, version",
     true, nullptr},
    {"keys", "fingerprint, armored, user_ids, created_at, expires_at, imported_at", "fingerprint",
     true, nullptr},
    {"submissions", "seq, reference, form_id, form_version, received_at, ciphertext, recipients",
     "seq", true, "seq"},
    {"used_tokens", "nonce, expires_at", "nonce", false, nullptr},
    {"audit", "seq, time, actor, action, object, source, outcome, prev_hash, hash", "seq", true,
     nullptr},
    {"audit_checkpoints", "count, head_hash, time, signature", "count", true, nullptr},
    {"users",
     "id, email, roles, status, password_hash, totp_sealed, totp_confirmed, totp_last_step, "
     "key_fingerprint, private_key_armored, created_at",
     "id", true, "id"},
    {"enrolments", "token_hash, user_id, expires_at, created_at, used_at", "token_hash", true,
     nullptr},
    {"recovery_codes", "user_id, code_hash, used_at", "user_id, code_hash", false, nullptr},
    {"sessions", "id_hash, user_id, stage, csrf_token, created_at, last_seen_at, source", "id_hash",
     true, nullptr},
    {"grants", "user_id, form_id, granted_at, granted_by", "user_id, form_id", false, nullptr},
    {"node_secrets", "name, fingerprint, recorded_at", "name", true, nullptr},
    {"blocks", "cidr, reason, created_at, expires_at, created_by", "cidr", true, nullptr},
    {"auth_failures", "key, failures, last_failure", "key", false, nullptr},
    {"mail_messages", "id, created_at, sender, security, phi, origin, size, body, sealed", "id",
     true, nullptr},
    {"mail_recipients",
     "message_id, idx, address, domain, state, attempts, next_attempt_at, lease_owner, "
     "lease_until, updated_at",
     "message_id, idx", false, nullptr},
    {"mail_attempts",
     "message_id, idx, attempt, at, result, code, enhanced, reply, mx_host, ip, tls_version, "
     "tls_cipher, verified, policy, sts_mode, sts_id, tls_failure",
     "message_id, idx, attempt", false, nullptr},
    {"mail_tls_domains", "domain, first_seen, last_seen", "domain", false, nullptr},
    {"mail_tls_sessions",
     "day, policy_domain, policy_type, policy_text, mx_patterns, result_type, mx_host, ip, count",
     "day, policy_domain, policy_type, policy_text, mx_patterns, result_type, mx_host, ip", false,
     nullptr},
    {"mail_tls_reports", "day, policy_domain, claimed_by, claimed_at, outcome",
     "day, policy_domain", false, nullptr},
    {"mail_mta_sts", "domain, policy_id, mode, mx, max_age, fetched_at, expires_at", "domain",
     false, nullptr},
    {"api_keys", "id, name, secret_hash, scopes, created_at, created_by, revoked_at, last_used_at",
     "id", true, nullptr},
    // Empty on SQLite (a single node keeps its budgets in memory); listed so that the copy
    // checks them like every other table of the schema.
    {"rate_buckets", "key, tat", "key", false, nullptr},
    {"rate_events", "key, window_start, count, previous", "key", false, nullptr},
    // Copied: a webhook's secret is sealed under secrets/queue.key, which the data
    // directory keeps whatever the engine; deliveries carry no PHI.
    {"webhooks", "id, name, url, events, sealed_secret, created_at, created_by, removed_at", "id",
     true, nullptr},
    {"webhook_deliveries",
     "event_id, webhook_id, type, payload, created_at, state, attempts, next_attempt_at, "
     "lease_owner, lease_until, last_status, last_error, updated_at",
     "event_id, webhook_id", true, nullptr},
    {"recipient_certs",
     "sha256, pem, emails, subject, not_before, not_after, pinned, aes_gcm, imported_at", "sha256",
     true, nullptr},
    {"secure_messages",
     "id, message_id, recipient, sender, ciphertext, created_at, expires_at, revoked_at, "
     "first_read_at, code_hash, code_expires_at, replies",
     "id", true, nullptr},
    {"recipient_accounts",
     "address, password_hash, totp_sealed, totp_confirmed, totp_last_step, created_at, "
     "updated_at",
     "address", true, nullptr},
    // Copied: the fields are sealed under secrets/contacts.key, which the data directory keeps
    // whatever the engine. An import's stage is empty between imports.
    {"contacts", "id, address, created_at, updated_at, source", "id", true, nullptr},
    {"contact_fields", "contact_id, name, value", "contact_id, name", true, nullptr},
    {"authorisations",
     "id, contact_id, purpose, granted_at, expires_at, scope, evidence, consent_version, "
     "revoked_at, revoked_via",
     "id", true, nullptr},
    {"contact_import_rows", "import_id, address, new_id", "import_id, address", false, nullptr},
    {"contact_import_fields", "import_id, address, name, value", "import_id, address, name", false,
     nullptr},
    {"campaigns",
     "id, name, purpose, sender, policy, fields, segment, subject, body, scheduled_at, "
     "per_minute, author, state, content_hash, approved_hash, approver, approved_at, cursor, "
     "lease_owner, lease_until, created_at, updated_at, started_at, finished_at",
     "id", true, nullptr},
    {"campaign_sends", "campaign_id, contact_id, outcome, message_id, at",
     "campaign_id, contact_id", true, nullptr},
};

// Rows per page: bounds memory (a page of submissions is at most this many ciphertexts).
constexpr std::int64_t kPage = 500;

std::size_t column_count(const char* columns) {
  std::size_t n = 1;
  for (const char* c = columns; *c != '\0'; ++c) n += *c == ',' ? 1 : 0;
  return n;
}

// A row as hashed: each value tagged with its type and length, so that no two different
// rows encode alike. The schemas give a column the same type on both engines (STRICT
// tables on SQLite), so equal rows hash equal.
class RowHasher {
 public:
  RowHasher() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr); }
  void add(const Row& row, std::size_t columns) {
    for (std::size_t c = 0; c < columns; ++c) {
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
              update("n;", 2);
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
              const std::string text = fmt::format("i{};", v);
              update(text.data(), text.size());
            } else {
              const std::string head =
                  fmt::format("{}{}:", std::is_same_v<T, std::string> ? 's' : 'b', v.size());
              update(head.data(), head.size());
              update(v.data(), v.size());
            }
          },
          row.value(c));
    }
    update("\n", 1);
  }
  std::string hex() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), out, &len);
    return core::to_hex(std::span<const std::uint8_t>(out, len));
  }

 private:
  void update(const void* data, std::size_t size) { EVP_DigestUpdate(ctx_.get(), data, size); }
  struct Free {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> ctx_;
};

// The row's values as parameters (views into the row, which must outlive them).
std::vector<Param> params_of(const Row& row, std::size_t columns) {
  std::vector<Param> out;
  out.reserve(columns);
  for (std::size_t c = 0; c < columns; ++c) {
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            out.emplace_back(nullptr);
          } else if constexpr (std::is_same_v<T, std::int64_t>) {
            out.emplace_back(v);
          } else if constexpr (std::is_same_v<T, std::string>) {
            out.emplace_back(std::string_view(v));
          } else {
            out.emplace_back(std::span<const std::uint8_t>(v));
          }
        },
        row.value(c));
  }
  return out;
}

core::Status target_is_empty(Connection& pg) {
  auto tables =
      pg.query("SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema()");
  if (!tables) return core::fail(std::move(tables).error());
  for (const auto& row : *tables) {
    const std::string name = row.text(0);
    const TableSpec* ours = nullptr;
    for (const auto& spec : kTables) {
      if (name == spec.name) ours = &spec;
    }
    if (!ours) {
      return core::fail(core::ErrorKind::invalid_input, kNotEmpty,
                        fmt::format("foreign table {}", core::log_safe(name)));
    }
    // Our own table, made by an earlier attempt: fine while it holds nothing of substance
    // (meta holds the schema's own rows).
    if (name == "meta") continue;
    auto count = pg.query(fmt::format("SELECT count(*) FROM {}", ours->name));
    if (!count) return core::fail(std::move(count).error());
    if (count->front().int64(0) != 0) {
      return core::fail(core::ErrorKind::invalid_input, kNotEmpty,
                        fmt::format("table {} has rows", name));
    }
  }
  return core::ok();
}

// Reads an SQLite table (paged by rowid where it has one) and calls `each` with every page.
core::Status read_pages(Connection& conn, const TableSpec& spec,
                        const std::function<core::Status(const Rows&)>& each) {
  const std::size_t columns = column_count(spec.columns);
  if (spec.rowid) {
    std::int64_t after = 0;
    const std::string sql = fmt::format(
        "SELECT {}, rowid FROM {} WHERE rowid > ?1 ORDER BY rowid "
        "LIMIT ?2",
        spec.columns, spec.name);
    for (;;) {
      auto rows = conn.query(sql, {Param{after}, Param{kPage}});
      if (!rows) return core::fail(std::move(rows).error());
      if (rows->empty()) return core::ok();
      if (auto s = each(*rows); !s) return s;
      after = rows->back().int64(columns);
      if (static_cast<std::int64_t>(rows->size()) < kPage) return core::ok();
    }
  }
  auto rows =
      conn.query(fmt::format("SELECT {} FROM {} ORDER BY {}", spec.columns, spec.name, spec.order));
  if (!rows) return core::fail(std::move(rows).error());
  return each(*rows);
}

// The hash of a table in key order, on either side.
core::Result<std::pair<std::int64_t, std::string>> digest(Connection& conn, const TableSpec& spec) {
  const std::size_t columns = column_count(spec.columns);
  RowHasher hasher;
  std::int64_t count = 0;
  // meta: the target's schema_version row is the target's own.
  const std::string sql = fmt::format(
      "SELECT {} FROM {} {} ORDER BY {} LIMIT ?1 OFFSET ?2", spec.columns, spec.name,
      std::string_view(spec.name) == "meta" ? "WHERE key <> 'schema_version'" : "", spec.order);
  for (;;) {
    auto rows = conn.query(sql, {Param{kPage}, Param{count}});
    if (!rows) return core::fail(std::move(rows).error());
    for (const auto& row : *rows) hasher.add(row, columns);
    count += static_cast<std::int64_t>(rows->size());
    if (static_cast<std::int64_t>(rows->size()) < kPage) break;
  }
  return std::make_pair(count, hasher.hex());
}

}  // namespace

core::Result<PortReport> port_sqlite_to_postgres_blocking(const std::string& sqlite_path,
                                                          const std::string& postgres_uri,
                                                          const core::SecretBytes& password,
                                                          const PortProgress& progress) {
  // The source: brought to the current schema first (the same migrations serve applies).
  auto sqlite_connector = engine::sqlite::prepare_blocking(sqlite_path);
  if (!sqlite_connector) return core::fail(std::move(sqlite_connector).error());
  auto src = (*sqlite_connector)->connect_blocking();
  if (!src) return core::fail(std::move(src).error());

  engine::postgres::Options options;
  options.uri = postgres_uri;
  options.password = core::SecretBytes(password.as_string_view());
  // Emptiness is checked before the schema is created, on a connection of its own.
  if (auto s = engine::postgres::check_uri(postgres_uri); !s) return core::fail(s.error());
  {
    auto probe = engine::postgres::connect_only_blocking(options);
    if (!probe) return core::fail(std::move(probe).error());
    if (auto s = target_is_empty(**probe); !s) return core::fail(std::move(s).error());
  }
  auto pg_connector = engine::postgres::prepare_blocking(options);
  if (!pg_connector) return core::fail(std::move(pg_connector).error());
  auto dst = (*pg_connector)->connect_blocking();
  if (!dst) return core::fail(std::move(dst).error());
  Connection& sqlite = **src;
  Connection& pg = **dst;

  // One snapshot of the source under its write lock: no process can commit to it while
  // we copy (a running `serve` would get 503s: stop it first, OPERATIONS.md says so).
  if (auto s = sqlite.begin(engine::TxMode::write); !s) return core::fail(std::move(s).error());
  if (auto s = pg.begin(engine::TxMode::write); !s) return core::fail(std::move(s).error());
  auto abandon = [&](core::Error error) -> core::Result<PortReport> {
    pg.rollback();
    sqlite.rollback();
    return core::fail(std::move(error));
  };

  PortReport report;
  for (const auto& spec : kTables) {
    const std::size_t columns = column_count(spec.columns);
    auto total = sqlite.query(fmt::format("SELECT count(*) FROM {}", spec.name));
    if (!total) return abandon(std::move(total).error());
    const std::int64_t rows_total = total->front().int64(0);
    std::string placeholders;
    for (std::size_t c = 1; c <= columns; ++c) {
      placeholders += fmt::format("{}?{}", c == 1 ? "" : ", ", c);
    }
    // meta already holds the target schema's own rows: the source's values win, except
    // schema_version, which the source does not have.
    const std::string insert =
        std::string_view(spec.name) == "meta"
            ? fmt::format(
                  "INSERT INTO meta (key, value) VALUES (?1, CAST(?2 AS BIGINT)) "
                  "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            : fmt::format("INSERT INTO {} ({}) VALUES ({})", spec.name, spec.columns, placeholders);
    std::int64_t done = 0;
    auto copied = read_pages(sqlite, spec, [&](const Rows& rows) -> core::Status {
      for (const auto& row : rows) {
        const std::vector<Param> params = params_of(row, columns);
        auto r = pg.execute(insert, params);
        if (!r) return core::fail(std::move(r).error());
      }
      done += static_cast<std::int64_t>(rows.size());
      if (progress) progress(spec.name, done, rows_total);
      return core::ok();
    });
    if (!copied) return abandon(std::move(copied).error());
    if (progress && rows_total == 0) progress(spec.name, 0, 0);
  }

  // Identity sequences continue after the largest id ever handed out (SQLite's
  // AUTOINCREMENT remembers ids of deleted rows in sqlite_sequence: so do we).
  for (const auto& spec : kTables) {
    if (spec.identity == nullptr) continue;
    auto high = sqlite.query(
        fmt::format("SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?1), 0), "
                    "coalesce((SELECT max({}) FROM {}), 0))",
                    spec.identity, spec.name),
        {Param{std::string_view(spec.name)}});
    if (!high) return abandon(std::move(high).error());
    const std::int64_t next = high->front().int64(0);
    auto set = pg.query(fmt::format("SELECT setval(pg_get_serial_sequence('{}', '{}'), ?1, ?2 > 0)",
                                    spec.name, spec.identity),
                        {Param{std::max<std::int64_t>(next, 1)}, Param{next}});
    if (!set) return abandon(std::move(set).error());
  }

  // The proof: the same rows, in the same order, with the same bytes, on both sides, read
  // back inside the transaction that wrote them.
  for (const auto& spec : kTables) {
    auto source = digest(sqlite, spec);
    if (!source) return abandon(std::move(source).error());
    auto target = digest(pg, spec);
    if (!target) return abandon(std::move(target).error());
    if (*source != *target) {
      return abandon(
          core::Error(core::ErrorKind::integrity, kMismatch,
                      fmt::format("table {}: {} rows {} vs {} rows {}", spec.name, source->first,
                                  source->second, target->first, target->second)));
    }
    report.tables.push_back(PortTable{spec.name, source->first, source->second});
  }
  if (auto s = pg.commit(); !s) return abandon(std::move(s).error());
  sqlite.rollback();  // read only: nothing to keep
  return report;
}

}  // namespace store
