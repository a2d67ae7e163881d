// SecureMessageStore in SQL both engines run (issue 9, the secure-message portal). Each
// method is one statement: the conditions that matter (not revoked, not expired, the code's
// hash and expiry, first read unset) are in its WHERE clause, so two nodes acting at once
// see exactly one success.

#include "store/detail/codec.hpp"
#include "store/detail/sql_store.hpp"

namespace store::detail {

namespace {

using engine::Param;
using engine::Row;

namespace sql {
constexpr const char* kAdd =
    "INSERT INTO secure_messages (id, message_id, recipient, sender, ciphertext, created_at, "
    "expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
#define SEALPOST_SECURE_COLUMNS                                                                \
  "SELECT id, message_id, recipient, sender, ciphertext, created_at, expires_at, revoked_at, " \
  "first_read_at, code_hash, code_expires_at, replies "
constexpr const char* kFind = SEALPOST_SECURE_COLUMNS "FROM secure_messages WHERE id = ?1";
constexpr const char* kList =
    SEALPOST_SECURE_COLUMNS "FROM secure_messages WHERE message_id = ?1 ORDER BY recipient, id";
#undef SEALPOST_SECURE_COLUMNS
constexpr const char* kSetCode =
    "UPDATE secure_messages SET code_hash = ?2, code_expires_at = ?3 "
    "WHERE id = ?1 AND revoked_at IS NULL AND expires_at > ?4";
constexpr const char* kConsumeCode =
    "UPDATE secure_messages SET code_hash = NULL, code_expires_at = NULL "
    "WHERE id = ?1 AND code_hash = ?2 AND code_expires_at > ?3 AND revoked_at IS NULL";
constexpr const char* kMarkRead =
    "UPDATE secure_messages SET first_read_at = ?2 WHERE id = ?1 AND first_read_at IS NULL";
constexpr const char* kRevoke =
    "UPDATE secure_messages SET revoked_at = ?2, code_hash = NULL, code_expires_at = NULL "
    "WHERE message_id = ?1 AND revoked_at IS NULL AND first_read_at IS NULL";
// substr(…, 1, 0) is an empty blob on both engines (SQLite: blob; PostgreSQL: bytea).
constexpr const char* kPrune =
    "UPDATE secure_messages SET ciphertext = substr(ciphertext, 1, 0), code_hash = NULL, "
    "code_expires_at = NULL WHERE (expires_at <= ?1 OR revoked_at IS NOT NULL) "
    "AND length(ciphertext) > 0";
constexpr const char* kCountReply =
    "UPDATE secure_messages SET replies = replies + 1 "
    "WHERE id = ?1 AND replies < ?2 AND revoked_at IS NULL AND expires_at > ?3";
constexpr const char* kFindAccount =
    "SELECT address, password_hash, totp_sealed, totp_confirmed, totp_last_step, created_at, "
    "updated_at FROM recipient_accounts WHERE address = ?1";
constexpr const char* kAddAccount =
    "INSERT INTO recipient_accounts (address, password_hash, totp_sealed, totp_confirmed, "
    "totp_last_step, created_at, updated_at) VALUES (?1, ?2, NULL, 0, 0, ?3, ?3)";
constexpr const char* kBeginTotp =
    "UPDATE recipient_accounts SET totp_sealed = ?2, totp_confirmed = 0, totp_last_step = 0, "
    "updated_at = ?3 WHERE address = ?1 AND totp_confirmed = 0";
constexpr const char* kConfirmTotp =
    "UPDATE recipient_accounts SET totp_confirmed = 1, totp_last_step = ?3, updated_at = ?4 "
    "WHERE address = ?1 AND totp_sealed = ?2 AND totp_confirmed = 0";
constexpr const char* kAdvanceTotp =
    "UPDATE recipient_accounts SET totp_last_step = ?2 WHERE address = ?1 AND totp_last_step < ?2";
constexpr const char* kRemoveAccount = "DELETE FROM recipient_accounts WHERE address = ?1";
}  // namespace sql

SecureMessageRecord read_record(const Row& row) {
  SecureMessageRecord r;
  r.id = row.text(0);
  r.message_id = row.text(1);
  r.recipient = row.text(2);
  r.sender = row.text(3);
  r.ciphertext = row.blob(4);
  r.created_at = row.int64(5);
  r.expires_at = row.int64(6);
  if (!row.is_null(7)) r.revoked_at = row.int64(7);
  if (!row.is_null(8)) r.first_read_at = row.int64(8);
  if (!row.is_null(9)) r.code_hash = row.text(9);
  if (!row.is_null(10)) r.code_expires_at = row.int64(10);
  r.replies = row.int64(11);
  return r;
}

RecipientAccountRecord read_account(const Row& row) {
  RecipientAccountRecord r;
  r.address = row.text(0);
  r.password_hash = row.text(1);
  if (!row.is_null(2)) r.totp_sealed = row.blob(2);
  r.totp_confirmed = row.int64(3) != 0;
  r.totp_last_step = row.int64(4);
  r.created_at = row.int64(5);
  r.updated_at = row.int64(6);
  return r;
}

}  // namespace

core::Status SqlSecureMessages::add_secure_message_blocking(const SecureMessageRecord& record) {
  auto r = db_.execute(
      "add secure message", sql::kAdd,
      {Param{std::string_view(record.id)}, Param{std::string_view(record.message_id)},
       Param{std::string_view(record.recipient)}, Param{std::string_view(record.sender)},
       Param{std::span<const std::uint8_t>(record.ciphertext)}, Param{record.created_at},
       Param{record.expires_at}});
  if (!r) return core::fail(std::move(r).error());
  return core::ok();
}

core::Result<std::optional<SecureMessageRecord>> SqlSecureMessages::find_secure_message_blocking(
    const std::string& id) {
  auto rows = db_.query("find secure message", sql::kFind, {Param{std::string_view(id)}});
  if (!rows) return core::fail(std::move(rows).error());
  if (rows->empty()) return std::optional<SecureMessageRecord>();
  return std::optional<SecureMessageRecord>(read_record(rows->front()));
}

core::Result<std::vector<SecureMessageRecord>> SqlSecureMessages::list_secure_messages_blocking(
    const std::string& message_id) {
  auto rows = db_.query("list secure messages", sql::kList, {Param{std::string_view(message_id)}});
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<SecureMessageRecord> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) out.push_back(read_record(row));
  return out;
}

core::Result<bool> SqlSecureMessages::set_secure_code_blocking(const std::string& id,
                                                               const std::string& code_hash,
                                                               std::int64_t code_expires_at,
                                                               std::int64_t now) {
  auto r = db_.execute("set secure code", sql::kSetCode,
                       {Param{std::string_view(id)}, Param{std::string_view(code_hash)},
                        Param{code_expires_at}, Param{now}});
  if (!r) return core::fail(std::move(r).error());
  return *r == 1;
}

core::Result<bool> SqlSecureMessages::consume_secure_code_blocking(const std::string& id,
                                                                   const std::string& code_hash,
                                                                   std::int64_t now) {
  auto r =
      db_.execute("consume secure code", sql::kConsumeCode,
                  {Param{std::string_view(id)}, Param{std::string_view(code_hash)}, Param{now}});
  if (!r) return core::fail(std::move(r).error());
  return *r == 1;
}

core::Result<bool> SqlSecureMessages::mark_secure_read_blocking(const std::string& id,
                                                                std::int64_t now) {
  auto r = db_.execute("mark secure message read", sql::kMarkRead,
                       {Param{std::string_view(id)}, Param{now}});
  if (!r) return core::fail(std::move(r).error());
  return *r == 1;
}

core::Result<std::size_t> SqlSecureMessages::revoke_secure_messages_blocking(
    const std::string& message_id, std::int64_t now) {
  auto r = db_.execute("revoke secure messages", sql::kRevoke,
                       {Param{std::string_view(message_id)}, Param{now}});
  if (!r) return core::fail(std::move(r).error());
  return static_cast<std::size_t>(*r);
}

core::Result<std::size_t> SqlSecureMessages::prune_secure_messages_blocking(std::int64_t now) {
  auto r = db_.execute("prune secure messages", sql::kPrune, {Param{now}});
  if (!r) return core::fail(std::move(r).error());
  return static_cast<std::size_t>(*r);
}

core::Result<bool> SqlSecureMessages::count_secure_reply_blocking(const std::string& id,
                                                                  std::int64_t max,
                                                                  std::int64_t now) {
  auto r = db_.execute("count secure reply", sql::kCountReply,
                       {Param{std::string_view(id)}, Param{max}, Param{now}});
  if (!r) return core::fail(std::move(r).error());
  return *r == 1;
}

core::Result<std::optional<RecipientAccountRecord>>
SqlSecureMessages::find_recipient_account_blocking(const std::string& address) {
  auto rows =
      db_.query("find recipient account", sql::kFindAccount, {Param{std::string_view(address)}});
  if (!rows) return core::fail(std::move(rows).error());
  if (rows->empty()) return std::optional<RecipientAccountRecord>();
  return std::optional<RecipientAccountRecord>(read_account(rows->front()));
}

core::Status SqlSecureMessages::add_recipient_account_blocking(
    const RecipientAccountRecord& account) {
  auto r = db_.execute("add recipient account", sql::kAddAccount,
                       {Param{std::string_view(account.address)},
                        Param{std::string_view(account.password_hash)}, Param{account.created_at}});
  if (!r) return core::fail(std::move(r).error());
  return core::ok();
}

core::Result<bool> SqlSecureMessages::begin_recipient_totp_blocking(
    const std::string& address, const std::vector<std::uint8_t>& sealed, std::int64_t now) {
  auto r = db_.execute(
      "begin recipient totp", sql::kBeginTotp,
      {Param{std::string_view(address)}, Param{std::span<const std::uint8_t>(sealed)}, Param{now}});
  if (!r) return core::fail(std::move(r).error());
  return *r == 1;
}

core::Result<bool> SqlSecureMessages::confirm_recipient_totp_blocking(
    const std::string& address, const std::vector<std::uint8_t>& sealed, std::int64_t step,
    std::int64_t now) {
  auto r = db_.execute("confirm recipient totp", sql::kConfirmTotp,
                       {Param{std::string_view(address)},
                        Param{std::span<const std::uint8_t>(sealed)}, Param{step}, Param{now}});
  if (!r) return core::fail(std::move(r).error());
  return *r == 1;
}

core::Result<bool> SqlSecureMessages::advance_recipient_totp_blocking(const std::string& address,
                                                                      std::int64_t step) {
  auto r = db_.execute("advance recipient totp", sql::kAdvanceTotp,
                       {Param{std::string_view(address)}, Param{step}});
  if (!r) return core::fail(std::move(r).error());
  return *r == 1;
}

core::Result<bool> SqlSecureMessages::remove_recipient_account_blocking(
    const std::string& address) {
  auto r = db_.execute("remove recipient account", sql::kRemoveAccount,
                       {Param{std::string_view(address)}});
  if (!r) return core::fail(std::move(r).error());
  return *r == 1;
}

}  // namespace store::detail
