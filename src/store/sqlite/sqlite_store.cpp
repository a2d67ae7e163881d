#include "store/sqlite/sqlite_store.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/clock.hpp"
#include "core/encoding.hpp"
#include "core/log.hpp"
#include "store/sqlite/detail/connection.hpp"
#include "store/sqlite/detail/schema.hpp"

namespace store {

using sqlite::detail::Connection;
using sqlite::detail::Query;
using sqlite::detail::Transaction;

namespace {

// Public texts (the fixed, reviewed set; see core::Error).
constexpr const char* kNotStored = "the submission could not be stored; please try again";
constexpr const char* kAlreadySubmitted = "this form was already submitted";
constexpr const char* kRejected = "the submission could not be stored";
constexpr const char* kNoSuchForm = "no such form";
constexpr const char* kNoSuchReference = "no such submission reference";
constexpr const char* kCannotOpen = "the database file cannot be opened";
constexpr const char* kUserExists = "a user with this e-mail address exists";
constexpr const char* kNoSuchUser = "no such user";
constexpr const char* kNoSuchUserOrForm = "no such user or form";
// One text for an unknown, used or expired link: the caller must not learn which.
constexpr const char* kEnrolmentInvalid = "this enrolment link is not valid";
constexpr const char* kEnrolmentExists = "this enrolment link exists already";
constexpr const char* kDuplicateRecoveryCode = "a recovery code was given twice";
constexpr const char* kNoSuchSession = "no such session";
constexpr const char* kSessionExists = "this session exists already";
constexpr const char* kNoSuchGrant = "no such grant";

// Pruning of used token nonces: often enough that the table stays small, rarely enough
// that the extra transaction (and fsync) does not show in the submission latency.
constexpr std::int64_t kPruneEveryCommits = 1000;
constexpr auto kPruneEvery = std::chrono::minutes(1);
// A nonce is kept this long past its token's expiry, so a token checked by another
// process (or host) whose clock runs slightly behind ours still meets its nonce.
constexpr std::int64_t kPruneGraceSeconds = 300;

// Every statement of the store, named. Values are always bound (`?`), never spliced.
namespace sql {
constexpr const char* kBeginImmediate = "BEGIN IMMEDIATE";
constexpr const char* kCommit = "COMMIT";
constexpr const char* kRollback = "ROLLBACK";
constexpr const char* kSavepoint = "SAVEPOINT item";
constexpr const char* kRelease = "RELEASE item";
constexpr const char* kRollbackToSavepoint = "ROLLBACK TO item";
constexpr const char* kInsertToken = "INSERT INTO used_tokens (nonce, expires_at) VALUES (?, ?)";
constexpr const char* kInsertSubmission =
    "INSERT INTO submissions (reference, form_id, form_version, received_at, ciphertext, "
    "recipients) VALUES (?, ?, ?, ?, ?, ?)";
constexpr const char* kPruneTokens = "DELETE FROM used_tokens WHERE expires_at < ?";
constexpr const char* kTokenUsed = "SELECT 1 FROM used_tokens WHERE nonce = ?";
constexpr const char* kFindSubmission =
    "SELECT seq, reference, form_id, form_version, received_at, length(ciphertext), recipients "
    "FROM submissions WHERE form_id = ? AND reference = ?";
constexpr const char* kSeqOfReference =
    "SELECT seq FROM submissions WHERE form_id = ? AND reference = ?";
constexpr const char* kListSubmissions =
    "SELECT seq, reference, form_id, form_version, received_at, length(ciphertext), recipients, "
    "ciphertext FROM submissions WHERE form_id = ? AND seq > ? ORDER BY seq LIMIT ?";
constexpr const char* kCountSubmissions = "SELECT count(*) FROM submissions WHERE form_id = ?";
constexpr const char* kEnableFormState =
    "INSERT INTO form_state (form_id, enabled) VALUES (?, 1) "
    "ON CONFLICT (form_id) DO UPDATE SET enabled = 1";
constexpr const char* kNextFormVersion =
    "SELECT coalesce(max(version), 0) + 1 FROM forms WHERE form_id = ?";
constexpr const char* kInsertForm =
    "INSERT INTO forms (form_id, version, declaration, created_at, granted_recipients) "
    "VALUES (?, ?, ?, ?, ?)";
constexpr const char* kLatestForms =
    "SELECT f.form_id, f.version, f.declaration, s.enabled, f.created_at, f.granted_recipients "
    "FROM forms AS f JOIN form_state AS s ON s.form_id = f.form_id "
    "WHERE f.version = (SELECT max(version) FROM forms WHERE form_id = f.form_id) "
    "ORDER BY f.form_id";
constexpr const char* kLatestForm =
    "SELECT f.form_id, f.version, f.declaration, s.enabled, f.created_at, f.granted_recipients "
    "FROM forms AS f JOIN form_state AS s ON s.form_id = f.form_id "
    "WHERE f.form_id = ? ORDER BY f.version DESC LIMIT 1";
constexpr const char* kFormVersion =
    "SELECT f.form_id, f.version, f.declaration, s.enabled, f.created_at, f.granted_recipients "
    "FROM forms AS f JOIN form_state AS s ON s.form_id = f.form_id "
    "WHERE f.form_id = ? AND f.version = ?";
constexpr const char* kSetFormEnabled = "UPDATE form_state SET enabled = ? WHERE form_id = ?";
constexpr const char* kPutKey =
    "INSERT INTO keys (fingerprint, armored, user_ids, created_at, expires_at, imported_at) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (fingerprint) DO UPDATE SET "
    "armored = excluded.armored, user_ids = excluded.user_ids, "
    "created_at = excluded.created_at, expires_at = excluded.expires_at, "
    "imported_at = excluded.imported_at";
constexpr const char* kListKeys =
    "SELECT fingerprint, armored, user_ids, created_at, expires_at, imported_at "
    "FROM keys ORDER BY fingerprint";
constexpr const char* kFindKey =
    "SELECT fingerprint, armored, user_ids, created_at, expires_at, imported_at "
    "FROM keys WHERE fingerprint = ?";
constexpr const char* kLastAudit =
    "SELECT seq, time, actor, action, object, source, outcome, prev_hash, hash "
    "FROM audit ORDER BY seq DESC LIMIT 1";
constexpr const char* kInsertAudit =
    "INSERT INTO audit (seq, time, actor, action, object, source, outcome, prev_hash, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr const char* kListAudit =
    "SELECT seq, time, actor, action, object, source, outcome, prev_hash, hash "
    "FROM audit WHERE seq > ? ORDER BY seq LIMIT ?";
constexpr const char* kCountAudit = "SELECT count(*) FROM audit";
constexpr const char* kInsertAuditCheckpoint =
    "INSERT INTO audit_checkpoints (count, head_hash, time, signature) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (count) DO NOTHING";
constexpr const char* kListAuditCheckpoints =
    "SELECT count, head_hash, time, signature FROM audit_checkpoints ORDER BY count";
constexpr const char* kConfigGeneration = "SELECT value FROM meta WHERE key = 'config_generation'";
constexpr const char* kBumpConfigGeneration =
    "UPDATE meta SET value = value + 1 WHERE key = 'config_generation'";

// Portal: users.
constexpr const char* kInsertUser =
    "INSERT INTO users (email, roles, status, created_at) VALUES (?, ?, 'invited', ?) "
    "RETURNING id";
constexpr const char* kFindUser =
    "SELECT id, email, roles, status, password_hash, totp_sealed, totp_confirmed, "
    "totp_last_step, key_fingerprint, private_key_armored, created_at FROM users WHERE id = ?";
constexpr const char* kFindUserByEmail =
    "SELECT id, email, roles, status, password_hash, totp_sealed, totp_confirmed, "
    "totp_last_step, key_fingerprint, private_key_armored, created_at FROM users "
    "WHERE email = ?";
constexpr const char* kListUsers =
    "SELECT id, email, roles, status, password_hash, totp_sealed, totp_confirmed, "
    "totp_last_step, key_fingerprint, private_key_armored, created_at FROM users ORDER BY id";
constexpr const char* kUpdateUser =
    "UPDATE users SET roles = ?, status = ?, password_hash = ?, totp_sealed = ?, "
    "totp_confirmed = ?, totp_last_step = max(totp_last_step, ?), key_fingerprint = ?, "
    "private_key_armored = ? WHERE id = ?";
constexpr const char* kAdvanceTotpStep =
    "UPDATE users SET totp_last_step = ?1 WHERE id = ?2 AND totp_last_step < ?1";
// Enrolment links and recovery codes: single use by a guarded UPDATE, so that two
// concurrent uses cannot both see "unused".
constexpr const char* kInsertEnrolment =
    "INSERT INTO enrolments (token_hash, user_id, expires_at, created_at) VALUES (?, ?, ?, ?)";
constexpr const char* kConsumeEnrolment =
    "UPDATE enrolments SET used_at = ?1 "
    "WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?1";
constexpr const char* kEnrolmentUser = "SELECT user_id FROM enrolments WHERE token_hash = ?";
constexpr const char* kDeleteRecoveryCodes = "DELETE FROM recovery_codes WHERE user_id = ?";
constexpr const char* kInsertRecoveryCode =
    "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)";
constexpr const char* kUseRecoveryCode =
    "UPDATE recovery_codes SET used_at = ? "
    "WHERE user_id = ? AND code_hash = ? AND used_at IS NULL";
constexpr const char* kUnusedRecoveryCodes =
    "SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL";
// Sessions.
constexpr const char* kInsertSession =
    "INSERT INTO sessions (id_hash, user_id, stage, csrf_token, created_at, last_seen_at, "
    "source) VALUES (?, ?, ?, ?, ?, ?, ?)";
constexpr const char* kFindSession =
    "SELECT id_hash, user_id, stage, csrf_token, created_at, last_seen_at, source "
    "FROM sessions WHERE id_hash = ?";
constexpr const char* kTouchSession = "UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?";
constexpr const char* kDeleteSession = "DELETE FROM sessions WHERE id_hash = ?";
constexpr const char* kDeleteUserSessions = "DELETE FROM sessions WHERE user_id = ?";
constexpr const char* kPruneSessions =
    "DELETE FROM sessions WHERE created_at < ? OR last_seen_at < ?";
// Grants.
constexpr const char* kInsertGrant =
    "INSERT INTO grants (user_id, form_id, granted_at, granted_by) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (user_id, form_id) DO NOTHING";
constexpr const char* kDeleteGrant = "DELETE FROM grants WHERE user_id = ? AND form_id = ?";
constexpr const char* kListGrants =
    "SELECT user_id, form_id, granted_at, granted_by FROM grants ORDER BY user_id, form_id";
constexpr const char* kListUserGrants =
    "SELECT user_id, form_id, granted_at, granted_by FROM grants WHERE user_id = ? "
    "ORDER BY form_id";
// Portal searches. An unset bound is bound as NULL and drops out (`? IS NULL OR ...`), so
// one constant statement serves every combination. The metadata search never names the
// ciphertext column: length() reads only the record header, not the blob.
constexpr const char* kQuerySubmissions =
    "SELECT seq, reference, form_id, form_version, received_at, length(ciphertext), recipients "
    "FROM submissions WHERE form_id = ?1 AND seq > ?2 "
    "AND (?3 IS NULL OR received_at >= ?3) AND (?4 IS NULL OR received_at < ?4) "
    "AND (?5 IS NULL OR reference = ?5) ORDER BY seq LIMIT ?6";
constexpr const char* kQueryCiphertexts =
    "SELECT seq, reference, form_id, form_version, received_at, length(ciphertext), recipients, "
    "ciphertext FROM submissions WHERE form_id = ?1 AND seq > ?2 "
    "AND (?3 IS NULL OR received_at >= ?3) AND (?4 IS NULL OR received_at < ?4) "
    "AND (?5 IS NULL OR reference = ?5) ORDER BY seq LIMIT ?6";
constexpr const char* kGetSubmission =
    "SELECT seq, reference, form_id, form_version, received_at, length(ciphertext), recipients, "
    "ciphertext FROM submissions WHERE form_id = ? AND reference = ?";
// The action prefix is compared with substr(), not LIKE: '%' and '_' in the caller's text
// stay plain characters.
constexpr const char* kQueryAudit =
    "SELECT seq, time, actor, action, object, source, outcome, prev_hash, hash "
    "FROM audit WHERE seq > ?1 AND (?2 IS NULL OR actor = ?2) AND (?3 IS NULL OR action = ?3) "
    "AND (?4 IS NULL OR substr(action, 1, length(?4)) = ?4) AND (?5 IS NULL OR object = ?5) "
    "AND (?6 IS NULL OR time >= ?6) AND (?7 IS NULL OR time < ?7) ORDER BY seq LIMIT ?8";
}  // namespace sql

core::Unexpected<core::Error> forward(core::Error error) { return core::fail(std::move(error)); }

// Lists of short strings (recipient fingerprints, key user ids) as a JSON array of strings.
core::Result<std::string> encode_strings(const std::vector<std::string>& items,
                                         std::string_view what) {
  for (const auto& item : items) {
    // nlohmann::json refuses (throws on) invalid UTF-8; refuse it here, as a value.
    if (!core::is_valid_utf8(item)) {
      return core::fail(core::ErrorKind::invalid_input,
                        fmt::format("a {} is not valid UTF-8", what), "invalid UTF-8");
    }
  }
  return nlohmann::json(items).dump();
}

core::Result<std::vector<std::string>> decode_strings(const std::string& text) {
  auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_array()) {
    return core::fail(core::ErrorKind::integrity, sqlite::detail::kStoreIntegrity,
                      "stored string list is not a JSON array");
  }
  std::vector<std::string> out;
  out.reserve(json.size());
  for (const auto& item : json) {
    if (!item.is_string()) {
      return core::fail(core::ErrorKind::integrity, sqlite::detail::kStoreIntegrity,
                        "stored string list holds a non-string");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::span<const std::uint8_t> as_span(const TokenNonce& nonce) { return nonce; }

// Columns: seq, reference, form_id, form_version, received_at, size, recipients.
core::Result<SubmissionMeta> read_meta(const Query& q) {
  SubmissionMeta meta;
  meta.seq = q.column_int64(0);
  meta.reference = q.column_text(1);
  meta.form_id = q.column_text(2);
  meta.form_version = static_cast<int>(q.column_int64(3));
  meta.received_at = q.column_int64(4);
  meta.size = static_cast<std::size_t>(q.column_int64(5));
  auto recipients = decode_strings(q.column_text(6));
  if (!recipients) return forward(std::move(recipients).error());
  meta.recipients = std::move(*recipients);
  return meta;
}

// Columns: form_id, version, declaration, enabled, created_at, granted_recipients.
core::Result<FormVersion> read_form(const Query& q) {
  FormVersion form;
  form.form_id = q.column_text(0);
  form.version = static_cast<int>(q.column_int64(1));
  form.declaration = q.column_text(2);
  form.enabled = q.column_int64(3) != 0;
  form.created_at = q.column_int64(4);
  auto granted = decode_strings(q.column_text(5));
  if (!granted) return forward(std::move(granted).error());
  form.granted_recipients = std::move(*granted);
  return form;
}

// Columns: fingerprint, armored, user_ids, created_at, expires_at, imported_at.
core::Result<KeyRecord> read_key(const Query& q) {
  KeyRecord key;
  key.fingerprint = q.column_text(0);
  key.armored = q.column_text(1);
  auto user_ids = decode_strings(q.column_text(2));
  if (!user_ids) return forward(std::move(user_ids).error());
  key.user_ids = std::move(*user_ids);
  key.created_at = q.column_int64(3);
  if (!q.column_is_null(4)) key.expires_at = q.column_int64(4);
  key.imported_at = q.column_int64(5);
  return key;
}

// Columns: seq, time, actor, action, object, source, outcome, prev_hash, hash.
AuditRow read_audit(const Query& q) {
  AuditRow row;
  row.seq = q.column_int64(0);
  row.time = q.column_int64(1);
  row.actor = q.column_text(2);
  row.action = q.column_text(3);
  row.object = q.column_text(4);
  row.source = q.column_text(5);
  row.outcome = q.column_text(6);
  row.prev_hash = q.column_text(7);
  row.hash = q.column_text(8);
  return row;
}

core::Result<std::optional<FormVersion>> read_one_form(Query& q) {
  int rc = q.step();
  if (rc == SQLITE_DONE) return std::optional<FormVersion>();
  if (rc != SQLITE_ROW) return forward(q.error(rc, "read form"));
  auto form = read_form(q);
  if (!form) return forward(std::move(form).error());
  return std::optional<FormVersion>(std::move(*form));
}

const char* status_text(UserStatus status) {
  switch (status) {
    case UserStatus::invited:
      return "invited";
    case UserStatus::active:
      return "active";
    case UserStatus::disabled:
      return "disabled";
  }
  return "invalid";  // refused by the table's CHECK
}

// Columns: id, email, roles, status, password_hash, totp_sealed, totp_confirmed,
// totp_last_step, key_fingerprint, private_key_armored, created_at.
core::Result<UserRecord> read_user(const Query& q) {
  UserRecord user;
  user.id = q.column_int64(0);
  user.email = q.column_text(1);
  user.roles = static_cast<unsigned>(q.column_int64(2));  // CHECK keeps it in range
  const std::string status = q.column_text(3);
  if (status == "invited") {
    user.status = UserStatus::invited;
  } else if (status == "active") {
    user.status = UserStatus::active;
  } else if (status == "disabled") {
    user.status = UserStatus::disabled;
  } else {
    // Fail closed: a status we do not know must not read as "active".
    return core::fail(core::ErrorKind::integrity, sqlite::detail::kStoreIntegrity,
                      "unknown user status");
  }
  if (!q.column_is_null(4)) user.password_hash = q.column_text(4);
  user.totp_sealed = q.column_blob(5);
  user.totp_confirmed = q.column_int64(6) != 0;
  user.totp_last_step = q.column_int64(7);
  if (!q.column_is_null(8)) user.key_fingerprint = q.column_text(8);
  if (!q.column_is_null(9)) user.private_key_armored = q.column_text(9);
  user.created_at = q.column_int64(10);
  return user;
}

core::Result<std::optional<UserRecord>> read_one_user(Query& q) {
  int rc = q.step();
  if (rc == SQLITE_DONE) return std::optional<UserRecord>();
  if (rc != SQLITE_ROW) return forward(q.error(rc, "read user"));
  auto user = read_user(q);
  if (!user) return forward(std::move(user).error());
  return std::optional<UserRecord>(std::move(*user));
}

// Columns: id_hash, user_id, stage, csrf_token, created_at, last_seen_at, source.
SessionRecord read_session(const Query& q) {
  SessionRecord session;
  session.id_hash = q.column_text(0);
  session.user_id = q.column_int64(1);
  session.stage = q.column_text(2);
  session.csrf_token = q.column_text(3);
  session.created_at = q.column_int64(4);
  session.last_seen_at = q.column_int64(5);
  session.source = q.column_text(6);
  return session;
}

// Columns: user_id, form_id, granted_at, granted_by.
GrantRecord read_grant(const Query& q) {
  return GrantRecord{q.column_int64(0), q.column_text(1), q.column_int64(2), q.column_int64(3)};
}

// Runs a write whose constraint failures are the caller's to hear about: a duplicate key
// becomes `conflict` with `duplicate`, a missing parent row (unknown user or form) becomes
// `not_found` with `missing`. Anything else maps as every other SQLite error.
core::Status run_write(Query& q, std::string_view what, const char* duplicate,
                       const char* missing) {
  int rc = q.step();
  while (rc == SQLITE_ROW) rc = q.step();
  if (rc == SQLITE_DONE) return core::ok();
  if ((rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) &&
      duplicate != nullptr) {
    return core::fail(core::ErrorKind::conflict, duplicate, fmt::format("{}: duplicate", what));
  }
  if (rc == SQLITE_CONSTRAINT_FOREIGNKEY && missing != nullptr) {
    return core::fail(core::ErrorKind::not_found, missing,
                      fmt::format("{}: unknown parent row", what));
  }
  return core::fail(q.error(rc, what));
}

void bind_optional(Query& q, int index, const std::optional<std::int64_t>& value) {
  if (value) {
    q.bind(index, *value);
  } else {
    q.bind_null(index);
  }
}

void bind_optional(Query& q, int index, const std::optional<std::string>& value) {
  if (value) {
    q.bind(index, *value);
  } else {
    q.bind_null(index);
  }
}

// SQLite's LIMIT takes a signed 64-bit value.
std::int64_t sql_limit(std::size_t limit) {
  constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(std::min(limit, kMax));
}

core::Error cannot_open(const std::string& path, int err) {
  return core::Error(core::ErrorKind::unavailable, kCannotOpen,
                     fmt::format("{}: {}", core::log_safe(path), std::strerror(err)));
}

// Creates the database file with mode 0600 before SQLite sees it, so that neither the
// file nor its -wal/-shm companions (SQLite gives them the database file's mode) are ever
// readable by others, whatever the umask.
core::Status create_file_0600(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    int rc = ::fchmod(fd, 0600);  // a umask may have removed the owner's bits
    int err = errno;
    ::close(fd);
    if (rc != 0) return core::fail(cannot_open(path, err));
    return core::ok();
  }
  if (errno != EEXIST) return core::fail(cannot_open(path, errno));
  return core::ok();  // an existing database keeps the mode its operator gave it
}

}  // namespace

core::Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path,
                                                       const SqliteOptions& options) {
  auto store = SqliteStore::open_blocking(path, options);
  if (!store) return forward(std::move(store).error());
  return std::unique_ptr<Store>(std::move(*store));
}

core::Result<std::unique_ptr<SqliteStore>> SqliteStore::open_blocking(
    const std::string& path, const SqliteOptions& options) {
  if (sqlite3_threadsafe() == 0) {
    return core::fail(core::ErrorKind::internal, sqlite::detail::kStoreInternal,
                      "SQLite was built without thread support");
  }
  if (auto s = create_file_0600(path); !s) return forward(std::move(s).error());

  auto admin = Connection::open_blocking(path);
  if (!admin) return forward(std::move(admin).error());
  // Stored in the file: set once, every later connection finds WAL already on.
  auto mode = (*admin)->pragma_text("PRAGMA journal_mode = WAL");
  if (!mode) return forward(std::move(mode).error());
  if (*mode != "wal") {
    return core::fail(core::ErrorKind::unavailable, kCannotOpen,
                      fmt::format("journal_mode WAL refused (got {})", core::log_safe(*mode)));
  }
  if (auto s = sqlite::detail::migrate_blocking(**admin); !s) return forward(std::move(s).error());

  auto writer = Connection::open_blocking(path);
  if (!writer) return forward(std::move(writer).error());
  auto reader = Connection::open_blocking(path);
  if (!reader) return forward(std::move(reader).error());
  if (auto s = (*reader)->exec("PRAGMA query_only = ON"); !s) return forward(std::move(s).error());

  return std::unique_ptr<SqliteStore>(
      new SqliteStore(std::move(*writer), std::move(*admin), std::move(*reader), options));
}

SqliteStore::SqliteStore(std::unique_ptr<Connection> writer, std::unique_ptr<Connection> admin,
                         std::unique_ptr<Connection> reader, const SqliteOptions& options)
    : options_(options),
      writer_db_(std::move(writer)),
      admin_db_(std::move(admin)),
      reader_db_(std::move(reader)),
      last_prune_(std::chrono::steady_clock::now()),
      writer_([this] { writer_loop(); }) {}

SqliteStore::~SqliteStore() { close(); }

void SqliteStore::close() {
  {
    std::lock_guard lock(queue_mutex_);
    closing_ = true;
  }
  queue_cv_.notify_all();
  if (std::this_thread::get_id() == writer_.get_id()) return;  // from a `done`: cannot join
  std::lock_guard lock(join_mutex_);
  if (writer_.joinable()) writer_.join();
}

// ---- group commit ----

void SqliteStore::append_submission(NewSubmission submission,
                                    std::function<void(core::Status)> done) {
  auto recipients = encode_strings(submission.recipients, "recipient fingerprint");
  if (!recipients) {
    done(forward(std::move(recipients).error()));
    return;
  }
  const char* refused = nullptr;
  {
    std::lock_guard lock(queue_mutex_);
    if (closing_) {
      refused = "store closed";
    } else if (queue_.size() >= options_.max_pending) {
      // Back-pressure: beyond this the disk cannot keep up; waiting longer only grows
      // memory and latency, so the submitter is asked to retry instead.
      refused = "too many submissions waiting for the writer";
    } else {
      queue_.push_back(Pending{std::move(submission), std::move(*recipients), std::move(done)});
    }
  }
  if (refused == nullptr) {
    queue_cv_.notify_one();
    return;
  }
  done(core::fail(core::ErrorKind::unavailable, kNotStored, refused));
}

void SqliteStore::writer_loop() {
  const std::size_t max_batch = std::max<std::size_t>(options_.max_batch, 1);
  std::vector<Pending> batch;
  for (;;) {
    {
      std::unique_lock lock(queue_mutex_);
      queue_cv_.wait(lock, [&] { return closing_ || (!paused_ && !queue_.empty()); });
      if (queue_.empty()) return;  // closing, and everything accepted is answered
      while (!queue_.empty() && batch.size() < max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    commit_batch(batch);
    batch.clear();
    maybe_prune();
  }
}

void SqliteStore::commit_batch(std::vector<Pending>& batch) {
  std::vector<core::Status> results(batch.size());
  {
    std::lock_guard lock(writer_db_mutex_);
    auto written = write_batch_locked(batch, results);
    if (written) {
      transactions_.fetch_add(1, std::memory_order_relaxed);
      std::int64_t stored = 0;
      for (const auto& r : results) stored += r ? 1 : 0;
      submissions_.fetch_add(stored, std::memory_order_relaxed);
    } else {
      if (writer_db_->in_transaction()) {
        if (auto q = writer_db_->query(sql::kRollback); q) {
          if (auto s = q->run("rollback"); !s) {
            spdlog::error("store: rollback failed: {}", core::log_safe(s.error().detail()));
          }
        }
      }
      failed_batches_.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("store: a batch of {} submissions was not stored: {}", batch.size(),
                    core::log_safe(written.error().detail()));
      // Nothing of the batch is stored, not even what had been answered `conflict`
      // inside it (that conflict may have come from an item now rolled back).
      for (auto& r : results) {
        r = core::fail(core::ErrorKind::unavailable, kNotStored, written.error().detail());
      }
    }
  }
  // Only now, after COMMIT returned (durable) or the batch was abandoned.
  for (std::size_t i = 0; i < batch.size(); ++i) {
    try {
      batch[i].done(std::move(results[i]));
    } catch (const std::exception& e) {
      // A bug in a callback must not kill the writer and strand every later submission.
      spdlog::error("store: a submission callback threw: {}", core::log_safe(e.what()));
    } catch (...) {
      spdlog::error("store: a submission callback threw");
    }
  }
}

core::Status SqliteStore::write_batch_locked(std::vector<Pending>& batch,
                                             std::vector<core::Status>& results) {
  Connection& db = *writer_db_;
  auto run = [&db](const char* statement) -> core::Status {
    auto q = db.query(statement);
    if (!q) return forward(std::move(q).error());
    return q->run(statement);
  };
  if (auto s = run(sql::kBeginImmediate); !s) return s;

  for (std::size_t i = 0; i < batch.size(); ++i) {
    const NewSubmission& sub = batch[i].submission;
    if (auto s = run(sql::kSavepoint); !s) return s;

    // Undoes this item only; the rest of the batch goes on.
    auto refuse_item = [&](core::Error error) -> core::Status {
      if (auto s = run(sql::kRollbackToSavepoint); !s) return s;
      if (auto s = run(sql::kRelease); !s) return s;
      results[i] = forward(std::move(error));
      return core::ok();
    };

    int rc;
    {
      auto q = db.query(sql::kInsertToken);
      if (!q) return forward(std::move(q).error());
      q->bind_blob_static(1, as_span(sub.token_nonce)).bind(2, sub.token_expires_at);
      rc = q->step();
      if (rc != SQLITE_DONE && rc != SQLITE_CONSTRAINT_PRIMARYKEY) {
        return forward(q->error(rc, "insert token"));
      }
    }
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
      if (auto s = refuse_item(core::Error(core::ErrorKind::conflict, kAlreadySubmitted,
                                           "token nonce already used"));
          !s) {
        return s;
      }
      continue;
    }

    {
      auto q = db.query(sql::kInsertSubmission);
      if (!q) return forward(std::move(q).error());
      q->bind(1, sub.reference)
          .bind(2, sub.form_id)
          .bind(3, std::int64_t{sub.form_version})
          .bind(4, sub.received_at)
          .bind_blob_static(5, sub.ciphertext)
          .bind(6, batch[i].recipients_json);
      rc = q->step();
      if (rc != SQLITE_DONE && (rc & 0xff) != SQLITE_CONSTRAINT) {
        return forward(q->error(rc, "insert submission"));
      }
    }
    if (rc != SQLITE_DONE) {
      // A duplicate reference or an unknown form version: a bug of the caller, not a
      // replay and not a disk problem. Refuse this item, keep the others.
      std::string detail = rc == SQLITE_CONSTRAINT_FOREIGNKEY ? "unknown form version"
                           : rc == SQLITE_CONSTRAINT_UNIQUE   ? "duplicate reference"
                                                              : "constraint failed";
      if (auto s = refuse_item(core::Error(core::ErrorKind::internal, kRejected, detail)); !s) {
        return s;
      }
      continue;
    }
    if (auto s = run(sql::kRelease); !s) return s;
  }
  // WAL + synchronous=FULL: this fsyncs the WAL; after it returns the batch is durable.
  return run(sql::kCommit);
}

void SqliteStore::maybe_prune() {
  ++commits_since_prune_;
  auto now = std::chrono::steady_clock::now();
  if (commits_since_prune_ < kPruneEveryCommits && now - last_prune_ < kPruneEvery) return;
  commits_since_prune_ = 0;
  last_prune_ = now;
  std::lock_guard lock(writer_db_mutex_);
  if (auto s = prune_locked(core::unix_seconds(std::chrono::system_clock::now())); !s) {
    // Housekeeping only: the table grows until the next attempt; nothing is lost.
    spdlog::warn("store: pruning used tokens failed: {}", core::log_safe(s.error().detail()));
  }
}

core::Status SqliteStore::prune_locked(std::int64_t now) {
  auto q = writer_db_->query(sql::kPruneTokens);
  if (!q) return forward(std::move(q).error());
  q->bind(1, now - kPruneGraceSeconds);
  return q->run("prune used tokens");
}

// ---- reads ----

core::Result<bool> SqliteStore::token_used_blocking(const TokenNonce& nonce) {
  std::lock_guard lock(reader_mutex_);
  auto q = reader_db_->query(sql::kTokenUsed);
  if (!q) return forward(std::move(q).error());
  q->bind_blob_static(1, as_span(nonce));
  int rc = q->step();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return forward(q->error(rc, "token used"));
}

core::Result<std::optional<SubmissionMeta>> SqliteStore::find_submission_blocking(
    const std::string& form_id, const std::string& reference) {
  std::lock_guard lock(reader_mutex_);
  auto q = reader_db_->query(sql::kFindSubmission);
  if (!q) return forward(std::move(q).error());
  q->bind(1, form_id).bind(2, reference);
  int rc = q->step();
  if (rc == SQLITE_DONE) return std::optional<SubmissionMeta>();
  if (rc != SQLITE_ROW) return forward(q->error(rc, "find submission"));
  auto meta = read_meta(*q);
  if (!meta) return forward(std::move(meta).error());
  return std::optional<SubmissionMeta>(std::move(*meta));
}

core::Result<std::vector<StoredSubmission>> SqliteStore::list_submissions_blocking(
    const std::string& form_id, const std::optional<std::string>& since_reference,
    std::size_t limit) {
  std::lock_guard lock(reader_mutex_);
  // One snapshot for both statements.
  auto tx = Transaction::begin(*reader_db_, /*immediate=*/false);
  if (!tx) return forward(std::move(tx).error());

  std::int64_t after_seq = 0;
  if (since_reference) {
    auto q = reader_db_->query(sql::kSeqOfReference);
    if (!q) return forward(std::move(q).error());
    q->bind(1, form_id).bind(2, *since_reference);
    int rc = q->step();
    if (rc == SQLITE_DONE) {
      return core::fail(core::ErrorKind::not_found, kNoSuchReference,
                        "since reference not found for this form");
    }
    if (rc != SQLITE_ROW) return forward(q->error(rc, "seq of reference"));
    after_seq = q->column_int64(0);
  }

  std::vector<StoredSubmission> out;
  {
    auto q = reader_db_->query(sql::kListSubmissions);
    if (!q) return forward(std::move(q).error());
    q->bind(1, form_id).bind(2, after_seq).bind(3, sql_limit(limit));
    int rc;
    while ((rc = q->step()) == SQLITE_ROW) {
      auto meta = read_meta(*q);
      if (!meta) return forward(std::move(meta).error());
      out.push_back(StoredSubmission{std::move(*meta), q->column_blob(7)});
    }
    if (rc != SQLITE_DONE) return forward(q->error(rc, "list submissions"));
  }
  if (auto s = tx->commit(); !s) return forward(std::move(s).error());
  return out;
}

core::Result<std::size_t> SqliteStore::count_submissions_blocking(const std::string& form_id) {
  std::lock_guard lock(reader_mutex_);
  auto q = reader_db_->query(sql::kCountSubmissions);
  if (!q) return forward(std::move(q).error());
  q->bind(1, form_id);
  int rc = q->step();
  if (rc != SQLITE_ROW) return forward(q->error(rc, "count submissions"));
  return static_cast<std::size_t>(q->column_int64(0));
}

// ---- forms ----

core::Status SqliteStore::bump_generation_locked() {
  auto q = admin_db_->query(sql::kBumpConfigGeneration);
  if (!q) return forward(std::move(q).error());
  return q->run("bump config generation");
}

core::Result<int> SqliteStore::add_form_version_blocking(
    const std::string& form_id, const std::string& declaration, std::int64_t now,
    const std::vector<std::string>& granted_recipients) {
  auto granted = encode_strings(granted_recipients, "granted recipient fingerprint");
  if (!granted) return forward(std::move(granted).error());
  std::lock_guard lock(admin_mutex_);
  auto tx = Transaction::begin(*admin_db_, /*immediate=*/true);
  if (!tx) return forward(std::move(tx).error());
  {
    auto q = admin_db_->query(sql::kEnableFormState);
    if (!q) return forward(std::move(q).error());
    q->bind(1, form_id);
    if (auto s = q->run("form state"); !s) return forward(std::move(s).error());
  }
  std::int64_t version = 0;
  {
    auto q = admin_db_->query(sql::kNextFormVersion);
    if (!q) return forward(std::move(q).error());
    q->bind(1, form_id);
    int rc = q->step();
    if (rc != SQLITE_ROW) return forward(q->error(rc, "next form version"));
    version = q->column_int64(0);
  }
  if (version > std::numeric_limits<int>::max()) {
    return core::fail(core::ErrorKind::invalid_input, "this form has too many versions",
                      "form version overflow");
  }
  {
    auto q = admin_db_->query(sql::kInsertForm);
    if (!q) return forward(std::move(q).error());
    q->bind(1, form_id).bind(2, version).bind(3, declaration).bind(4, now).bind(5, *granted);
    if (auto s = q->run("insert form"); !s) return forward(std::move(s).error());
  }
  if (auto s = bump_generation_locked(); !s) return forward(std::move(s).error());
  if (auto s = tx->commit(); !s) return forward(std::move(s).error());
  return static_cast<int>(version);
}

core::Result<std::vector<FormVersion>> SqliteStore::latest_forms_blocking() {
  std::lock_guard lock(reader_mutex_);
  auto q = reader_db_->query(sql::kLatestForms);
  if (!q) return forward(std::move(q).error());
  std::vector<FormVersion> out;
  int rc;
  while ((rc = q->step()) == SQLITE_ROW) {
    auto form = read_form(*q);
    if (!form) return forward(std::move(form).error());
    out.push_back(std::move(*form));
  }
  if (rc != SQLITE_DONE) return forward(q->error(rc, "latest forms"));
  return out;
}

core::Result<std::optional<FormVersion>> SqliteStore::latest_form_blocking(
    const std::string& form_id) {
  std::lock_guard lock(reader_mutex_);
  auto q = reader_db_->query(sql::kLatestForm);
  if (!q) return forward(std::move(q).error());
  q->bind(1, form_id);
  return read_one_form(*q);
}

core::Result<std::optional<FormVersion>> SqliteStore::form_version_blocking(
    const std::string& form_id, int version) {
  std::lock_guard lock(reader_mutex_);
  auto q = reader_db_->query(sql::kFormVersion);
  if (!q) return forward(std::move(q).error());
  q->bind(1, form_id).bind(2, std::int64_t{version});
  return read_one_form(*q);
}

core::Status SqliteStore::set_form_enabled_blocking(const std::string& form_id, bool enabled) {
  std::lock_guard lock(admin_mutex_);
  auto tx = Transaction::begin(*admin_db_, /*immediate=*/true);
  if (!tx) return forward(std::move(tx).error());
  {
    auto q = admin_db_->query(sql::kSetFormEnabled);
    if (!q) return forward(std::move(q).error());
    q->bind(1, std::int64_t{enabled ? 1 : 0}).bind(2, form_id);
    if (auto s = q->run("set form enabled"); !s) return s;
  }
  if (admin_db_->changes() == 0) {
    return core::fail(core::ErrorKind::not_found, kNoSuchForm, "set_form_enabled");
  }
  if (auto s = bump_generation_locked(); !s) return s;
  return tx->commit();
}

// ---- keys ----

core::Status SqliteStore::put_key_blocking(const KeyRecord& key) {
  auto user_ids = encode_strings(key.user_ids, "key user id");
  if (!user_ids) return forward(std::move(user_ids).error());
  std::lock_guard lock(admin_mutex_);
  auto tx = Transaction::begin(*admin_db_, /*immediate=*/true);
  if (!tx) return forward(std::move(tx).error());
  {
    auto q = admin_db_->query(sql::kPutKey);
    if (!q) return forward(std::move(q).error());
    q->bind(1, key.fingerprint)
        .bind(2, key.armored)
        .bind(3, *user_ids)
        .bind(4, key.created_at)
        .bind(6, key.imported_at);
    if (key.expires_at) {
      q->bind(5, *key.expires_at);
    } else {
      q->bind_null(5);
    }
    if (auto s = q->run("put key"); !s) return s;
  }
  if (auto s = bump_generation_locked(); !s) return s;
  return tx->commit();
}

core::Result<std::vector<KeyRecord>> SqliteStore::list_keys_blocking() {
  std::lock_guard lock(reader_mutex_);
  auto q = reader_db_->query(sql::kListKeys);
  if (!q) return forward(std::move(q).error());
  std::vector<KeyRecord> out;
  int rc;
  while ((rc = q->step()) == SQLITE_ROW) {
    auto key = read_key(*q);
    if (!key) return forward(std::move(key).error());
    out.push_back(std::move(*key));
  }
  if (rc != SQLITE_DONE) return forward(q->error(rc, "list keys"));
  return out;
}

core::Result<std::optional<KeyRecord>> SqliteStore::find_key_blocking(
    const std::string& fingerprint) {
  std::lock_guard lock(reader_mutex_);
  auto q = reader_db_->query(sql::kFindKey);
  if (!q) return forward(std::move(q).error());
  q->bind(1, fingerprint);
  int rc = q->step();
  if (rc == SQLITE_DONE) return std::optional<KeyRecord>();
  if (rc != SQLITE_ROW) return forward(q->error(rc, "find key"));
  auto key = read_key(*q);
  if (!key) return forward(std::move(key).error());
  return std::optional<KeyRecord>(std::move(*key));
}

core::Result<std::int64_t> SqliteStore::config_generation_blocking() {
  std::lock_guard lock(reader_mutex_);
  auto q = reader_db_->query(sql::kConfigGeneration);
  if (!q) return forward(std::move(q).error());
  int rc = q->step();
  if (rc == SQLITE_DONE) {
    return core::fail(core::ErrorKind::integrity, sqlite::detail::kStoreIntegrity,
                      "config_generation row missing");
  }
  if (rc != SQLITE_ROW) return forward(q->error(rc, "config generation"));
  return q->column_int64(0);
}

// ---- audit ----

core::Result<AuditRow> SqliteStore::append_audit_blocking(
    const std::function<AuditRow(const std::optional<AuditRow>& last)>& make) {
  std::lock_guard lock(admin_mutex_);
  // The write lock is taken before the last row is read: no other process can append in
  // between, so the new row's prev_hash is the real last hash.
  auto tx = Transaction::begin(*admin_db_, /*immediate=*/true);
  if (!tx) return forward(std::move(tx).error());
  std::optional<AuditRow> last;
  {
    auto q = admin_db_->query(sql::kLastAudit);
    if (!q) return forward(std::move(q).error());
    int rc = q->step();
    if (rc == SQLITE_ROW) {
      last = read_audit(*q);
    } else if (rc != SQLITE_DONE) {
      return forward(q->error(rc, "last audit"));
    }
  }
  AuditRow row = make(last);
  {
    auto q = admin_db_->query(sql::kInsertAudit);
    if (!q) return forward(std::move(q).error());
    q->bind(1, row.seq)
        .bind(2, row.time)
        .bind(3, row.actor)
        .bind(4, row.action)
        .bind(5, row.object)
        .bind(6, row.source)
        .bind(7, row.outcome)
        .bind(8, row.prev_hash)
        .bind(9, row.hash);
    int rc = q->step();
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
      return core::fail(core::ErrorKind::conflict, sqlite::detail::kStoreInternal,
                        "audit seq already used");
    }
    if (rc != SQLITE_DONE) return forward(q->error(rc, "insert audit"));
  }
  if (auto s = tx->commit(); !s) return forward(std::move(s).error());
  return row;
}

core::Result<std::vector<AuditRow>> SqliteStore::list_audit_blocking(std::int64_t after_seq,
                                                                     std::size_t limit) {
  std::lock_guard lock(reader_mutex_);
  auto q = reader_db_->query(sql::kListAudit);
  if (!q) return forward(std::move(q).error());
  q->bind(1, after_seq).bind(2, sql_limit(limit));
  std::vector<AuditRow> out;
  int rc;
  while ((rc = q->step()) == SQLITE_ROW) out.push_back(read_audit(*q));
  if (rc != SQLITE_DONE) return forward(q->error(rc, "list audit"));
  return out;
}

core::Result<std::optional<AuditRow>> SqliteStore::last_audit_blocking() {
  std::lock_guard lock(reader_mutex_);
  auto q = reader_db_->query(sql::kLastAudit);
  if (!q) return forward(std::move(q).error());
  int rc = q->step();
  if (rc == SQLITE_DONE) return std::optional<AuditRow>();
  if (rc != SQLITE_ROW) return forward(q->error(rc, "last audit"));
  return std::optional<AuditRow>(read_audit(*q));
}

core::Result<std::int64_t> SqliteStore::audit_count_blocking() {
  std::lock_guard lock(reader_mutex_);
  auto q = reader_db_->query(sql::kCountAudit);
  if (!q) return forward(std::move(q).error());
  int rc = q->step();
  if (rc != SQLITE_ROW) return forward(q->error(rc, "count audit"));
  return q->column_int64(0);
}

core::Status SqliteStore::add_audit_checkpoint_blocking(const AuditCheckpointRow& checkpoint) {
  std::lock_guard lock(admin_mutex_);
  auto q = admin_db_->query(sql::kInsertAuditCheckpoint);
  if (!q) return forward(std::move(q).error());
  q->bind(1, checkpoint.count)
      .bind(2, checkpoint.head_hash)
      .bind(3, checkpoint.time)
      .bind(4, checkpoint.signature);
  return q->run("insert audit checkpoint");
}

core::Result<std::vector<AuditCheckpointRow>> SqliteStore::list_audit_checkpoints_blocking() {
  std::lock_guard lock(reader_mutex_);
  auto q = reader_db_->query(sql::kListAuditCheckpoints);
  if (!q) return forward(std::move(q).error());
  std::vector<AuditCheckpointRow> out;
  int rc;
  while ((rc = q->step()) == SQLITE_ROW) {
    out.push_back(AuditCheckpointRow{q->column_int64(0), q->column_text(1), q->column_int64(2),
                                     q->column_text(3)});
  }
  if (rc != SQLITE_DONE) return forward(q->error(rc, "list audit checkpoints"));
  return out;
}

// ---- portal: users ----

core::Result<std::int64_t> SqliteStore::create_user_blocking(const std::string& email,
                                                             unsigned roles, std::int64_t now) {
  std::lock_guard lock(admin_mutex_);
  auto tx = Transaction::begin(*admin_db_, /*immediate=*/true);
  if (!tx) return forward(std::move(tx).error());
  std::int64_t id = 0;
  {
    auto q = admin_db_->query(sql::kInsertUser);
    if (!q) return forward(std::move(q).error());
    q->bind(1, email).bind(2, std::int64_t{roles}).bind(3, now);
    int rc = q->step();
    if (rc == SQLITE_CONSTRAINT_UNIQUE) {
      return core::fail(core::ErrorKind::conflict, kUserExists, "create user: e-mail exists");
    }
    if (rc != SQLITE_ROW) return forward(q->error(rc, "create user"));
    id = q->column_int64(0);
    if (rc = q->step(); rc != SQLITE_DONE) return forward(q->error(rc, "create user"));
  }
  if (auto s = tx->commit(); !s) return forward(std::move(s).error());
  return id;
}

core::Result<std::optional<UserRecord>> SqliteStore::find_user_blocking(std::int64_t id) {
  std::lock_guard lock(reader_mutex_);
  auto q = reader_db_->query(sql::kFindUser);
  if (!q) return forward(std::move(q).error());
  q->bind(1, id);
  return read_one_user(*q);
}

core::Result<std::optional<UserRecord>> SqliteStore::find_user_by_email_blocking(
    const std::string& email) {
  std::lock_guard lock(reader_mutex_);
  auto q = reader_db_->query(sql::kFindUserByEmail);
  if (!q) return forward(std::move(q).error());
  q->bind(1, email);
  return read_one_user(*q);
}

core::Result<std::vector<UserRecord>> SqliteStore::list_users_blocking() {
  std::lock_guard lock(reader_mutex_);
  auto q = reader_db_->query(sql::kListUsers);
  if (!q) return forward(std::move(q).error());
  std::vector<UserRecord> out;
  int rc;
  while ((rc = q->step()) == SQLITE_ROW) {
    auto user = read_user(*q);
    if (!user) return forward(std::move(user).error());
    out.push_back(std::move(*user));
  }
  if (rc != SQLITE_DONE) return forward(q->error(rc, "list users"));
  return out;
}

core::Status SqliteStore::update_user_blocking(const UserRecord& user) {
  std::lock_guard lock(admin_mutex_);
  auto tx = Transaction::begin(*admin_db_, /*immediate=*/true);
  if (!tx) return forward(std::move(tx).error());
  {
    auto q = admin_db_->query(sql::kUpdateUser);
    if (!q) return forward(std::move(q).error());
    q->bind(1, std::int64_t{user.roles}).bind(2, status_text(user.status));
    bind_optional(*q, 3, user.password_hash);
    if (user.totp_sealed.empty()) {
      q->bind_null(4);
    } else {
      q->bind_blob_static(4, user.totp_sealed);
    }
    q->bind(5, std::int64_t{user.totp_confirmed ? 1 : 0}).bind(6, user.totp_last_step);
    bind_optional(*q, 7, user.key_fingerprint);
    bind_optional(*q, 8, user.private_key_armored);
    q->bind(9, user.id);
    if (auto s = q->run("update user"); !s) return s;
  }
  if (admin_db_->changes() == 0) {
    return core::fail(core::ErrorKind::not_found, kNoSuchUser, "update_user");
  }
  return tx->commit();
}

core::Result<bool> SqliteStore::advance_totp_step_blocking(std::int64_t user_id,
                                                           std::int64_t step) {
  std::lock_guard lock(admin_mutex_);
  auto tx = Transaction::begin(*admin_db_, /*immediate=*/true);
  if (!tx) return forward(std::move(tx).error());
  {
    auto q = admin_db_->query(sql::kAdvanceTotpStep);
    if (!q) return forward(std::move(q).error());
    q->bind(1, step).bind(2, user_id);
    if (auto s = q->run("advance totp step"); !s) return forward(std::move(s).error());
  }
  // The guard is in the UPDATE itself: of two requests with the same code, one changes
  // the row and the other finds the step already taken.
  const bool advanced = admin_db_->changes() == 1;
  if (auto s = tx->commit(); !s) return forward(std::move(s).error());
  return advanced;
}

// ---- portal: enrolment links, recovery codes ----

core::Status SqliteStore::add_enrolment_blocking(const std::string& token_hash,
                                                 std::int64_t user_id, std::int64_t expires_at,
                                                 std::int64_t now) {
  std::lock_guard lock(admin_mutex_);
  auto tx = Transaction::begin(*admin_db_, /*immediate=*/true);
  if (!tx) return forward(std::move(tx).error());
  {
    auto q = admin_db_->query(sql::kInsertEnrolment);
    if (!q) return forward(std::move(q).error());
    q->bind(1, token_hash).bind(2, user_id).bind(3, expires_at).bind(4, now);
    if (auto s = run_write(*q, "add enrolment", kEnrolmentExists, kNoSuchUser); !s) return s;
  }
  return tx->commit();
}

core::Result<std::int64_t> SqliteStore::consume_enrolment_blocking(const std::string& token_hash,
                                                                   std::int64_t now) {
  std::lock_guard lock(admin_mutex_);
  auto tx = Transaction::begin(*admin_db_, /*immediate=*/true);
  if (!tx) return forward(std::move(tx).error());
  {
    auto q = admin_db_->query(sql::kConsumeEnrolment);
    if (!q) return forward(std::move(q).error());
    q->bind(1, now).bind(2, token_hash);
    if (auto s = q->run("consume enrolment"); !s) return forward(std::move(s).error());
  }
  if (admin_db_->changes() != 1) {
    return core::fail(core::ErrorKind::not_found, kEnrolmentInvalid,
                      "enrolment link unknown, used or expired");
  }
  std::int64_t user_id = 0;
  {
    auto q = admin_db_->query(sql::kEnrolmentUser);
    if (!q) return forward(std::move(q).error());
    q->bind(1, token_hash);
    int rc = q->step();
    if (rc != SQLITE_ROW) return forward(q->error(rc, "enrolment user"));
    user_id = q->column_int64(0);
  }
  if (auto s = tx->commit(); !s) return forward(std::move(s).error());
  return user_id;
}

core::Status SqliteStore::replace_recovery_codes_blocking(std::int64_t user_id,
                                                          const std::vector<std::string>& hashes) {
  std::lock_guard lock(admin_mutex_);
  auto tx = Transaction::begin(*admin_db_, /*immediate=*/true);
  if (!tx) return forward(std::move(tx).error());
  {
    auto q = admin_db_->query(sql::kDeleteRecoveryCodes);
    if (!q) return forward(std::move(q).error());
    q->bind(1, user_id);
    if (auto s = q->run("delete recovery codes"); !s) return s;
  }
  for (const auto& hash : hashes) {
    auto q = admin_db_->query(sql::kInsertRecoveryCode);
    if (!q) return forward(std::move(q).error());
    q->bind(1, user_id).bind(2, hash);
    // A repeated hash is a caller bug: refusing it (nothing replaced) beats silently
    // storing fewer codes than the user was shown.
    if (auto s = run_write(*q, "insert recovery code", kDuplicateRecoveryCode, kNoSuchUser); !s) {
      if (s.error().kind() == core::ErrorKind::conflict) {
        return core::fail(core::ErrorKind::invalid_input, kDuplicateRecoveryCode,
                          s.error().detail());
      }
      return s;
    }
  }
  return tx->commit();
}

core::Result<bool> SqliteStore::use_recovery_code_blocking(std::int64_t user_id,
                                                           const std::string& hash,
                                                           std::int64_t now) {
  std::lock_guard lock(admin_mutex_);
  auto tx = Transaction::begin(*admin_db_, /*immediate=*/true);
  if (!tx) return forward(std::move(tx).error());
  {
    auto q = admin_db_->query(sql::kUseRecoveryCode);
    if (!q) return forward(std::move(q).error());
    q->bind(1, now).bind(2, user_id).bind(3, hash);
    if (auto s = q->run("use recovery code"); !s) return forward(std::move(s).error());
  }
  const bool used = admin_db_->changes() == 1;
  if (auto s = tx->commit(); !s) return forward(std::move(s).error());
  return used;
}

core::Result<std::size_t> SqliteStore::unused_recovery_codes_blocking(std::int64_t user_id) {
  std::lock_guard lock(reader_mutex_);
  auto q = reader_db_->query(sql::kUnusedRecoveryCodes);
  if (!q) return forward(std::move(q).error());
  q->bind(1, user_id);
  int rc = q->step();
  if (rc != SQLITE_ROW) return forward(q->error(rc, "unused recovery codes"));
  return static_cast<std::size_t>(q->column_int64(0));
}

// ---- portal: sessions ----

core::Status SqliteStore::create_session_blocking(const SessionRecord& session) {
  std::lock_guard lock(admin_mutex_);
  auto tx = Transaction::begin(*admin_db_, /*immediate=*/true);
  if (!tx) return forward(std::move(tx).error());
  {
    auto q = admin_db_->query(sql::kInsertSession);
    if (!q) return forward(std::move(q).error());
    q->bind(1, session.id_hash)
        .bind(2, session.user_id)
        .bind(3, session.stage)
        .bind(4, session.csrf_token)
        .bind(5, session.created_at)
        .bind(6, session.last_seen_at)
        .bind(7, session.source);
    if (auto s = run_write(*q, "create session", kSessionExists, kNoSuchUser); !s) return s;
  }
  return tx->commit();
}

core::Result<std::optional<SessionRecord>> SqliteStore::find_session_blocking(
    const std::string& id_hash) {
  std::lock_guard lock(reader_mutex_);
  auto q = reader_db_->query(sql::kFindSession);
  if (!q) return forward(std::move(q).error());
  q->bind(1, id_hash);
  int rc = q->step();
  if (rc == SQLITE_DONE) return std::optional<SessionRecord>();
  if (rc != SQLITE_ROW) return forward(q->error(rc, "find session"));
  return std::optional<SessionRecord>(read_session(*q));
}

core::Status SqliteStore::touch_session_blocking(const std::string& id_hash, std::int64_t now) {
  std::lock_guard lock(admin_mutex_);
  auto tx = Transaction::begin(*admin_db_, /*immediate=*/true);
  if (!tx) return forward(std::move(tx).error());
  {
    auto q = admin_db_->query(sql::kTouchSession);
    if (!q) return forward(std::move(q).error());
    q->bind(1, now).bind(2, id_hash);
    if (auto s = q->run("touch session"); !s) return s;
  }
  if (admin_db_->changes() == 0) {
    return core::fail(core::ErrorKind::not_found, kNoSuchSession, "touch_session");
  }
  return tx->commit();
}

core::Status SqliteStore::delete_session_blocking(const std::string& id_hash) {
  std::lock_guard lock(admin_mutex_);
  auto tx = Transaction::begin(*admin_db_, /*immediate=*/true);
  if (!tx) return forward(std::move(tx).error());
  {
    auto q = admin_db_->query(sql::kDeleteSession);
    if (!q) return forward(std::move(q).error());
    q->bind(1, id_hash);
    if (auto s = q->run("delete session"); !s) return s;
  }
  return tx->commit();
}

core::Result<std::size_t> SqliteStore::delete_user_sessions_blocking(std::int64_t user_id) {
  std::lock_guard lock(admin_mutex_);
  auto tx = Transaction::begin(*admin_db_, /*immediate=*/true);
  if (!tx) return forward(std::move(tx).error());
  {
    auto q = admin_db_->query(sql::kDeleteUserSessions);
    if (!q) return forward(std::move(q).error());
    q->bind(1, user_id);
    if (auto s = q->run("delete user sessions"); !s) return forward(std::move(s).error());
  }
  const auto deleted = static_cast<std::size_t>(admin_db_->changes());
  if (auto s = tx->commit(); !s) return forward(std::move(s).error());
  return deleted;
}

core::Result<std::size_t> SqliteStore::prune_sessions_blocking(std::int64_t created_before,
                                                               std::int64_t idle_before) {
  std::lock_guard lock(admin_mutex_);
  auto tx = Transaction::begin(*admin_db_, /*immediate=*/true);
  if (!tx) return forward(std::move(tx).error());
  {
    auto q = admin_db_->query(sql::kPruneSessions);
    if (!q) return forward(std::move(q).error());
    q->bind(1, created_before).bind(2, idle_before);
    if (auto s = q->run("prune sessions"); !s) return forward(std::move(s).error());
  }
  const auto deleted = static_cast<std::size_t>(admin_db_->changes());
  if (auto s = tx->commit(); !s) return forward(std::move(s).error());
  return deleted;
}

// ---- portal: grants ----

core::Status SqliteStore::add_grant_blocking(const GrantRecord& grant) {
  std::lock_guard lock(admin_mutex_);
  auto tx = Transaction::begin(*admin_db_, /*immediate=*/true);
  if (!tx) return forward(std::move(tx).error());
  {
    auto q = admin_db_->query(sql::kInsertGrant);
    if (!q) return forward(std::move(q).error());
    q->bind(1, grant.user_id)
        .bind(2, grant.form_id)
        .bind(3, grant.granted_at)
        .bind(4, grant.granted_by);
    // ON CONFLICT DO NOTHING: a repeated grant keeps the first one's time and grantor.
    if (auto s = run_write(*q, "add grant", nullptr, kNoSuchUserOrForm); !s) return s;
  }
  return tx->commit();
}

core::Status SqliteStore::remove_grant_blocking(std::int64_t user_id, const std::string& form_id) {
  std::lock_guard lock(admin_mutex_);
  auto tx = Transaction::begin(*admin_db_, /*immediate=*/true);
  if (!tx) return forward(std::move(tx).error());
  {
    auto q = admin_db_->query(sql::kDeleteGrant);
    if (!q) return forward(std::move(q).error());
    q->bind(1, user_id).bind(2, form_id);
    if (auto s = q->run("remove grant"); !s) return s;
  }
  if (admin_db_->changes() == 0) {
    return core::fail(core::ErrorKind::not_found, kNoSuchGrant, "remove_grant");
  }
  return tx->commit();
}

core::Result<std::vector<GrantRecord>> SqliteStore::list_grants_blocking(
    std::optional<std::int64_t> user_id) {
  std::lock_guard lock(reader_mutex_);
  auto q = reader_db_->query(user_id ? sql::kListUserGrants : sql::kListGrants);
  if (!q) return forward(std::move(q).error());
  if (user_id) q->bind(1, *user_id);
  std::vector<GrantRecord> out;
  int rc;
  while ((rc = q->step()) == SQLITE_ROW) out.push_back(read_grant(*q));
  if (rc != SQLITE_DONE) return forward(q->error(rc, "list grants"));
  return out;
}

// ---- portal: searches ----

namespace {

void bind_submission_query(Query& q, const SubmissionQuery& query) {
  q.bind(1, query.form_id).bind(2, query.after_seq);
  bind_optional(q, 3, query.received_from);
  bind_optional(q, 4, query.received_to);
  bind_optional(q, 5, query.reference);
  q.bind(6, sql_limit(std::min(query.limit, SqliteStore::kMaxQueryRows)));
}

}  // namespace

core::Result<std::vector<SubmissionMeta>> SqliteStore::query_submissions_blocking(
    const SubmissionQuery& query) {
  std::lock_guard lock(reader_mutex_);
  auto q = reader_db_->query(sql::kQuerySubmissions);
  if (!q) return forward(std::move(q).error());
  bind_submission_query(*q, query);
  std::vector<SubmissionMeta> out;
  int rc;
  while ((rc = q->step()) == SQLITE_ROW) {
    auto meta = read_meta(*q);
    if (!meta) return forward(std::move(meta).error());
    out.push_back(std::move(*meta));
  }
  if (rc != SQLITE_DONE) return forward(q->error(rc, "query submissions"));
  return out;
}

core::Result<std::optional<StoredSubmission>> SqliteStore::get_submission_blocking(
    const std::string& form_id, const std::string& reference) {
  std::lock_guard lock(reader_mutex_);
  auto q = reader_db_->query(sql::kGetSubmission);
  if (!q) return forward(std::move(q).error());
  q->bind(1, form_id).bind(2, reference);
  int rc = q->step();
  if (rc == SQLITE_DONE) return std::optional<StoredSubmission>();
  if (rc != SQLITE_ROW) return forward(q->error(rc, "get submission"));
  auto meta = read_meta(*q);
  if (!meta) return forward(std::move(meta).error());
  return std::optional<StoredSubmission>(StoredSubmission{std::move(*meta), q->column_blob(7)});
}

core::Result<std::vector<StoredSubmission>> SqliteStore::query_ciphertexts_blocking(
    const SubmissionQuery& query) {
  std::lock_guard lock(reader_mutex_);
  auto q = reader_db_->query(sql::kQueryCiphertexts);
  if (!q) return forward(std::move(q).error());
  bind_submission_query(*q, query);
  std::vector<StoredSubmission> out;
  int rc;
  while ((rc = q->step()) == SQLITE_ROW) {
    auto meta = read_meta(*q);
    if (!meta) return forward(std::move(meta).error());
    out.push_back(StoredSubmission{std::move(*meta), q->column_blob(7)});
  }
  if (rc != SQLITE_DONE) return forward(q->error(rc, "query ciphertexts"));
  return out;
}

core::Result<std::vector<AuditRow>> SqliteStore::query_audit_blocking(const AuditQuery& query) {
  std::lock_guard lock(reader_mutex_);
  auto q = reader_db_->query(sql::kQueryAudit);
  if (!q) return forward(std::move(q).error());
  q->bind(1, query.after_seq);
  bind_optional(*q, 2, query.actor);
  // "user." asks for every action of that family; anything else is one exact action.
  const bool prefix = query.action && !query.action->empty() && query.action->back() == '.';
  bind_optional(*q, 3, prefix ? std::nullopt : query.action);
  bind_optional(*q, 4, prefix ? query.action : std::nullopt);
  bind_optional(*q, 5, query.object);
  bind_optional(*q, 6, query.time_from);
  bind_optional(*q, 7, query.time_to);
  q->bind(8, sql_limit(std::min(query.limit, kMaxQueryRows)));
  std::vector<AuditRow> out;
  int rc;
  while ((rc = q->step()) == SQLITE_ROW) out.push_back(read_audit(*q));
  if (rc != SQLITE_DONE) return forward(q->error(rc, "query audit"));
  return out;
}

// ---- test hooks ----

SqliteStore::StatsForTest SqliteStore::stats_for_test() const {
  return StatsForTest{transactions_.load(), submissions_.load(), failed_batches_.load()};
}

void SqliteStore::pause_writer_for_test() {
  std::lock_guard lock(queue_mutex_);
  paused_ = true;
}

void SqliteStore::resume_writer_for_test() {
  {
    std::lock_guard lock(queue_mutex_);
    paused_ = false;
  }
  queue_cv_.notify_all();
}

core::Status SqliteStore::simulate_disk_full_for_test(bool full) {
  std::lock_guard lock(writer_db_mutex_);
  std::string pages = "4294967294";  // SQLite's default maximum
  if (full) {
    auto count = writer_db_->pragma_text("PRAGMA page_count");
    if (!count) return forward(std::move(count).error());
    pages = *count;
  }
  // PRAGMA takes no bound parameters; `pages` is a number we produced, not input.
  std::string pragma = "PRAGMA max_page_count = " + pages;
  return writer_db_->exec(pragma.c_str());
}

core::Status SqliteStore::prune_used_tokens_for_test(std::int64_t now) {
  std::lock_guard lock(writer_db_mutex_);
  return prune_locked(now);
}

}  // namespace store
