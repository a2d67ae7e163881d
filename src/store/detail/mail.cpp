// MailStore in SQL both engines run: the outbound queue, its leases and its history.
//
// Isolation: `write` (READ COMMITTED on PostgreSQL). The claim is one statement: an UPDATE
// of the rows a sub-select picks. On PostgreSQL the sub-select takes `FOR UPDATE SKIP
// LOCKED`, so nodes claiming at once lock and take disjoint rows instead of queueing on
// each other; on SQLite the file's one writer serialises claims (BEGIN IMMEDIATE), so the
// clause is neither needed nor known. Recording an attempt updates the recipient only
// `WHERE lease_owner = ?`: a node whose lease expired (and whose recipient another node
// took) changes nothing and learns it, and the history row goes in only when that update
// did. These are the two places where the engines differ in meaning, not syntax (issue 7:
// "design the lease API the mail queue will need").

#include <algorithm>

#include "store/detail/codec.hpp"
#include "store/detail/sql_store.hpp"

namespace store {

std::string_view mail_state_name(MailState state) {
  switch (state) {
    case MailState::queued:
      return "queued";
    case MailState::deferred:
      return "deferred";
    case MailState::delivered:
      return "delivered";
    case MailState::bounced:
      return "bounced";
    case MailState::dropped:
      return "dropped";
    case MailState::awaiting_fallback:
      return "awaiting_fallback";
  }
  return "queued";
}

std::optional<MailState> parse_mail_state(std::string_view text) {
  for (auto s : {MailState::queued, MailState::deferred, MailState::delivered, MailState::bounced,
                 MailState::dropped, MailState::awaiting_fallback}) {
    if (mail_state_name(s) == text) return s;
  }
  return std::nullopt;
}

}  // namespace store

namespace store::detail {

namespace {

using engine::Param;
using engine::Row;

namespace sql {
constexpr const char* kInsertMessage =
    "INSERT INTO mail_messages (id, created_at, sender, security, phi, origin, size, body, "
    "sealed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
constexpr const char* kInsertRecipient =
    "INSERT INTO mail_recipients (message_id, idx, address, domain, state, attempts, "
    "next_attempt_at, updated_at) VALUES (?1, ?2, ?3, ?4, 'queued', 0, ?5, ?5)";
// The claim, per engine (see the file comment). SQLite's RETURNING may not name a joined
// table, so the message's age comes from a scalar sub-select.
constexpr const char* kClaimPostgres =
    "UPDATE mail_recipients SET lease_owner = ?1, lease_until = ?2 "
    "WHERE (message_id, idx) IN ("
    "  SELECT message_id, idx FROM mail_recipients "
    "  WHERE state IN ('queued', 'deferred') AND next_attempt_at <= ?3 "
    "  AND (lease_until IS NULL OR lease_until <= ?3) "
    "  ORDER BY next_attempt_at, message_id, idx LIMIT ?4 FOR UPDATE SKIP LOCKED) "
    "RETURNING message_id, idx, address, domain, attempts, "
    "(SELECT created_at FROM mail_messages AS m WHERE m.id = mail_recipients.message_id)";
constexpr const char* kClaimSqlite =
    "UPDATE mail_recipients SET lease_owner = ?1, lease_until = ?2 "
    "WHERE (message_id, idx) IN ("
    "  SELECT message_id, idx FROM mail_recipients "
    "  WHERE state IN ('queued', 'deferred') AND next_attempt_at <= ?3 "
    "  AND (lease_until IS NULL OR lease_until <= ?3) "
    "  ORDER BY next_attempt_at, message_id, idx LIMIT ?4) "
    "RETURNING message_id, idx, address, domain, attempts, "
    "(SELECT created_at FROM mail_messages AS m WHERE m.id = mail_recipients.message_id)";
constexpr const char* kClaimMessage =
    "UPDATE mail_recipients SET lease_owner = ?1, lease_until = ?2 "
    "WHERE message_id = ?4 AND state IN ('queued', 'deferred', 'awaiting_fallback') "
    "AND (lease_until IS NULL OR lease_until <= ?3) "
    "RETURNING message_id, idx, address, domain, attempts, "
    "(SELECT created_at FROM mail_messages AS m WHERE m.id = mail_recipients.message_id)";
constexpr const char* kRenewLease =
    "UPDATE mail_recipients SET lease_until = ?4 "
    "WHERE message_id = ?1 AND idx = ?2 AND lease_owner = ?3";
constexpr const char* kRecordOutcome =
    "UPDATE mail_recipients SET state = ?4, attempts = attempts + 1, next_attempt_at = ?5, "
    "lease_owner = NULL, lease_until = NULL, updated_at = ?6 "
    "WHERE message_id = ?1 AND idx = ?2 AND lease_owner = ?3 "
    "RETURNING attempts";
constexpr const char* kInsertAttempt =
    "INSERT INTO mail_attempts (message_id, idx, attempt, at, result, code, enhanced, reply, "
    "mx_host, ip, tls_version, tls_cipher, verified, policy, sts_mode, sts_id, tls_failure) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)";
// An erased body is the empty blob: a sealed body never is (it has a nonce and a tag).
constexpr const char* kEraseFinalBody =
    "UPDATE mail_messages SET body = ?2 WHERE id = ?1 AND length(body) > 0 AND NOT EXISTS "
    "(SELECT 1 FROM mail_recipients WHERE message_id = ?1 "
    "AND state NOT IN ('delivered', 'bounced', 'dropped'))";
constexpr const char* kReleaseLeases =
    "UPDATE mail_recipients SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?1";
constexpr const char* kFindMessage =
    "SELECT id, created_at, sender, security, phi, origin, size, "
    "CASE WHEN ?2 = 1 THEN body ELSE NULL END, sealed FROM mail_messages WHERE id = ?1";
constexpr const char* kListRecipients =
    "SELECT message_id, idx, address, domain, state, attempts, next_attempt_at, updated_at "
    "FROM mail_recipients WHERE message_id = ?1 ORDER BY idx";
constexpr const char* kListAttempts =
    "SELECT message_id, idx, attempt, at, result, code, enhanced, reply, mx_host, ip, "
    "tls_version, tls_cipher, verified, policy, sts_mode, sts_id, tls_failure "
    "FROM mail_attempts WHERE message_id = ?1 ORDER BY idx, attempt";
constexpr const char* kNextDue =
    "SELECT min(next_attempt_at) FROM mail_recipients WHERE state IN ('queued', 'deferred')";
constexpr const char* kSummary =
    "SELECT r.domain, r.state, count(*), min(m.created_at) "
    "FROM mail_recipients AS r JOIN mail_messages AS m ON m.id = r.message_id "
    "GROUP BY r.domain, r.state ORDER BY r.domain, r.state";
constexpr const char* kNoteTls =
    "INSERT INTO mail_tls_domains (domain, first_seen, last_seen) VALUES (?1, ?2, ?2) "
    "ON CONFLICT (domain) DO UPDATE SET last_seen = "
    "CASE WHEN excluded.last_seen > mail_tls_domains.last_seen THEN excluded.last_seen "
    "ELSE mail_tls_domains.last_seen END";
constexpr const char* kTlsSeen = "SELECT last_seen FROM mail_tls_domains WHERE domain = ?1";
constexpr const char* kAddTlsSessions =
    "INSERT INTO mail_tls_sessions (day, policy_domain, policy_type, policy_text, mx_patterns, "
    "result_type, mx_host, ip, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
    "ON CONFLICT (day, policy_domain, policy_type, policy_text, mx_patterns, result_type, "
    "mx_host, ip) DO UPDATE SET count = mail_tls_sessions.count + excluded.count";
constexpr const char* kTlsReportDue =
    "SELECT DISTINCT s.policy_domain FROM mail_tls_sessions AS s WHERE s.day = ?1 "
    "AND NOT EXISTS (SELECT 1 FROM mail_tls_reports AS r "
    "WHERE r.day = s.day AND r.policy_domain = s.policy_domain) ORDER BY s.policy_domain";
constexpr const char* kTlsSessions =
    "SELECT day, policy_domain, policy_type, policy_text, mx_patterns, result_type, mx_host, "
    "ip, count FROM mail_tls_sessions WHERE day = ?1 AND policy_domain = ?2 "
    "ORDER BY policy_type, policy_text, mx_patterns, result_type, mx_host, ip";
constexpr const char* kClaimTlsReport =
    "INSERT INTO mail_tls_reports (day, policy_domain, claimed_by, claimed_at, outcome) "
    "VALUES (?1, ?2, ?3, ?4, 'building') ON CONFLICT (day, policy_domain) DO NOTHING";
constexpr const char* kFinishTlsReport =
    "UPDATE mail_tls_reports SET outcome = ?3 WHERE day = ?1 AND policy_domain = ?2";

constexpr const char* kFindMtaSts =
    "SELECT domain, policy_id, mode, mx, max_age, fetched_at, expires_at "
    "FROM mail_mta_sts WHERE domain = ?1";
constexpr const char* kPutMtaSts =
    "INSERT INTO mail_mta_sts (domain, policy_id, mode, mx, max_age, fetched_at, expires_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
    "ON CONFLICT (domain) DO UPDATE SET policy_id = excluded.policy_id, mode = excluded.mode, "
    "mx = excluded.mx, max_age = excluded.max_age, fetched_at = excluded.fetched_at, "
    "expires_at = excluded.expires_at";
}  // namespace sql

constexpr const char* kBadState = "a mail recipient has an unknown state";

core::Result<MailState> state_of(const std::string& text) {
  auto state = parse_mail_state(text);
  if (!state) return core::fail(core::ErrorKind::integrity, kStoreIntegrity, kBadState);
  return *state;
}

// Columns: message_id, idx, attempt, at, result, code, enhanced, reply, mx_host, ip,
// tls_version, tls_cipher, verified, policy, sts_mode, sts_id, tls_failure.
core::Result<MailAttempt> read_attempt(const Row& row) {
  MailAttempt a;
  a.message_id = row.text(0);
  a.idx = static_cast<int>(row.int64(1));
  a.at = row.int64(3);
  auto result = state_of(row.text(4));
  if (!result) return core::fail(result.error());
  a.result = *result;
  a.code = static_cast<int>(row.int64(5));
  a.enhanced = row.text(6);
  a.reply = row.text(7);
  a.mx_host = row.text(8);
  a.ip = row.text(9);
  a.tls_version = row.text(10);
  a.tls_cipher = row.text(11);
  a.verified = row.text(12);
  a.policy = row.text(13);
  a.sts_mode = row.text(14);
  a.sts_id = row.text(15);
  a.tls_failure = row.text(16);
  return a;
}

}  // namespace

core::Status SqlMail::enqueue_blocking(const MailMessageRecord& message,
                                       const std::vector<std::string>& addresses) {
  if (addresses.empty() || addresses.size() > kMaxRecipients) {
    return core::fail(core::ErrorKind::invalid_input, "a message needs 1 to 1000 recipients");
  }
  return db_.transact(
      "enqueue mail", engine::TxMode::write, [&](engine::Connection& conn) -> core::Status {
        auto inserted = conn.execute(
            sql::kInsertMessage,
            {Param{std::string_view(message.id)}, Param{message.created_at},
             Param{std::string_view(message.sender)}, Param{std::string_view(message.security)},
             Param{std::int64_t{message.phi ? 1 : 0}}, Param{std::string_view(message.origin)},
             Param{message.size}, Param{std::span<const std::uint8_t>(message.body)},
             Param{std::string_view(message.sealed)}});
        if (!inserted) return core::fail(std::move(inserted).error());
        for (std::size_t i = 0; i < addresses.size(); ++i) {
          const std::string& address = addresses[i];
          auto at = address.rfind('@');
          std::string domain = at == std::string::npos ? std::string() : address.substr(at + 1);
          std::transform(domain.begin(), domain.end(), domain.begin(), [](unsigned char c) {
            return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
          });
          if (domain.empty()) {
            return core::fail(core::ErrorKind::invalid_input, "a recipient has no domain");
          }
          auto r =
              conn.execute(sql::kInsertRecipient,
                           {Param{std::string_view(message.id)},
                            Param{static_cast<std::int64_t>(i)}, Param{std::string_view(address)},
                            Param{std::string_view(domain)}, Param{message.created_at}});
          if (!r) return core::fail(std::move(r).error());
        }
        return core::ok();
      });
}

core::Result<std::vector<ClaimedRecipient>> SqlMail::claim_due_blocking(const std::string& owner,
                                                                        std::int64_t now,
                                                                        std::int64_t lease_until,
                                                                        std::size_t limit) {
  const char* statement =
      db_.dialect() == engine::Dialect::postgres ? sql::kClaimPostgres : sql::kClaimSqlite;
  return db_.transact_value<std::vector<ClaimedRecipient>>(
      "claim mail", engine::TxMode::write,
      [&](engine::Connection& conn) -> core::Result<std::vector<ClaimedRecipient>> {
        auto rows = conn.query(statement, {Param{std::string_view(owner)}, Param{lease_until},
                                           Param{now}, Param{sql_limit(limit, 10'000)}});
        if (!rows) return core::fail(std::move(rows).error());
        std::vector<ClaimedRecipient> out;
        out.reserve(rows->size());
        for (const auto& row : *rows) {
          out.push_back(ClaimedRecipient{row.text(0), static_cast<int>(row.int64(1)), row.text(2),
                                         row.text(3), static_cast<int>(row.int64(4)),
                                         row.int64(5)});
        }
        // RETURNING gives no order: the caller groups by message, oldest first.
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
          return std::tie(a.created_at, a.message_id, a.idx) <
                 std::tie(b.created_at, b.message_id, b.idx);
        });
        return out;
      });
}

core::Result<std::vector<ClaimedRecipient>> SqlMail::claim_message_blocking(
    const std::string& owner, const std::string& id, std::int64_t now, std::int64_t lease_until) {
  return db_.transact_value<std::vector<ClaimedRecipient>>(
      "claim mail message", engine::TxMode::write,
      [&](engine::Connection& conn) -> core::Result<std::vector<ClaimedRecipient>> {
        auto rows =
            conn.query(sql::kClaimMessage, {Param{std::string_view(owner)}, Param{lease_until},
                                            Param{now}, Param{std::string_view(id)}});
        if (!rows) return core::fail(std::move(rows).error());
        std::vector<ClaimedRecipient> out;
        for (const auto& row : *rows) {
          out.push_back(ClaimedRecipient{row.text(0), static_cast<int>(row.int64(1)), row.text(2),
                                         row.text(3), static_cast<int>(row.int64(4)),
                                         row.int64(5)});
        }
        std::sort(out.begin(), out.end(),
                  [](const auto& a, const auto& b) { return a.idx < b.idx; });
        return out;
      });
}

core::Result<std::size_t> SqlMail::renew_leases_blocking(
    const std::string& owner, const std::vector<std::pair<std::string, int>>& recipients,
    std::int64_t lease_until) {
  return db_.transact_value<std::size_t>(
      "renew mail leases", engine::TxMode::write,
      [&](engine::Connection& conn) -> core::Result<std::size_t> {
        std::size_t held = 0;
        for (const auto& [id, idx] : recipients) {
          auto r = conn.execute(sql::kRenewLease,
                                {Param{std::string_view(id)}, Param{static_cast<std::int64_t>(idx)},
                                 Param{std::string_view(owner)}, Param{lease_until}});
          if (!r) return core::fail(std::move(r).error());
          held += static_cast<std::size_t>(*r);
        }
        return held;
      });
}

core::Result<bool> SqlMail::record_attempt_blocking(const std::string& owner,
                                                    const MailAttempt& attempt,
                                                    std::int64_t next_attempt_at) {
  return db_.transact_value<bool>(
      "record mail attempt", engine::TxMode::write,
      [&](engine::Connection& conn) -> core::Result<bool> {
        auto updated = conn.query(
            sql::kRecordOutcome,
            {Param{std::string_view(attempt.message_id)},
             Param{static_cast<std::int64_t>(attempt.idx)}, Param{std::string_view(owner)},
             Param{mail_state_name(attempt.result)}, Param{next_attempt_at}, Param{attempt.at}});
        if (!updated) return core::fail(std::move(updated).error());
        if (updated->empty()) return false;  // the lease is not ours any more
        const std::int64_t number = updated->front().int64(0);
        const std::array<Param, 17> params = {Param{std::string_view(attempt.message_id)},
                                              Param{static_cast<std::int64_t>(attempt.idx)},
                                              Param{number},
                                              Param{attempt.at},
                                              Param{mail_state_name(attempt.result)},
                                              Param{static_cast<std::int64_t>(attempt.code)},
                                              Param{std::string_view(attempt.enhanced)},
                                              Param{std::string_view(attempt.reply)},
                                              Param{std::string_view(attempt.mx_host)},
                                              Param{std::string_view(attempt.ip)},
                                              Param{std::string_view(attempt.tls_version)},
                                              Param{std::string_view(attempt.tls_cipher)},
                                              Param{std::string_view(attempt.verified)},
                                              Param{std::string_view(attempt.policy)},
                                              Param{std::string_view(attempt.sts_mode)},
                                              Param{std::string_view(attempt.sts_id)},
                                              Param{std::string_view(attempt.tls_failure)}};
        auto inserted = conn.execute(sql::kInsertAttempt, params);
        if (!inserted) return core::fail(std::move(inserted).error());
        return true;
      });
}

core::Result<bool> SqlMail::erase_body_if_final_blocking(const std::string& id) {
  const std::vector<std::uint8_t> erased;
  auto r = db_.execute("erase a sent mail body", sql::kEraseFinalBody,
                       {Param{std::string_view(id)}, Param{std::span<const std::uint8_t>(erased)}});
  if (!r) return core::fail(std::move(r).error());
  return *r > 0;
}

core::Result<std::size_t> SqlMail::release_leases_blocking(const std::string& owner) {
  auto r =
      db_.execute("release mail leases", sql::kReleaseLeases, {Param{std::string_view(owner)}});
  if (!r) return core::fail(std::move(r).error());
  return static_cast<std::size_t>(*r);
}

core::Result<std::optional<MailMessageRecord>> SqlMail::find_message_blocking(const std::string& id,
                                                                              bool with_body) {
  auto rows = db_.query("find mail message", sql::kFindMessage,
                        {Param{std::string_view(id)}, Param{std::int64_t{with_body ? 1 : 0}}});
  if (!rows) return core::fail(std::move(rows).error());
  if (rows->empty()) return std::optional<MailMessageRecord>();
  const Row& row = rows->front();
  MailMessageRecord m;
  m.id = row.text(0);
  m.created_at = row.int64(1);
  m.sender = row.text(2);
  m.security = row.text(3);
  m.phi = row.int64(4) != 0;
  m.origin = row.text(5);
  m.size = row.int64(6);
  if (!row.is_null(7)) m.body = row.blob(7);
  m.sealed = row.text(8);
  return std::optional<MailMessageRecord>(std::move(m));
}

core::Result<std::vector<MailRecipientRecord>> SqlMail::list_recipients_blocking(
    const std::string& id) {
  std::vector<MailRecipientRecord> out;
  auto status = db_.transact(
      "list mail recipients", engine::TxMode::read, [&](engine::Connection& conn) -> core::Status {
        out.clear();
        auto rows = conn.query(sql::kListRecipients, {Param{std::string_view(id)}});
        if (!rows) return core::fail(std::move(rows).error());
        for (const auto& row : *rows) {
          MailRecipientRecord r;
          r.message_id = row.text(0);
          r.idx = static_cast<int>(row.int64(1));
          r.address = row.text(2);
          r.domain = row.text(3);
          auto state = state_of(row.text(4));
          if (!state) return core::fail(state.error());
          r.state = *state;
          r.attempts = static_cast<int>(row.int64(5));
          r.next_attempt_at = row.int64(6);
          r.updated_at = row.int64(7);
          out.push_back(std::move(r));
        }
        auto attempts = conn.query(sql::kListAttempts, {Param{std::string_view(id)}});
        if (!attempts) return core::fail(std::move(attempts).error());
        for (const auto& row : *attempts) {
          auto a = read_attempt(row);
          if (!a) return core::fail(a.error());
          for (auto& r : out) {
            if (r.idx == a->idx) r.last = std::move(*a);
          }
        }
        return core::ok();
      });
  if (!status) return core::fail(std::move(status).error());
  return out;
}

core::Result<std::vector<MailAttempt>> SqlMail::list_attempts_blocking(const std::string& id) {
  auto rows = db_.query("list mail attempts", sql::kListAttempts, {Param{std::string_view(id)}});
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<MailAttempt> out;
  for (const auto& row : *rows) {
    auto a = read_attempt(row);
    if (!a) return core::fail(a.error());
    out.push_back(std::move(*a));
  }
  return out;
}

core::Result<std::optional<std::int64_t>> SqlMail::next_due_blocking() {
  auto rows = db_.query("next mail due", sql::kNextDue);
  if (!rows) return core::fail(std::move(rows).error());
  if (rows->empty() || rows->front().is_null(0)) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(rows->front().int64(0));
}

core::Result<std::vector<MailQueueRow>> SqlMail::queue_summary_blocking() {
  auto rows = db_.query("mail queue summary", sql::kSummary);
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<MailQueueRow> out;
  for (const auto& row : *rows) {
    auto state = state_of(row.text(1));
    if (!state) return core::fail(state.error());
    out.push_back(MailQueueRow{row.text(0), *state, row.int64(2), row.int64(3)});
  }
  return out;
}

core::Status SqlMail::note_tls_seen_blocking(const std::string& domain, std::int64_t now) {
  auto r =
      db_.execute("note tls domain", sql::kNoteTls, {Param{std::string_view(domain)}, Param{now}});
  if (!r) return core::fail(std::move(r).error());
  return core::ok();
}

core::Result<std::optional<std::int64_t>> SqlMail::tls_seen_blocking(const std::string& domain) {
  auto rows = db_.query("tls domain seen", sql::kTlsSeen, {Param{std::string_view(domain)}});
  if (!rows) return core::fail(std::move(rows).error());
  if (rows->empty()) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(rows->front().int64(0));
}

core::Status SqlMail::add_tls_sessions_blocking(const std::vector<TlsSessionCount>& rows) {
  if (rows.empty()) return core::ok();
  return db_.transact(
      "add tls sessions", engine::TxMode::write, [&](engine::Connection& conn) -> core::Status {
        for (const auto& r : rows) {
          const std::array<Param, 9> params = {Param{r.day},
                                               Param{std::string_view(r.policy_domain)},
                                               Param{std::string_view(r.policy_type)},
                                               Param{std::string_view(r.policy_text)},
                                               Param{std::string_view(r.mx_patterns)},
                                               Param{std::string_view(r.result_type)},
                                               Param{std::string_view(r.mx_host)},
                                               Param{std::string_view(r.ip)},
                                               Param{r.count}};
          if (auto e = conn.execute(sql::kAddTlsSessions, params); !e)
            return core::fail(std::move(e).error());
        }
        return core::ok();
      });
}

core::Result<std::vector<std::string>> SqlMail::tls_report_due_blocking(std::int64_t day) {
  auto rows = db_.query("tls reports due", sql::kTlsReportDue, {Param{day}});
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<std::string> out;
  for (const auto& row : *rows) out.push_back(row.text(0));
  return out;
}

core::Result<std::vector<TlsSessionCount>> SqlMail::tls_sessions_blocking(
    std::int64_t day, const std::string& policy_domain) {
  auto rows = db_.query("tls sessions", sql::kTlsSessions,
                        {Param{day}, Param{std::string_view(policy_domain)}});
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<TlsSessionCount> out;
  for (const auto& row : *rows) {
    out.push_back(TlsSessionCount{row.int64(0), row.text(1), row.text(2), row.text(3), row.text(4),
                                  row.text(5), row.text(6), row.text(7), row.int64(8)});
  }
  return out;
}

core::Result<bool> SqlMail::claim_tls_report_blocking(std::int64_t day,
                                                      const std::string& policy_domain,
                                                      const std::string& owner, std::int64_t now) {
  auto r = db_.execute("claim tls report", sql::kClaimTlsReport,
                       {Param{day}, Param{std::string_view(policy_domain)},
                        Param{std::string_view(owner)}, Param{now}});
  if (!r) return core::fail(std::move(r).error());
  return *r == 1;
}

core::Status SqlMail::finish_tls_report_blocking(std::int64_t day, const std::string& policy_domain,
                                                 const std::string& outcome) {
  auto r = db_.execute(
      "finish tls report", sql::kFinishTlsReport,
      {Param{day}, Param{std::string_view(policy_domain)}, Param{std::string_view(outcome)}});
  if (!r) return core::fail(std::move(r).error());
  return core::ok();
}

core::Result<std::optional<MtaStsRecord>> SqlMail::mta_sts_blocking(const std::string& domain) {
  auto rows = db_.query("find mta-sts policy", sql::kFindMtaSts, {Param{std::string_view(domain)}});
  if (!rows) return core::fail(std::move(rows).error());
  if (rows->empty()) return std::optional<MtaStsRecord>();
  const Row& row = rows->front();
  MtaStsRecord r;
  r.domain = row.text(0);
  r.policy_id = row.text(1);
  r.mode = row.text(2);
  // One pattern per line (a pattern is a host name: it has no line break).
  const std::string mx = row.text(3);
  for (std::size_t start = 0; start < mx.size();) {
    std::size_t end = mx.find('\n', start);
    if (end == std::string::npos) end = mx.size();
    if (end > start) r.mx.push_back(mx.substr(start, end - start));
    start = end + 1;
  }
  r.max_age = row.int64(4);
  r.fetched_at = row.int64(5);
  r.expires_at = row.int64(6);
  return std::optional<MtaStsRecord>(std::move(r));
}

core::Status SqlMail::put_mta_sts_blocking(const MtaStsRecord& record) {
  std::string mx;
  for (const auto& pattern : record.mx) {
    if (pattern.empty() || pattern.find_first_of("\r\n") != std::string::npos) {
      return core::fail(core::ErrorKind::invalid_input, "an MTA-STS mx pattern is malformed");
    }
    if (!mx.empty()) mx += '\n';
    mx += pattern;
  }
  auto r = db_.execute(
      "put mta-sts policy", sql::kPutMtaSts,
      {Param{std::string_view(record.domain)}, Param{std::string_view(record.policy_id)},
       Param{std::string_view(record.mode)}, Param{std::string_view(mx)}, Param{record.max_age},
       Param{record.fetched_at}, Param{record.expires_at}});
  if (!r) return core::fail(std::move(r).error());
  return core::ok();
}

}  // namespace store::detail
