// AccountStore in SQL both engines run. Single-use things (TOTP steps, enrolment links,
// recovery codes) are consumed by one guarded UPDATE each: of two concurrent uses, on one
// node or two, exactly one changes the row (on PostgreSQL the second waits for the first's
// row lock, then re-checks the WHERE and finds it false). A single statement runs in
// autocommit; the two that must agree (replacing recovery codes) share a `write`
// transaction.

#include "store/detail/codec.hpp"
#include "store/detail/sql_store.hpp"

namespace store::detail {

namespace {

using engine::Param;
using engine::Row;

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

namespace sql {
constexpr const char* kInsertUser =
    "INSERT INTO users (email, roles, status, created_at) VALUES (?1, ?2, 'invited', ?3) "
    "RETURNING id";
constexpr const char* kFindUser =
    "SELECT id, email, roles, status, password_hash, totp_sealed, totp_confirmed, "
    "totp_last_step, key_fingerprint, private_key_armored, created_at FROM users WHERE id = ?1";
constexpr const char* kFindUserByEmail =
    "SELECT id, email, roles, status, password_hash, totp_sealed, totp_confirmed, "
    "totp_last_step, key_fingerprint, private_key_armored, created_at FROM users "
    "WHERE email = ?1";
constexpr const char* kListUsers =
    "SELECT id, email, roles, status, password_hash, totp_sealed, totp_confirmed, "
    "totp_last_step, key_fingerprint, private_key_armored, created_at FROM users ORDER BY id";
// totp_last_step only rises (CASE: the two-argument max() is SQLite's alone).
constexpr const char* kUpdateUser =
    "UPDATE users SET roles = ?1, status = ?2, password_hash = ?3, totp_sealed = ?4, "
    "totp_confirmed = ?5, "
    "totp_last_step = CASE WHEN totp_last_step > ?6 THEN totp_last_step ELSE ?6 END, "
    "key_fingerprint = ?7, private_key_armored = ?8 WHERE id = ?9";
constexpr const char* kAdvanceTotpStep =
    "UPDATE users SET totp_last_step = ?1 WHERE id = ?2 AND totp_last_step < ?1";
constexpr const char* kInsertEnrolment =
    "INSERT INTO enrolments (token_hash, user_id, expires_at, created_at) "
    "VALUES (?1, ?2, ?3, ?4)";
constexpr const char* kConsumeEnrolment =
    "UPDATE enrolments SET used_at = ?1 "
    "WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?1 RETURNING user_id";
constexpr const char* kDeleteRecoveryCodes = "DELETE FROM recovery_codes WHERE user_id = ?1";
constexpr const char* kInsertRecoveryCode =
    "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?1, ?2)";
constexpr const char* kUseRecoveryCode =
    "UPDATE recovery_codes SET used_at = ?1 "
    "WHERE user_id = ?2 AND code_hash = ?3 AND used_at IS NULL";
constexpr const char* kUnusedRecoveryCodes =
    "SELECT count(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL";
constexpr const char* kInsertSession =
    "INSERT INTO sessions (id_hash, user_id, stage, csrf_token, created_at, last_seen_at, "
    "source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr const char* kFindSession =
    "SELECT id_hash, user_id, stage, csrf_token, created_at, last_seen_at, source "
    "FROM sessions WHERE id_hash = ?1";
constexpr const char* kTouchSession = "UPDATE sessions SET last_seen_at = ?1 WHERE id_hash = ?2";
constexpr const char* kDeleteSession = "DELETE FROM sessions WHERE id_hash = ?1";
constexpr const char* kDeleteUserSessions = "DELETE FROM sessions WHERE user_id = ?1";
constexpr const char* kPruneSessions =
    "DELETE FROM sessions WHERE created_at < ?1 OR last_seen_at < ?2";
constexpr const char* kCountSessions =
    "SELECT count(*) FROM sessions WHERE created_at >= ?1 AND last_seen_at >= ?2";
// ON CONFLICT DO NOTHING: a repeated grant keeps the first one's time and grantor.
constexpr const char* kInsertGrant =
    "INSERT INTO grants (user_id, form_id, granted_at, granted_by) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (user_id, form_id) DO NOTHING";
constexpr const char* kDeleteGrant = "DELETE FROM grants WHERE user_id = ?1 AND form_id = ?2";
constexpr const char* kListGrants =
    "SELECT user_id, form_id, granted_at, granted_by FROM grants ORDER BY user_id, form_id";
constexpr const char* kListUserGrants =
    "SELECT user_id, form_id, granted_at, granted_by FROM grants WHERE user_id = ?1 "
    "ORDER BY form_id";
}  // namespace sql

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
core::Result<UserRecord> read_user(const Row& row) {
  UserRecord user;
  user.id = row.int64(0);
  user.email = row.text(1);
  user.roles = static_cast<unsigned>(row.int64(2));  // CHECK keeps it in range
  const std::string status = row.text(3);
  if (status == "invited") {
    user.status = UserStatus::invited;
  } else if (status == "active") {
    user.status = UserStatus::active;
  } else if (status == "disabled") {
    user.status = UserStatus::disabled;
  } else {
    // Fail closed: a status we do not know must not read as "active".
    return core::fail(core::ErrorKind::integrity, kStoreIntegrity, "unknown user status");
  }
  if (!row.is_null(4)) user.password_hash = row.text(4);
  user.totp_sealed = row.blob(5);
  user.totp_confirmed = row.int64(6) != 0;
  user.totp_last_step = row.int64(7);
  if (!row.is_null(8)) user.key_fingerprint = row.text(8);
  if (!row.is_null(9)) user.private_key_armored = row.text(9);
  user.created_at = row.int64(10);
  return user;
}

core::Result<std::optional<UserRecord>> read_one_user(core::Result<engine::Rows> rows) {
  if (!rows) return core::fail(std::move(rows).error());
  if (rows->empty()) return std::optional<UserRecord>();
  auto user = read_user(rows->front());
  if (!user) return core::fail(std::move(user).error());
  return std::optional<UserRecord>(std::move(*user));
}

// Columns: id_hash, user_id, stage, csrf_token, created_at, last_seen_at, source.
SessionRecord read_session(const Row& row) {
  SessionRecord session;
  session.id_hash = row.text(0);
  session.user_id = row.int64(1);
  session.stage = row.text(2);
  session.csrf_token = row.text(3);
  session.created_at = row.int64(4);
  session.last_seen_at = row.int64(5);
  session.source = row.text(6);
  return session;
}

// Constraint failures the caller is to hear about: a duplicate key becomes `conflict` with
// `duplicate`, a missing parent row (unknown user or form) `not_found` with `missing`.
core::Error explain(core::Error error, const char* duplicate, const char* missing) {
  if (error.kind() == core::ErrorKind::conflict && duplicate != nullptr) {
    return core::Error(core::ErrorKind::conflict, duplicate, error.detail());
  }
  if (error.kind() == core::ErrorKind::not_found && missing != nullptr) {
    return core::Error(core::ErrorKind::not_found, missing, error.detail());
  }
  return error;
}

core::Status as_status(core::Result<std::int64_t> changed, const char* duplicate = nullptr,
                       const char* missing = nullptr) {
  if (!changed) return core::fail(explain(std::move(changed).error(), duplicate, missing));
  return core::ok();
}

}  // namespace

core::Result<std::int64_t> SqlAccounts::create_user_blocking(const std::string& email,
                                                             unsigned roles, std::int64_t now) {
  auto rows = db_.query("create user", sql::kInsertUser,
                        {Param{std::string_view(email)}, Param{std::int64_t{roles}}, Param{now}});
  if (!rows) return core::fail(explain(std::move(rows).error(), kUserExists, nullptr));
  return rows->front().int64(0);
}

core::Result<std::optional<UserRecord>> SqlAccounts::find_user_blocking(std::int64_t id) {
  return read_one_user(db_.query("find user", sql::kFindUser, {Param{id}}));
}

core::Result<std::optional<UserRecord>> SqlAccounts::find_user_by_email_blocking(
    const std::string& email) {
  return read_one_user(
      db_.query("find user by email", sql::kFindUserByEmail, {Param{std::string_view(email)}}));
}

core::Result<std::vector<UserRecord>> SqlAccounts::list_users_blocking() {
  auto rows = db_.query("list users", sql::kListUsers);
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<UserRecord> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) {
    auto user = read_user(row);
    if (!user) return core::fail(std::move(user).error());
    out.push_back(std::move(*user));
  }
  return out;
}

core::Status SqlAccounts::update_user_blocking(const UserRecord& user) {
  const Param sealed = user.totp_sealed.empty()
                           ? Param{nullptr}
                           : Param{std::span<const std::uint8_t>(user.totp_sealed)};
  auto changed = db_.execute(
      "update user", sql::kUpdateUser,
      {Param{std::int64_t{user.roles}}, Param{std::string_view(status_text(user.status))},
       engine::opt(user.password_hash), sealed, Param{std::int64_t{user.totp_confirmed ? 1 : 0}},
       Param{user.totp_last_step}, engine::opt(user.key_fingerprint),
       engine::opt(user.private_key_armored), Param{user.id}});
  if (!changed) return core::fail(std::move(changed).error());
  if (*changed == 0) return core::fail(core::ErrorKind::not_found, kNoSuchUser, "update_user");
  return core::ok();
}

core::Result<bool> SqlAccounts::advance_totp_step_blocking(std::int64_t user_id,
                                                           std::int64_t step) {
  // The guard is in the UPDATE itself: of two requests with the same code, one changes
  // the row and the other finds the step already taken.
  auto changed =
      db_.execute("advance totp step", sql::kAdvanceTotpStep, {Param{step}, Param{user_id}});
  if (!changed) return core::fail(std::move(changed).error());
  return *changed == 1;
}

core::Status SqlAccounts::add_enrolment_blocking(const std::string& token_hash,
                                                 std::int64_t user_id, std::int64_t expires_at,
                                                 std::int64_t now) {
  return as_status(db_.execute("add enrolment", sql::kInsertEnrolment,
                               {Param{std::string_view(token_hash)}, Param{user_id},
                                Param{expires_at}, Param{now}}),
                   kEnrolmentExists, kNoSuchUser);
}

core::Result<std::int64_t> SqlAccounts::consume_enrolment_blocking(const std::string& token_hash,
                                                                   std::int64_t now) {
  auto rows = db_.query("consume enrolment", sql::kConsumeEnrolment,
                        {Param{now}, Param{std::string_view(token_hash)}});
  if (!rows) return core::fail(std::move(rows).error());
  if (rows->size() != 1) {
    return core::fail(core::ErrorKind::not_found, kEnrolmentInvalid,
                      "enrolment link unknown, used or expired");
  }
  return rows->front().int64(0);
}

core::Status SqlAccounts::replace_recovery_codes_blocking(std::int64_t user_id,
                                                          const std::vector<std::string>& hashes) {
  return db_.transact("replace recovery codes", engine::TxMode::write,
                      [&](engine::Connection& conn) -> core::Status {
                        if (auto r = conn.execute(sql::kDeleteRecoveryCodes, {Param{user_id}});
                            !r) {
                          return core::fail(std::move(r).error());
                        }
                        for (const auto& hash : hashes) {
                          auto r = conn.execute(sql::kInsertRecoveryCode,
                                                {Param{user_id}, Param{std::string_view(hash)}});
                          if (r) continue;
                          // A repeated hash is a caller bug: refusing it (nothing replaced) beats
                          // silently storing fewer codes than the user was shown.
                          if (r.error().kind() == core::ErrorKind::conflict) {
                            return core::fail(core::ErrorKind::invalid_input,
                                              kDuplicateRecoveryCode, r.error().detail());
                          }
                          return core::fail(explain(std::move(r).error(), nullptr, kNoSuchUser));
                        }
                        return core::ok();
                      });
}

core::Result<bool> SqlAccounts::use_recovery_code_blocking(std::int64_t user_id,
                                                           const std::string& hash,
                                                           std::int64_t now) {
  auto changed = db_.execute("use recovery code", sql::kUseRecoveryCode,
                             {Param{now}, Param{user_id}, Param{std::string_view(hash)}});
  if (!changed) return core::fail(std::move(changed).error());
  return *changed == 1;
}

core::Result<std::size_t> SqlAccounts::unused_recovery_codes_blocking(std::int64_t user_id) {
  auto rows = db_.query("unused recovery codes", sql::kUnusedRecoveryCodes, {Param{user_id}});
  if (!rows) return core::fail(std::move(rows).error());
  return static_cast<std::size_t>(rows->front().int64(0));
}

core::Status SqlAccounts::create_session_blocking(const SessionRecord& session) {
  return as_status(
      db_.execute("create session", sql::kInsertSession,
                  {Param{std::string_view(session.id_hash)}, Param{session.user_id},
                   Param{std::string_view(session.stage)},
                   Param{std::string_view(session.csrf_token)}, Param{session.created_at},
                   Param{session.last_seen_at}, Param{std::string_view(session.source)}}),
      kSessionExists, kNoSuchUser);
}

core::Result<std::optional<SessionRecord>> SqlAccounts::find_session_blocking(
    const std::string& id_hash) {
  auto rows = db_.query("find session", sql::kFindSession, {Param{std::string_view(id_hash)}});
  if (!rows) return core::fail(std::move(rows).error());
  if (rows->empty()) return std::optional<SessionRecord>();
  return std::optional<SessionRecord>(read_session(rows->front()));
}

core::Status SqlAccounts::touch_session_blocking(const std::string& id_hash, std::int64_t now) {
  auto changed = db_.execute("touch session", sql::kTouchSession,
                             {Param{now}, Param{std::string_view(id_hash)}});
  if (!changed) return core::fail(std::move(changed).error());
  if (*changed == 0) return core::fail(core::ErrorKind::not_found, kNoSuchSession, "touch_session");
  return core::ok();
}

core::Status SqlAccounts::delete_session_blocking(const std::string& id_hash) {
  return as_status(
      db_.execute("delete session", sql::kDeleteSession, {Param{std::string_view(id_hash)}}));
}

core::Result<std::size_t> SqlAccounts::delete_user_sessions_blocking(std::int64_t user_id) {
  auto changed = db_.execute("delete user sessions", sql::kDeleteUserSessions, {Param{user_id}});
  if (!changed) return core::fail(std::move(changed).error());
  return static_cast<std::size_t>(*changed);
}

core::Result<std::size_t> SqlAccounts::prune_sessions_blocking(std::int64_t created_before,
                                                               std::int64_t idle_before) {
  auto changed = db_.execute("prune sessions", sql::kPruneSessions,
                             {Param{created_before}, Param{idle_before}});
  if (!changed) return core::fail(std::move(changed).error());
  return static_cast<std::size_t>(*changed);
}

core::Result<std::size_t> SqlAccounts::count_sessions_blocking(std::int64_t created_since,
                                                               std::int64_t seen_since) {
  auto rows =
      db_.query("count sessions", sql::kCountSessions, {Param{created_since}, Param{seen_since}});
  if (!rows) return core::fail(std::move(rows).error());
  return static_cast<std::size_t>(rows->front().int64(0));
}

core::Status SqlAccounts::add_grant_blocking(const GrantRecord& grant) {
  return as_status(db_.execute("add grant", sql::kInsertGrant,
                               {Param{grant.user_id}, Param{std::string_view(grant.form_id)},
                                Param{grant.granted_at}, Param{grant.granted_by}}),
                   nullptr, kNoSuchUserOrForm);
}

core::Status SqlAccounts::remove_grant_blocking(std::int64_t user_id, const std::string& form_id) {
  auto changed = db_.execute("remove grant", sql::kDeleteGrant,
                             {Param{user_id}, Param{std::string_view(form_id)}});
  if (!changed) return core::fail(std::move(changed).error());
  if (*changed == 0) return core::fail(core::ErrorKind::not_found, kNoSuchGrant, "remove_grant");
  return core::ok();
}

core::Result<std::vector<GrantRecord>> SqlAccounts::list_grants_blocking(
    std::optional<std::int64_t> user_id) {
  auto rows = user_id ? db_.query("list grants", sql::kListUserGrants, {Param{*user_id}})
                      : db_.query("list grants", sql::kListGrants);
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<GrantRecord> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) {
    out.push_back(GrantRecord{row.int64(0), row.text(1), row.int64(2), row.int64(3)});
  }
  return out;
}

}  // namespace store::detail
