#include "store/engine/sqlite/detail/schema.hpp"

#include <fmt/format.h>

#include <array>
#include <string>

namespace store::engine::sqlite::detail {

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
//   users         staff portal accounts (P4); id AUTOINCREMENT so that an id named in the
//                 audit trail or a grant's granted_by never comes to mean someone else
//   enrolments    one-time enrolment links: the token's hash only, single use (used_at)
//   recovery_codes  second-factor fallback codes: hashes only, single use (used_at)
//   sessions      portal sessions: the cookie value's hash only
//   grants        which user may read which form (P4)
// and forms.granted_recipients: the staff key fingerprints a version was made for (JSON
// array of strings), '[]' for every version made before grants existed.
// Migration 4 (several nodes):
//   node_secrets  a fingerprint of each secret every node must share (keyed HMACs, never
//                 the secret): the first node records it, a node with another is refused
//   meta.schema_compat_version  the oldest schema version a binary may know and still use
//                 this database (Synapse's SCHEMA_COMPAT_VERSION)
// Migration 5 (abuse control shared by the nodes; the floor stays 4: a binary that knows
// schema 4 only ignores these tables, so nodes can be upgraded one at a time):
//   blocks        networks refused with 403 (`sealpost block`, automatic blocks): the CIDR
//                 in canonical text, why, when, until when (NULL: until removed), by whom
//   auth_failures the portal's sign-in failure counts, keyed by a hash of the account or
//                 address key (never the e-mail or address itself), shared by every node
// Migration 6 (the outbound mail queue, issue 8; the floor stays 4: older binaries ignore
// these tables and send no mail):
//   mail_messages    queued messages: envelope sender, policy asked, PHI mark, who queued
//                    it, and the body sealed under secrets/queue.key (never cleartext)
//   mail_recipients  one row per recipient: state, attempts, when due, and the lease of
//                    the node attempting it now (lease_owner, lease_until)
//   mail_attempts    every attempt's result: reply, MX, TLS version/cipher, how the
//                    certificate was verified, the policy applied (mail show, TLS-RPT)
//   mail_tls_domains domains seen offering TLS (M4: never sent in cleartext again)
// Migration 7 (SMTP TLS reporting, RFC 8460; the floor stays 4):
//   mail_tls_sessions per UTC day and recipient (policy) domain, how many TLS sessions had
//                     each outcome: the policy applied (tlsa, sts, no-policy-found, with
//                     its text and MX patterns), the failure's result type ('' = success),
//                     the MX host and address. Counts only: never a message or address.
//   mail_tls_reports  one row per (day, domain) whose report a node has taken on, so that
//                     of several nodes exactly one builds and sends it; and how that went
// Migration 8 (MTA-STS, RFC 8461; the floor stays 4: an older binary's attempts get the
// new columns' defaults, and it ignores the cache):
//   mail_attempts.sts_mode, sts_id, tls_failure  the MTA-STS policy an attempt ran under
//                    and what failed, as RFC 8460 result types (TLS-RPT)
//   mail_mta_sts     each recipient domain's MTA-STS policy as last fetched: the TXT id it
//                    was fetched for, mode, mx patterns (one per line), max_age, and when it
//                    was fetched and expires
// Migration 9 (the HTTP API's keys, issue 8; the floor stays 4: older binaries ignore it
// and serve no API):
//   api_keys      `sealpost apikey add`: public id, the SHA-256 of the key (never the key),
//                 scopes (JSON array of strings), who added it and when, when revoked,
//                 when last used (updated at most once a minute per key and node)
// Migration 10 (budgets shared by the nodes, issue 7; the floor stays 4: an older binary
// ignores them and keeps its budgets in memory). Keys are hashes, never an address. A
// single SQLite node keeps its budgets in memory and leaves these empty; they exist so
// that the queries are the same on both engines (PostgreSQL makes them UNLOGGED).
//   rate_buckets  form-post rate limits as GCRA: per key the theoretical arrival time of
//                 the next request (tat, microseconds since the epoch); a row whose tat
//                 is past is a full bucket and is pruned
//   rate_events   the counts behind automatic blocks: per key the count in the current
//                 fixed window (window_start, seconds) and in the one before (previous)
// Migration 11 (webhooks for integrators, issue 9 point 7; the floor stays 4: an older
// binary ignores both tables and sends no webhook):
//   webhooks            `sealpost webhook add`: public id, label, the https URL, the event
//                       types it takes (",a,b," so that one LIKE matches a type on both
//                       engines), the signing secret sealed under secrets/queue.key (never
//                       in the clear), who added it and when, when removed
//   webhook_deliveries  one row per (event, webhook): the event's type and JSON body (ids
//                       and metadata only, never PHI), state, attempts, when due, the lease
//                       of the node sending it now, and the last attempt's HTTP status and
//                       error words (no response body)
// Migration 12 (S/MIME recipients and how a message is sealed, issue 9; the floor stays
// 4: an older binary ignores both and sends no S/MIME):
//   recipient_certs  `sealpost cert import`: each recipient X.509 certificate by the
//                    SHA-256 of its DER, the PEM, its e-mail addresses (JSON array, lower
//                    case), subject, validity, whether it was pinned (no chain required)
//                    and whether AES-256-GCM (AuthEnvelopedData) is used for it
//   mail_messages.sealed  how a message's content is sealed for all its recipients
//                    ('pgp-mime', 'smime-aes-256-cbc', 'smime-aes-256-gcm'; '': TLS only)
// Migration 13 (the secure-message portal, issue 9; the floor stays 4: an older binary
// ignores it and refuses keyless recipients of security encrypt):
//   secure_messages  one row per keyless recipient of a `security = encrypt` message: a
//                    random id (the link's path), the queue message id, recipient,
//                    sender, AES-256-GCM ciphertext of the content (IV || ciphertext || tag;
//                    the key is only in the link), created/expires/revoked/first-read
//                    times, and the pending one-time code: its SHA-256 and expiry only
// Migration 14 (contacts and authorisations, issue 11; the floor stays 4: an older binary
// ignores them):
//   contacts         one row per contact: a random id, the address (lower case, unique),
//                    created/updated times, and how it came (source)
//   contact_fields   a contact's name and attributes, each sealed (AES-256-GCM under
//                    secrets/contacts.key, address and field name as additional data)
//   authorisations   what a contact authorised: purpose, granted/expires/revoked times,
//                    scope, evidence (how), the consent text's version, how it was revoked
//   contact_import_rows, contact_import_fields  an import's stage: filled in short
//                    transactions, applied in one, then emptied
// Migration 15 (recipient accounts and secure replies, issue 9; the floor stays 4: an
// older binary ignores them and opens a copy with the code alone):
//   recipient_accounts  one row per address (lower case) that opened a portal copy: its
//                       Argon2id password hash, the optional TOTP secret (sealed under
//                       secrets/portal-seal.key like the staff's), whether it is confirmed and its
//                       last step, created/updated times
//   secure_messages.replies  how many secure replies were sent from this copy (bounded)
// Migration 16 (campaigns, issue 11; the floor stays 4: an older binary ignores them):
//   campaigns        a campaign as written (purpose, sender, TLS policy, declared fields,
//                    segment, subject and body templates, schedule, messages per minute),
//                    its author, state, the SHA-256 of what an approval covers
//                    (content_hash) and, once approved, the hash approved, by whom and
//                    when (the approval holds while the two hashes are equal); while
//                    sending: the last contact id done (cursor) and the node sending it
//                    (lease_owner, lease_until)
//   campaign_sends   one row per contact the campaign reached: queued (its message id),
//                    withdrawn (queued, then the authorisation was revoked before
//                    delivery), or suppressed and why
constexpr std::array<const char*, 16> kMigrations = {
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
    R"sql(
ALTER TABLE forms ADD COLUMN granted_recipients TEXT NOT NULL DEFAULT '[]';

CREATE TABLE users (
  id                  INTEGER PRIMARY KEY AUTOINCREMENT,
  email               TEXT NOT NULL UNIQUE,
  roles               INTEGER NOT NULL CHECK (roles BETWEEN 0 AND 4294967295),
  status              TEXT NOT NULL CHECK (status IN ('invited', 'active', 'disabled')),
  password_hash       TEXT,
  totp_sealed         BLOB,
  totp_confirmed      INTEGER NOT NULL DEFAULT 0 CHECK (totp_confirmed IN (0, 1)),
  totp_last_step      INTEGER NOT NULL DEFAULT 0,
  key_fingerprint     TEXT,
  private_key_armored TEXT,
  created_at          INTEGER NOT NULL
) STRICT;

CREATE TABLE enrolments (
  token_hash TEXT PRIMARY KEY NOT NULL,
  user_id    INTEGER NOT NULL REFERENCES users (id),
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  used_at    INTEGER
) STRICT;
CREATE INDEX enrolments_by_user ON enrolments (user_id);

CREATE TABLE recovery_codes (
  user_id   INTEGER NOT NULL REFERENCES users (id),
  code_hash TEXT NOT NULL,
  used_at   INTEGER,
  PRIMARY KEY (user_id, code_hash)
) STRICT, WITHOUT ROWID;

CREATE TABLE sessions (
  id_hash      TEXT PRIMARY KEY NOT NULL,
  user_id      INTEGER NOT NULL REFERENCES users (id),
  stage        TEXT NOT NULL CHECK (stage IN ('enrolling', 'second_factor', 'full')),
  csrf_token   TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  source       TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE grants (
  user_id    INTEGER NOT NULL REFERENCES users (id),
  form_id    TEXT NOT NULL REFERENCES form_state (form_id),
  granted_at INTEGER NOT NULL,
  granted_by INTEGER NOT NULL,
  PRIMARY KEY (user_id, form_id)
) STRICT, WITHOUT ROWID;
)sql",
    R"sql(
CREATE TABLE node_secrets (
  name        TEXT PRIMARY KEY NOT NULL,
  fingerprint TEXT NOT NULL,
  recorded_at INTEGER NOT NULL
) STRICT;
INSERT INTO meta (key, value) VALUES ('schema_compat_version', 4);
)sql",
    R"sql(
CREATE TABLE blocks (
  cidr       TEXT PRIMARY KEY NOT NULL,
  reason     TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  created_by TEXT NOT NULL
) STRICT;

CREATE TABLE auth_failures (
  key          TEXT PRIMARY KEY NOT NULL,
  failures     INTEGER NOT NULL CHECK (failures >= 1),
  last_failure INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX auth_failures_by_time ON auth_failures (last_failure);
)sql",
    R"sql(
CREATE TABLE mail_messages (
  id         TEXT PRIMARY KEY NOT NULL,
  created_at INTEGER NOT NULL,
  sender     TEXT NOT NULL,
  security   TEXT NOT NULL
             CHECK (security IN ('none', 'opportunistic', 'verify', 'exclusive', 'forced')),
  phi        INTEGER NOT NULL CHECK (phi IN (0, 1)),
  origin     TEXT NOT NULL,
  size       INTEGER NOT NULL CHECK (size >= 0),
  body       BLOB NOT NULL
) STRICT;

CREATE TABLE mail_recipients (
  message_id      TEXT NOT NULL REFERENCES mail_messages (id),
  idx             INTEGER NOT NULL CHECK (idx >= 0),
  address         TEXT NOT NULL,
  domain          TEXT NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('queued', 'deferred', 'delivered', 'bounced',
                                                  'dropped', 'awaiting_fallback')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  lease_owner     TEXT,
  lease_until     INTEGER,
  updated_at      INTEGER NOT NULL,
  PRIMARY KEY (message_id, idx)
) STRICT, WITHOUT ROWID;
CREATE INDEX mail_recipients_due ON mail_recipients (next_attempt_at)
  WHERE state IN ('queued', 'deferred');
CREATE INDEX mail_recipients_by_owner ON mail_recipients (lease_owner)
  WHERE lease_owner IS NOT NULL;

CREATE TABLE mail_attempts (
  message_id  TEXT NOT NULL,
  idx         INTEGER NOT NULL,
  attempt     INTEGER NOT NULL,
  at          INTEGER NOT NULL,
  result      TEXT NOT NULL,
  code        INTEGER NOT NULL,
  enhanced    TEXT NOT NULL,
  reply       TEXT NOT NULL,
  mx_host     TEXT NOT NULL,
  ip          TEXT NOT NULL,
  tls_version TEXT NOT NULL,
  tls_cipher  TEXT NOT NULL,
  verified    TEXT NOT NULL,
  policy      TEXT NOT NULL,
  PRIMARY KEY (message_id, idx, attempt),
  FOREIGN KEY (message_id, idx) REFERENCES mail_recipients (message_id, idx)
) STRICT, WITHOUT ROWID;

CREATE TABLE mail_tls_domains (
  domain     TEXT PRIMARY KEY NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
)sql",
    R"sql(
CREATE TABLE mail_tls_sessions (
  day           INTEGER NOT NULL,
  policy_domain TEXT NOT NULL,
  policy_type   TEXT NOT NULL CHECK (policy_type IN ('tlsa', 'sts', 'no-policy-found')),
  policy_text   TEXT NOT NULL,
  mx_patterns   TEXT NOT NULL,
  result_type   TEXT NOT NULL,
  mx_host       TEXT NOT NULL,
  ip            TEXT NOT NULL,
  count         INTEGER NOT NULL CHECK (count >= 0),
  PRIMARY KEY (day, policy_domain, policy_type, policy_text, mx_patterns, result_type, mx_host,
               ip)
) STRICT, WITHOUT ROWID;

CREATE TABLE mail_tls_reports (
  day           INTEGER NOT NULL,
  policy_domain TEXT NOT NULL,
  claimed_by    TEXT NOT NULL,
  claimed_at    INTEGER NOT NULL,
  outcome       TEXT NOT NULL,
  PRIMARY KEY (day, policy_domain)
) STRICT, WITHOUT ROWID;
)sql",
    R"sql(
ALTER TABLE mail_attempts ADD COLUMN sts_mode TEXT NOT NULL DEFAULT '';
ALTER TABLE mail_attempts ADD COLUMN sts_id TEXT NOT NULL DEFAULT '';
ALTER TABLE mail_attempts ADD COLUMN tls_failure TEXT NOT NULL DEFAULT '';

CREATE TABLE mail_mta_sts (
  domain     TEXT PRIMARY KEY NOT NULL,
  policy_id  TEXT NOT NULL,
  mode       TEXT NOT NULL CHECK (mode IN ('enforce', 'testing', 'none')),
  mx         TEXT NOT NULL,
  max_age    INTEGER NOT NULL CHECK (max_age BETWEEN 0 AND 31557600),
  fetched_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
)sql",
    R"sql(
CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY NOT NULL,
  name         TEXT NOT NULL,
  secret_hash  TEXT NOT NULL,
  scopes       TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  created_by   TEXT NOT NULL,
  revoked_at   INTEGER,
  last_used_at INTEGER
) STRICT;
)sql",
    R"sql(
CREATE TABLE rate_buckets (
  key TEXT PRIMARY KEY NOT NULL,
  tat INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE rate_events (
  key          TEXT PRIMARY KEY NOT NULL,
  window_start INTEGER NOT NULL,
  count        INTEGER NOT NULL CHECK (count >= 1),
  previous     INTEGER NOT NULL CHECK (previous >= 0)
) STRICT, WITHOUT ROWID;
)sql",
    R"sql(
CREATE TABLE webhooks (
  id            TEXT PRIMARY KEY NOT NULL,
  name          TEXT NOT NULL,
  url           TEXT NOT NULL,
  events        TEXT NOT NULL,
  sealed_secret BLOB NOT NULL,
  created_at    INTEGER NOT NULL,
  created_by    TEXT NOT NULL,
  removed_at    INTEGER
) STRICT;

CREATE TABLE webhook_deliveries (
  event_id        TEXT NOT NULL,
  webhook_id      TEXT NOT NULL REFERENCES webhooks (id),
  type            TEXT NOT NULL,
  payload         TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'cancelled')),
  attempts        INTEGER NOT NULL CHECK (attempts >= 0),
  next_attempt_at INTEGER NOT NULL,
  lease_owner     TEXT,
  lease_until     INTEGER,
  last_status     INTEGER,
  last_error      TEXT NOT NULL,
  updated_at      INTEGER NOT NULL,
  PRIMARY KEY (event_id, webhook_id)
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
)sql",
    R"sql(
CREATE TABLE recipient_certs (
  sha256      TEXT PRIMARY KEY NOT NULL,
  pem         TEXT NOT NULL,
  emails      TEXT NOT NULL,
  subject     TEXT NOT NULL,
  not_before  INTEGER NOT NULL,
  not_after   INTEGER NOT NULL,
  pinned      INTEGER NOT NULL CHECK (pinned IN (0, 1)),
  aes_gcm     INTEGER NOT NULL CHECK (aes_gcm IN (0, 1)),
  imported_at INTEGER NOT NULL
) STRICT;
ALTER TABLE mail_messages ADD COLUMN sealed TEXT NOT NULL DEFAULT '';
)sql",
    R"sql(
CREATE TABLE secure_messages (
  id              TEXT PRIMARY KEY NOT NULL,
  message_id      TEXT NOT NULL,
  recipient       TEXT NOT NULL,
  sender          TEXT NOT NULL,
  ciphertext      BLOB NOT NULL,
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL,
  revoked_at      INTEGER,
  first_read_at   INTEGER,
  code_hash       TEXT,
  code_expires_at INTEGER
) STRICT;
CREATE INDEX secure_messages_by_message ON secure_messages (message_id);
)sql",
    R"sql(
CREATE TABLE contacts (
  id         TEXT PRIMARY KEY NOT NULL,
  address    TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  source     TEXT NOT NULL
) STRICT;
CREATE TABLE contact_fields (
  contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  value      BLOB NOT NULL,
  PRIMARY KEY (contact_id, name)
) STRICT;
CREATE TABLE authorisations (
  id              TEXT PRIMARY KEY NOT NULL,
  contact_id      TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
  purpose         TEXT NOT NULL,
  granted_at      INTEGER NOT NULL,
  expires_at      INTEGER,
  scope           TEXT NOT NULL,
  evidence        TEXT NOT NULL,
  consent_version TEXT NOT NULL,
  revoked_at      INTEGER,
  revoked_via     TEXT NOT NULL
) STRICT;
CREATE INDEX authorisations_by_contact ON authorisations (contact_id, purpose);
CREATE TABLE contact_import_rows (
  import_id TEXT NOT NULL,
  address   TEXT NOT NULL,
  new_id    TEXT NOT NULL,
  PRIMARY KEY (import_id, address)
) STRICT;
CREATE TABLE contact_import_fields (
  import_id TEXT NOT NULL,
  address   TEXT NOT NULL,
  name      TEXT NOT NULL,
  value     BLOB NOT NULL,
  PRIMARY KEY (import_id, address, name)
) STRICT;
)sql",
    R"sql(
CREATE TABLE recipient_accounts (
  address        TEXT PRIMARY KEY NOT NULL,
  password_hash  TEXT NOT NULL,
  totp_sealed    BLOB,
  totp_confirmed INTEGER NOT NULL CHECK (totp_confirmed IN (0, 1)),
  totp_last_step INTEGER NOT NULL,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
) STRICT;
ALTER TABLE secure_messages ADD COLUMN replies INTEGER NOT NULL DEFAULT 0;
)sql",
    R"sql(
CREATE TABLE campaigns (
  id            TEXT PRIMARY KEY NOT NULL,
  name          TEXT NOT NULL,
  purpose       TEXT NOT NULL,
  sender        TEXT NOT NULL,
  policy        TEXT NOT NULL,
  fields        TEXT NOT NULL,
  segment       TEXT NOT NULL,
  subject       TEXT NOT NULL,
  body          TEXT NOT NULL,
  scheduled_at  INTEGER,
  per_minute    INTEGER NOT NULL CHECK (per_minute >= 1),
  author        TEXT NOT NULL,
  state         TEXT NOT NULL CHECK (state IN ('draft', 'sending', 'paused', 'sent',
                                               'cancelled')),
  content_hash  TEXT NOT NULL,
  approved_hash TEXT,
  approver      TEXT,
  approved_at   INTEGER,
  cursor        TEXT NOT NULL DEFAULT '',
  lease_owner   TEXT,
  lease_until   INTEGER,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  started_at    INTEGER,
  finished_at   INTEGER
) STRICT;
CREATE TABLE campaign_sends (
  campaign_id TEXT NOT NULL REFERENCES campaigns (id),
  contact_id  TEXT NOT NULL,
  outcome     TEXT NOT NULL CHECK (outcome IN ('queued', 'withdrawn', 'no_authorisation',
                                               'revoked', 'expired', 'unsubscribed',
                                               'bounced_before')),
  message_id  TEXT,
  at          INTEGER NOT NULL,
  PRIMARY KEY (campaign_id, contact_id)
) STRICT;
CREATE INDEX campaign_sends_by_contact ON campaign_sends (contact_id) WHERE outcome = 'queued';
CREATE INDEX mail_recipients_bounced ON mail_recipients (lower(address)) WHERE state = 'bounced';
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

// A database newer than this binary is still usable when its compatibility floor says so.
core::Result<bool> compatible_newer(Connection& conn) {
  auto q = conn.query("SELECT value FROM meta WHERE key = 'schema_compat_version'");
  if (!q) return core::fail(std::move(q).error());
  int rc = q->step();
  if (rc == SQLITE_DONE) return false;
  if (rc != SQLITE_ROW) return core::fail(q->error(rc, "schema compat version"));
  return q->column_int64(0) <= schema_version();
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

namespace {

core::Status migrate_to(Connection& conn, int target) {
  auto current = read_user_version(conn);
  if (!current) return core::fail(std::move(current).error());
  if (*current > schema_version()) {
    auto usable = compatible_newer(conn);
    if (!usable) return core::fail(std::move(usable).error());
    if (*usable) return core::ok();  // a newer sealpost's additions, which we may ignore
    return core::fail(newer_schema(*current));
  }

  while (*current < target) {
    auto tx = Transaction::begin(conn, /*immediate=*/true);
    if (!tx) return core::fail(std::move(tx).error());
    // Another process may have migrated while we waited for the write lock.
    current = read_user_version(conn);
    if (!current) return core::fail(std::move(current).error());
    if (*current > schema_version()) return core::fail(newer_schema(*current));
    if (*current >= target) break;

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

}  // namespace

core::Status migrate_blocking(Connection& conn) { return migrate_to(conn, schema_version()); }

core::Status migrate_to_for_test(Connection& conn, int version) {
  if (version < 0 || version > schema_version()) {
    return core::fail(core::ErrorKind::invalid_input, kStoreInternal, "no such schema version");
  }
  return migrate_to(conn, version);
}

}  // namespace store::engine::sqlite::detail
