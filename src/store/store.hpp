#pragma once
// The store (DESIGN.md "The store: written once, run on two engines"): one small interface
// per aggregate, each implemented once in SQL that both engines run (store/detail/), and a
// Store that hands them out. Everything it holds is ciphertext or non-PHI metadata.
//
// Every *_blocking method blocks on the database: call it from the blocking pool, never
// from an event-loop thread. Errors are values: unavailable (database down, busy, disk
// full: a 503, try again), conflict, not_found, invalid_input, integrity, internal.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/secret.hpp"
#include "store/records.hpp"

namespace store {

// Builds the audit entry that records the receipt of `submission` (A1, A8), chained after
// `last` (nullopt: the trail is empty). No PHI: reference, form, version, size.
using ReceiptAudit =
    std::function<AuditRow(const std::optional<AuditRow>& last, const NewSubmission& submission)>;

// Builds the webhook event of a stored submission (ids only, never PHI).
using ReceiptEvent = std::function<WebhookEvent(const NewSubmission& submission)>;

// Submissions: the group-commit append and the reads of the portal and the CLI.
class SubmissionStore {
 public:
  virtual ~SubmissionStore() = default;

  // From now on every appended submission gets its receipt entry in the audit trail, in the
  // same transaction as the submission itself: a submission row deleted later is then
  // detectable (`audit verify`), and no receipt exists for a submission never stored. Set
  // it once, before the first append.
  virtual void set_receipt_audit(ReceiptAudit make) = 0;
  // The same for the webhooks: every appended submission's event is queued (one delivery
  // per webhook that takes its type) in the transaction that stores it. Set it once,
  // before the first append.
  virtual void set_receipt_event(ReceiptEvent make) = 0;

  // Appends a submission with group commit. `done` runs exactly once, on the writer
  // thread, only after the transaction holding this submission is durable (committed) or
  // has failed. Errors: conflict (the token nonce was already used: a replay; nothing
  // stored), unavailable (disk full, I/O error, database down, store closed; nothing
  // stored). A submission refused before it is queued (store closed, too many waiting)
  // gets its `done` inline, on the caller's thread, before append_submission returns: so
  // do not hold a lock that `done` takes. A caller bug (unknown form version, duplicate
  // reference, non-UTF-8 recipient) gets internal / invalid_input, nothing stored.
  // `done` must not block: post the answer to the caller's own executor.
  virtual void append_submission(NewSubmission submission,
                                 std::function<void(core::Status)> done) = 0;

  // A cheap pre-check before encrypting, so replays are refused early. The authoritative
  // check is the one inside append_submission.
  virtual core::Result<bool> token_used_blocking(const TokenNonce& nonce) = 0;

  virtual core::Result<std::optional<SubmissionMeta>> find_submission_blocking(
      const std::string& form_id, const std::string& reference) = 0;
  // Submissions of a form in store order, after `since_reference` if given (error
  // not_found if that reference does not exist for the form), at most `limit`.
  virtual core::Result<std::vector<StoredSubmission>> list_submissions_blocking(
      const std::string& form_id, const std::optional<std::string>& since_reference,
      std::size_t limit) = 0;
  virtual core::Result<std::size_t> count_submissions_blocking(const std::string& form_id) = 0;

  // The query methods return at most kMaxQueryRows rows, whatever limit is asked for: it
  // bounds the memory (ciphertexts included) one request can make the server hold; the
  // portal asks for at most 500 per page or export batch. Time bounds are [from, to).
  static constexpr std::size_t kMaxQueryRows = 1000;
  // Metadata only (never the ciphertext), in seq order.
  virtual core::Result<std::vector<SubmissionMeta>> query_submissions_blocking(
      const SubmissionQuery& query) = 0;
  // One submission with its ciphertext.
  virtual core::Result<std::optional<StoredSubmission>> get_submission_blocking(
      const std::string& form_id, const std::string& reference) = 0;
  // Ciphertexts matching the query (the export's batches), in seq order.
  virtual core::Result<std::vector<StoredSubmission>> query_ciphertexts_blocking(
      const SubmissionQuery& query) = 0;
};

// Form declarations (every version), their enabled state, and the recipients' public keys.
class FormStore {
 public:
  virtual ~FormStore() = default;

  // Stores a new version (1 for a new id, else latest + 1) and returns its number. Adding a
  // version of a disabled form enables the form again: `form add` publishes the
  // declaration it is given ("disable, fix, add the new version").
  virtual core::Result<int> add_form_version_blocking(
      const std::string& form_id, const std::string& declaration, std::int64_t now,
      const std::vector<std::string>& granted_recipients) = 0;
  // The latest version of every form id, enabled or not, ordered by id.
  virtual core::Result<std::vector<FormVersion>> latest_forms_blocking() = 0;
  virtual core::Result<std::optional<FormVersion>> latest_form_blocking(
      const std::string& form_id) = 0;
  virtual core::Result<std::optional<FormVersion>> form_version_blocking(const std::string& form_id,
                                                                         int version) = 0;
  // not_found when there is no such form.
  virtual core::Status set_form_enabled_blocking(const std::string& form_id, bool enabled) = 0;

  // Inserts or replaces (a refreshed key with new signatures/expiry).
  virtual core::Status put_key_blocking(const KeyRecord& key) = 0;
  virtual core::Result<std::vector<KeyRecord>> list_keys_blocking() = 0;
  virtual core::Result<std::optional<KeyRecord>> find_key_blocking(
      const std::string& fingerprint) = 0;

  // Recipients' S/MIME certificates (issue 9). put: inserts or replaces (by sha256);
  // remove: not_found when there is no such certificate. Not part of the configuration
  // generation: they are read at each send.
  virtual core::Status put_cert_blocking(const CertRecord& cert) = 0;
  virtual core::Result<std::vector<CertRecord>> list_certs_blocking() = 0;
  virtual core::Status remove_cert_blocking(const std::string& sha256) = 0;

  // A number that changes whenever forms or keys change, in this process or any other
  // (another node, the CLI), so a running server notices and reloads.
  virtual core::Result<std::int64_t> config_generation_blocking() = 0;
};

// Staff accounts (issue 3): users, enrolment links, recovery codes, sessions, grants.
// Every method is one transaction. A duplicate is `conflict`, an unknown user (or form,
// for a grant) is `not_found`.
class AccountStore {
 public:
  virtual ~AccountStore() = default;

  // conflict if the e-mail exists. Returns the new id.
  virtual core::Result<std::int64_t> create_user_blocking(const std::string& email, unsigned roles,
                                                          std::int64_t now) = 0;
  virtual core::Result<std::optional<UserRecord>> find_user_blocking(std::int64_t id) = 0;
  virtual core::Result<std::optional<UserRecord>> find_user_by_email_blocking(
      const std::string& email) = 0;
  virtual core::Result<std::vector<UserRecord>> list_users_blocking() = 0;
  // Writes every mutable field of the user (roles, status, password, TOTP, keys); not_found
  // if the id is unknown. totp_last_step is only ever raised (the larger of the stored and
  // the given value): a caller writing back a user it read before a concurrent sign-in
  // must not re-open a TOTP code that was just accepted.
  virtual core::Status update_user_blocking(const UserRecord& user) = 0;
  // Accepts a TOTP step once: sets totp_last_step = step only if step > the stored value.
  // Returns false (nothing changed) for a replayed or older step.
  virtual core::Result<bool> advance_totp_step_blocking(std::int64_t user_id,
                                                        std::int64_t step) = 0;

  // Enrolment links: the token's hash only. consume returns the user id and marks the link
  // used, atomically; not_found for an unknown, used or expired link (one error: callers do
  // not learn which).
  virtual core::Status add_enrolment_blocking(const std::string& token_hash, std::int64_t user_id,
                                              std::int64_t expires_at, std::int64_t now) = 0;
  virtual core::Result<std::int64_t> consume_enrolment_blocking(const std::string& token_hash,
                                                                std::int64_t now) = 0;

  // Recovery codes (hashes). replace drops the user's old codes.
  virtual core::Status replace_recovery_codes_blocking(std::int64_t user_id,
                                                       const std::vector<std::string>& hashes) = 0;
  // Marks the code used if it is the user's and unused; false otherwise.
  virtual core::Result<bool> use_recovery_code_blocking(std::int64_t user_id,
                                                        const std::string& hash,
                                                        std::int64_t now) = 0;
  virtual core::Result<std::size_t> unused_recovery_codes_blocking(std::int64_t user_id) = 0;

  // Sessions. Deleting one that is already gone is not an error (signing out twice is fine).
  virtual core::Status create_session_blocking(const SessionRecord& session) = 0;
  virtual core::Result<std::optional<SessionRecord>> find_session_blocking(
      const std::string& id_hash) = 0;
  // Sets last_seen_at. not_found if gone. (A stage change is a new session: ids rotate.)
  virtual core::Status touch_session_blocking(const std::string& id_hash, std::int64_t now) = 0;
  virtual core::Status delete_session_blocking(const std::string& id_hash) = 0;
  // Returns how many were deleted.
  virtual core::Result<std::size_t> delete_user_sessions_blocking(std::int64_t user_id) = 0;
  // Deletes sessions created before `created_before` or idle since before `idle_before`.
  virtual core::Result<std::size_t> prune_sessions_blocking(std::int64_t created_before,
                                                            std::int64_t idle_before) = 0;
  // Sessions still live by the same bounds (created at or after `created_since` and seen
  // at or after `seen_since`): the portal-sessions gauge of /metrics.
  virtual core::Result<std::size_t> count_sessions_blocking(std::int64_t created_since,
                                                            std::int64_t seen_since) = 0;

  // Grants (P4): which forms a user may read. add is idempotent. Grants do not change the
  // config generation: the grant's new form version does.
  virtual core::Status add_grant_blocking(const GrantRecord& grant) = 0;
  // not_found if there was no such grant.
  virtual core::Status remove_grant_blocking(std::int64_t user_id, const std::string& form_id) = 0;
  virtual core::Result<std::vector<GrantRecord>> list_grants_blocking(
      std::optional<std::int64_t> user_id) = 0;
};

// The hash-chained audit trail (A1, A2) and its signed checkpoints.
class AuditStore {
 public:
  virtual ~AuditStore() = default;

  // One write transaction that holds the chain's lock (every process and node): reads the
  // last row, calls `make` with it (nullopt for the first) to build the next row with its
  // hashes, inserts it and commits, so concurrent writers extend one chain, never a fork.
  // Returns the row stored. Errors: unavailable (busy, disk, database down), conflict (a
  // row with that seq exists: `make` did not build seq = last + 1).
  virtual core::Result<AuditRow> append_audit_blocking(
      const std::function<AuditRow(const std::optional<AuditRow>& last)>& make) = 0;
  // Rows with seq > after_seq in seq order, at most `limit`.
  virtual core::Result<std::vector<AuditRow>> list_audit_blocking(std::int64_t after_seq,
                                                                  std::size_t limit) = 0;
  // The row with the highest seq, if any.
  virtual core::Result<std::optional<AuditRow>> last_audit_blocking() = 0;
  virtual core::Result<std::int64_t> audit_count_blocking() = 0;
  // Stores a checkpoint; one already stored at the same count is kept (no error).
  virtual core::Status add_audit_checkpoint_blocking(const AuditCheckpointRow& checkpoint) = 0;
  // Every checkpoint, by count.
  virtual core::Result<std::vector<AuditCheckpointRow>> list_audit_checkpoints_blocking() = 0;
  // At most SubmissionStore::kMaxQueryRows rows.
  virtual core::Result<std::vector<AuditRow>> query_audit_blocking(const AuditQuery& query) = 0;
};

// What the nodes sharing one database must agree on.
class ClusterStore {
 public:
  virtual ~ClusterStore() = default;
  // Records `fingerprint` for the secret `name` unless one is recorded already, and returns
  // the recorded one (with its time): a node compares it with its own and refuses to start
  // on a mismatch. The fingerprint is a keyed hash, never the secret.
  struct Recorded {
    std::string fingerprint;
    std::int64_t recorded_at = 0;
  };
  virtual core::Result<Recorded> claim_secret_fingerprint_blocking(const std::string& name,
                                                                   const std::string& fingerprint,
                                                                   std::int64_t now) = 0;
};

// Blocked networks (F10). Every change bumps the config generation in the same
// transaction, so every node reloads its block list within a second (as for forms).
class BlockStore {
 public:
  virtual ~BlockStore() = default;
  // Inserts, or replaces the block of the same CIDR (a new reason or expiry).
  virtual core::Status put_block_blocking(const BlockRecord& block) = 0;
  // not_found when there is no block of that CIDR.
  virtual core::Status remove_block_blocking(const std::string& cidr) = 0;
  // Every block, expired ones included (the caller compares with its clock), by CIDR.
  virtual core::Result<std::vector<BlockRecord>> list_blocks_blocking() = 0;
};

// The portal's lockout counts, shared by every node of the database (P3): each method is
// one statement, atomic under concurrency on either engine.
class FailureStore {
 public:
  virtual ~FailureStore() = default;
  // Counts one failure for `key` at `now`; a count whose last failure is before
  // `forget_before` starts again at 1. Returns the count after this failure.
  virtual core::Result<FailureCount> add_failure_blocking(const std::string& key, std::int64_t now,
                                                          std::int64_t forget_before) = 0;
  virtual core::Result<std::optional<FailureCount>> failure_count_blocking(
      const std::string& key) = 0;
  // Forgetting a key that has no count is not an error.
  virtual core::Status clear_failures_blocking(const std::string& key) = 0;
  // Deletes counts whose last failure is before `before`; returns how many.
  virtual core::Result<std::size_t> prune_failures_blocking(std::int64_t before) = 0;
};

// Budgets shared by every node of the database (issue 7: form-post rate limits, the counts
// behind automatic blocks). Each method is one statement, atomic under concurrency on either
// engine, so N nodes spend one budget, not N. The tables keep the SHA-256 of each key, never
// the key itself (a client address). Times are the calling node's clock: nodes keep
// theirs in step (NTP), and a node s seconds fast gets at most s seconds' worth of refill
// early. On PostgreSQL the tables are UNLOGGED: no WAL flush per request, emptied by a
// crash of the database (budgets start afresh, as a restarted node's memory would).
class RateLimitStore {
 public:
  virtual ~RateLimitStore() = default;
  // GCRA (the generic cell rate algorithm: a token bucket kept as one time per key). Takes
  // one request for `key` at `now`: with tat = max(the key's theoretical arrival time, now)
  // + `interval`, it is allowed, and tat stored, when tat <= now + `tolerance`; a refused
  // request changes nothing. interval = 1 / rate and tolerance = burst x interval give the
  // token bucket of `burst` requests refilled at `rate`. All in microseconds; tolerance >=
  // interval (a burst of at least 1), else invalid_input.
  virtual core::Result<bool> take_blocking(const std::string& key, std::int64_t now,
                                           std::int64_t interval, std::int64_t tolerance) = 0;
  // Counts one event for `key` in the fixed window [window_start, window_start + window)
  // (seconds; window_start a multiple of window): the count starts again in a new window,
  // and the last window's count is kept as `previous` when the new one follows it directly.
  // A node whose clock is behind counts into the newer window already stored.
  virtual core::Result<EventCount> count_event_blocking(const std::string& key,
                                                        std::int64_t window_start,
                                                        std::int64_t window) = 0;
  // Forgetting a key that has no count is not an error.
  virtual core::Status clear_events_blocking(const std::string& key) = 0;
  // Deletes buckets whose tat is before `tat_before` (full again: the same as no row);
  // returns how many.
  virtual core::Result<std::size_t> prune_buckets_blocking(std::int64_t tat_before) = 0;
  // Deletes counts whose window started before `window_before`; returns how many.
  virtual core::Result<std::size_t> prune_events_blocking(std::int64_t window_before) = 0;
};

// Hands out the aggregates of one database. Only app/ opens one; modules take the
// aggregate they need.
// The outbound mail queue (issue 8): messages with their recipients, leases for
// attempts, every attempt's result, and which domains have been seen offering TLS (M4).
// Several nodes share it: a recipient is leased to one node at a time (PostgreSQL: FOR
// UPDATE SKIP LOCKED, so nodes claiming at once take different rows; SQLite: the one
// writer), and an attempt is recorded only while its lease is held.
class MailStore {
 public:
  virtual ~MailStore() = default;
  // At most this many recipients per message (an RFC 5321 server must take 100 per
  // transaction; a longer list is split by the caller into several messages).
  static constexpr std::size_t kMaxRecipients = 1000;
  // Adds the message and its recipients (state queued, due at `message.created_at`) in
  // one transaction. conflict: the id exists. Run it in a unit of work to commit it with
  // its audit entry.
  virtual core::Status enqueue_blocking(const MailMessageRecord& message,
                                        const std::vector<std::string>& addresses) = 0;
  // Leases to `owner` until `lease_until` at most `limit` recipients that are due at `now`
  // (queued or deferred, next_attempt_at <= now, no live lease), oldest due first, and
  // returns them. Two nodes claiming at once never get the same recipient.
  virtual core::Result<std::vector<ClaimedRecipient>> claim_due_blocking(const std::string& owner,
                                                                         std::int64_t now,
                                                                         std::int64_t lease_until,
                                                                         std::size_t limit) = 0;
  // Leases to `owner` every recipient of message `id` still waiting (queued, deferred or
  // awaiting_fallback, due or not) that no node holds a live lease on: what an operator's
  // `mail cancel` then records as dropped. Recipients being attempted right now are left out.
  virtual core::Result<std::vector<ClaimedRecipient>> claim_message_blocking(
      const std::string& owner, const std::string& id, std::int64_t now,
      std::int64_t lease_until) = 0;
  // Extends `owner`'s leases of these recipients (a long delivery); how many it still held.
  virtual core::Result<std::size_t> renew_leases_blocking(
      const std::string& owner, const std::vector<std::pair<std::string, int>>& recipients,
      std::int64_t lease_until) = 0;
  // Records an attempt: appends it to the history and moves the recipient to
  // `attempt.result` (due again at `next_attempt_at` when deferred), releasing the lease,
  // all in one transaction, and only if `owner` still holds the lease. Returns false when
  // it does not (the lease expired and another node took the recipient: nothing changes).
  virtual core::Result<bool> record_attempt_blocking(const std::string& owner,
                                                     const MailAttempt& attempt,
                                                     std::int64_t next_attempt_at) = 0;
  // Erases the sealed body of message `id` when every recipient is final (delivered,
  // bounced, dropped): what no longer has to be sent is no longer kept, so the database and
  // secrets/queue.key together read only what is still on its way. The envelope, the
  // recipients and every attempt stay. True when it erased the body now.
  virtual core::Result<bool> erase_body_if_final_blocking(const std::string& id) = 0;
  // Releases every lease `owner` holds (a clean stop); how many.
  virtual core::Result<std::size_t> release_leases_blocking(const std::string& owner) = 0;
  // The message (with its sealed body when `with_body`), or nullopt.
  virtual core::Result<std::optional<MailMessageRecord>> find_message_blocking(
      const std::string& id, bool with_body) = 0;
  virtual core::Result<std::vector<MailRecipientRecord>> list_recipients_blocking(
      const std::string& id) = 0;
  // Every attempt of the message, in order.
  virtual core::Result<std::vector<MailAttempt>> list_attempts_blocking(const std::string& id) = 0;
  // When the next recipient falls due (nullopt: nothing is waiting).
  virtual core::Result<std::optional<std::int64_t>> next_due_blocking() = 0;
  virtual core::Result<std::vector<MailQueueRow>> queue_summary_blocking() = 0;
  // M4: `domain` was seen offering TLS at `now` (first and last time kept).
  virtual core::Status note_tls_seen_blocking(const std::string& domain, std::int64_t now) = 0;
  // When `domain` was last seen offering TLS, if ever.
  virtual core::Result<std::optional<std::int64_t>> tls_seen_blocking(
      const std::string& domain) = 0;

  // TLS-RPT. Adds each row's count to the day's tally for its key (inside a unit of work
  // with the attempts it counts, or alone).
  virtual core::Status add_tls_sessions_blocking(const std::vector<TlsSessionCount>& rows) = 0;
  // The policy domains with sessions on `day` whose report nobody has taken on yet.
  virtual core::Result<std::vector<std::string>> tls_report_due_blocking(std::int64_t day) = 0;
  virtual core::Result<std::vector<TlsSessionCount>> tls_sessions_blocking(
      std::int64_t day, const std::string& policy_domain) = 0;
  // Takes on the report of (day, domain) for `owner`: true for exactly one caller, ever.
  virtual core::Result<bool> claim_tls_report_blocking(std::int64_t day,
                                                       const std::string& policy_domain,
                                                       const std::string& owner,
                                                       std::int64_t now) = 0;
  // What became of it: "sent: ...", "no record", "failed: ..." (words, no addresses).
  virtual core::Status finish_tls_report_blocking(std::int64_t day,
                                                  const std::string& policy_domain,
                                                  const std::string& outcome) = 0;

  // The cached MTA-STS policy of `domain` (lower case), expired or not, if any.
  virtual core::Result<std::optional<MtaStsRecord>> mta_sts_blocking(const std::string& domain) = 0;
  // Stores the policy of `record.domain`, replacing the one cached before. invalid_input
  // when a pattern holds a line break (the patterns are stored one per line).
  virtual core::Status put_mta_sts_blocking(const MtaStsRecord& record) = 0;
};

// API keys of the HTTP API (issue 8). Each method is one statement.
class ApiKeyStore {
 public:
  virtual ~ApiKeyStore() = default;
  // conflict if the id exists; invalid_input for a scope that is not UTF-8.
  virtual core::Status add_api_key_blocking(const ApiKeyRecord& key) = 0;
  virtual core::Result<std::optional<ApiKeyRecord>> find_api_key_blocking(
      const std::string& id) = 0;
  // Every key, revoked ones included, by creation time.
  virtual core::Result<std::vector<ApiKeyRecord>> list_api_keys_blocking() = 0;
  // Sets revoked_at. not_found if there is no such key, conflict if it is revoked already.
  virtual core::Status revoke_api_key_blocking(const std::string& id, std::int64_t now) = 0;
  // Sets last_used_at (a key gone meanwhile is not an error).
  virtual core::Status touch_api_key_blocking(const std::string& id, std::int64_t now) = 0;
};

// Webhooks for integrators (issue 9 point 7): the endpoints and a durable queue of
// deliveries, one row per (event, webhook), leased like the mail queue (PostgreSQL: FOR
// UPDATE SKIP LOCKED; SQLite: the one writer), so two nodes never send one at once.
class WebhookStore {
 public:
  virtual ~WebhookStore() = default;
  // conflict if the id exists.
  virtual core::Status add_webhook_blocking(const WebhookRecord& webhook) = 0;
  virtual core::Result<std::optional<WebhookRecord>> find_webhook_blocking(
      const std::string& id) = 0;
  // Every webhook, removed ones included, by creation time.
  virtual core::Result<std::vector<WebhookRecord>> list_webhooks_blocking() = 0;
  // Sets removed_at and cancels its pending deliveries. not_found if there is no such
  // webhook or it is removed already.
  virtual core::Status remove_webhook_blocking(const std::string& id, std::int64_t now) = 0;
  // Adds a pending delivery of the event, due at `now`, for every webhook not removed that
  // takes `type`; returns how many. An event id already queued for a webhook adds nothing
  // for it (a second run of a unit of work). Run it in the unit of work of what caused it.
  virtual core::Result<std::size_t> enqueue_event_blocking(const std::string& event_id,
                                                           const std::string& type,
                                                           const std::string& payload,
                                                           std::int64_t now) = 0;
  // Leases to `owner` until `lease_until` at most `limit` pending deliveries due at `now`
  // with no live lease, oldest due first.
  virtual core::Result<std::vector<ClaimedWebhookDelivery>> claim_due_blocking(
      const std::string& owner, std::int64_t now, std::int64_t lease_until, std::size_t limit) = 0;
  // Records an attempt's result (state pending = retry at next_attempt_at), releasing the
  // lease, only if `owner` still holds it; false when it does not (nothing changes).
  virtual core::Result<bool> record_attempt_blocking(
      const std::string& owner, const std::string& event_id, const std::string& webhook_id,
      WebhookDeliveryState state, std::int64_t next_attempt_at,
      std::optional<std::int64_t> http_status, const std::string& error, std::int64_t now) = 0;
  // Releases every lease `owner` holds (a clean stop); how many.
  virtual core::Result<std::size_t> release_leases_blocking(const std::string& owner) = 0;
  // The newest deliveries of a webhook first, at most `limit`.
  virtual core::Result<std::vector<WebhookDeliveryRecord>> list_deliveries_blocking(
      const std::string& webhook_id, std::size_t limit) = 0;
  // One row per webhook that has deliveries.
  virtual core::Result<std::vector<WebhookSummary>> summary_blocking() = 0;
  // When the next pending delivery falls due (nullopt: nothing is waiting).
  virtual core::Result<std::optional<std::int64_t>> next_due_blocking() = 0;
};

// The secure-message portal's copies (issue 9, docs/THREAT_MODEL.md). Each method is one
// statement, safe under concurrency on its own.
class SecureMessageStore {
 public:
  virtual ~SecureMessageStore() = default;
  // conflict: the id exists. Run it in the unit of work that queues the message.
  virtual core::Status add_secure_message_blocking(const SecureMessageRecord& record) = 0;
  virtual core::Result<std::optional<SecureMessageRecord>> find_secure_message_blocking(
      const std::string& id) = 0;
  // Every copy of queue message `message_id`, by recipient.
  virtual core::Result<std::vector<SecureMessageRecord>> list_secure_messages_blocking(
      const std::string& message_id) = 0;
  // Replaces the pending one-time code (its hash) of copy `id`, if it is neither revoked
  // nor expired at `now`. False when no such live copy.
  virtual core::Result<bool> set_secure_code_blocking(const std::string& id,
                                                      const std::string& code_hash,
                                                      std::int64_t code_expires_at,
                                                      std::int64_t now) = 0;
  // Consumes the pending code of copy `id` if its hash is `code_hash` and it has not
  // expired at `now` (single use: a concurrent second consume finds none). The comparison
  // is the database's of two SHA-256 hashes of the code, never of the code itself.
  virtual core::Result<bool> consume_secure_code_blocking(const std::string& id,
                                                          const std::string& code_hash,
                                                          std::int64_t now) = 0;
  // Sets first_read_at to `now` if it is not set yet; true when this call set it.
  virtual core::Result<bool> mark_secure_read_blocking(const std::string& id, std::int64_t now) = 0;
  // Revokes every unread, unrevoked copy of message `message_id`; how many.
  virtual core::Result<std::size_t> revoke_secure_messages_blocking(const std::string& message_id,
                                                                    std::int64_t now) = 0;
  // Erases the ciphertext (and any pending code) of every copy expired at `now` or revoked;
  // the row stays, for the sender's read receipt and the trail. How many were erased.
  virtual core::Result<std::size_t> prune_secure_messages_blocking(std::int64_t now) = 0;
  // Counts one secure reply from copy `id` if fewer than `max` were counted and the copy is
  // neither revoked nor expired at `now`; false when it is not counted.
  virtual core::Result<bool> count_secure_reply_blocking(const std::string& id, std::int64_t max,
                                                         std::int64_t now) = 0;

  // Recipient accounts, by lower-case address.
  virtual core::Result<std::optional<RecipientAccountRecord>> find_recipient_account_blocking(
      const std::string& address) = 0;
  // conflict if the address has an account.
  virtual core::Status add_recipient_account_blocking(const RecipientAccountRecord& account) = 0;
  // Replaces the account's TOTP secret with an unconfirmed `sealed` one; false: no account,
  // or its TOTP is confirmed already (removing it is an administrator's reset).
  virtual core::Result<bool> begin_recipient_totp_blocking(const std::string& address,
                                                           const std::vector<std::uint8_t>& sealed,
                                                           std::int64_t now) = 0;
  // Confirms the pending secret if it is still `sealed`, at `step`; false otherwise.
  virtual core::Result<bool> confirm_recipient_totp_blocking(
      const std::string& address, const std::vector<std::uint8_t>& sealed, std::int64_t step,
      std::int64_t now) = 0;
  // Moves the last used step to `step` if it is later; false for a replayed code.
  virtual core::Result<bool> advance_recipient_totp_blocking(const std::string& address,
                                                             std::int64_t step) = 0;
  // Deletes the account (`sealpost recipient reset`); false if there is none.
  virtual core::Result<bool> remove_recipient_account_blocking(const std::string& address) = 0;
};

// Contacts and their authorisations (issue 11, C1). An import is staged first, in as many
// short transactions as it takes (nothing of it is visible), then applied in one: the
// contacts, their fields and the grants appear together or not at all.
class ContactStore {
 public:
  virtual ~ContactStore() = default;
  // Adds rows to import `import_id`'s stage. Run it in units of work of a bounded size.
  virtual core::Status stage_contacts_blocking(const std::string& import_id,
                                               const std::vector<StagedContact>& rows) = 0;
  // Applies the stage: new addresses become contacts (source `source`), existing ones get the
  // staged fields (replacing fields of the same name), and `grant`, when given, is added for
  // each staged contact; then the stage is emptied. Run it in the unit of work that audits it.
  virtual core::Result<ImportCounts> apply_import_blocking(const std::string& import_id,
                                                           const std::string& source,
                                                           const std::optional<ImportGrant>& grant,
                                                           std::int64_t now) = 0;
  // Empties import `import_id`'s stage (an import that failed or was abandoned).
  virtual core::Status drop_import_blocking(const std::string& import_id) = 0;
  virtual core::Result<std::optional<ContactRecord>> find_contact_by_address_blocking(
      const std::string& address) = 0;
  virtual core::Result<std::optional<ContactRecord>> find_contact_blocking(
      const std::string& id) = 0;
  // conflict if the id or the address exists.
  virtual core::Status add_contact_blocking(const ContactRecord& contact) = 0;
  // Sets (adds or replaces) one field of a contact, and its updated_at to `now`.
  virtual core::Status set_contact_field_blocking(const std::string& contact_id,
                                                  const ContactField& field, std::int64_t now) = 0;
  // Contacts by id, after `after_id` (exclusive), at most `limit`: paging that holds no more
  // than a page in memory.
  virtual core::Result<std::vector<ContactRecord>> list_contacts_blocking(
      const std::string& after_id, std::size_t limit) = 0;
  virtual core::Result<std::int64_t> count_contacts_blocking() = 0;
  // The named fields of a contact only (C4: a send loads what its template declares).
  virtual core::Result<std::vector<ContactField>> load_fields_blocking(
      const std::string& contact_id, const std::vector<std::string>& names) = 0;
  // The names of a contact's fields (never their values).
  virtual core::Result<std::vector<std::string>> field_names_blocking(
      const std::string& contact_id) = 0;
  // conflict if the id exists.
  virtual core::Status add_authorisation_blocking(const AuthorisationRecord& authorisation) = 0;
  // A contact's authorisations, newest first.
  virtual core::Result<std::vector<AuthorisationRecord>> list_authorisations_blocking(
      const std::string& contact_id) = 0;
  // Revokes every authorisation in force of the contact for `purpose`; how many.
  virtual core::Result<std::size_t> revoke_authorisations_blocking(const std::string& contact_id,
                                                                   const std::string& purpose,
                                                                   const std::string& via,
                                                                   std::int64_t now) = 0;
  // Per purpose: contacts with an authorisation in force at `now`, and revoked ones.
  virtual core::Result<std::vector<PurposeCount>> purpose_counts_blocking(std::int64_t now) = 0;
};

// Campaigns (issue 11). Writes that change what an approval covers, or a campaign's state,
// run in the unit of work that audits them.
class CampaignStore {
 public:
  virtual ~CampaignStore() = default;
  // conflict if the id exists.
  virtual core::Status add_campaign_blocking(const CampaignRecord& campaign) = 0;
  virtual core::Result<std::optional<CampaignRecord>> find_campaign_blocking(
      const std::string& id) = 0;
  // Newest first, at most `limit`.
  virtual core::Result<std::vector<CampaignRecord>> list_campaigns_blocking(std::size_t limit) = 0;
  // Replaces what was written (name .. per_minute, content_hash) and voids the approval;
  // only while the campaign is a draft or paused (false otherwise: nothing changed).
  virtual core::Result<bool> update_campaign_blocking(const CampaignRecord& campaign,
                                                      std::int64_t now) = 0;
  // Records the approval of `content_hash` by `approver`, if it is still the campaign's hash
  // and the campaign is a draft or paused (false otherwise).
  virtual core::Result<bool> approve_campaign_blocking(const std::string& id,
                                                       const std::string& content_hash,
                                                       const std::string& approver,
                                                       std::int64_t now) = 0;
  // Moves the campaign to `to` from the states that may lead there: `sending` from draft or
  // paused (sets started_at once), `paused` and `sent` from sending, `cancelled` from draft,
  // sending or paused (`sent` and `cancelled` set finished_at and release the lease). False
  // when it was in none of them; invalid_input for any other `to`.
  virtual core::Result<bool> set_campaign_state_blocking(const std::string& id, std::string_view to,
                                                         std::int64_t now) = 0;
  // Campaigns in `sending` whose schedule is due at `now`, ids only.
  virtual core::Result<std::vector<std::string>> due_campaigns_blocking(std::int64_t now) = 0;
  // Takes (or renews) the right to send campaign `id` until `until`, if it is sending and
  // nobody else holds a live lease.
  virtual core::Result<bool> lease_campaign_blocking(const std::string& id,
                                                     const std::string& owner, std::int64_t now,
                                                     std::int64_t until) = 0;
  virtual core::Status release_campaign_blocking(const std::string& id,
                                                 const std::string& owner) = 0;
  // Moves the cursor forward (never back) for the lease's owner.
  virtual core::Status advance_cursor_blocking(const std::string& id, const std::string& owner,
                                               const std::string& cursor) = 0;
  // conflict if the contact has a row for this campaign already (each contact once).
  virtual core::Status add_send_blocking(const CampaignSend& send) = 0;
  virtual core::Result<bool> has_send_blocking(const std::string& campaign_id,
                                               const std::string& contact_id) = 0;
  virtual core::Result<CampaignProgress> progress_blocking(const std::string& campaign_id) = 0;
  // Whether mail to `address` has bounced for good before (a recipient row `bounced`).
  virtual core::Result<bool> bounced_before_blocking(const std::string& address) = 0;
  // C1: the queued campaign messages of `contact_id` for `purpose` that no node is delivering
  // now are withdrawn: their recipients become `dropped`, their sends `withdrawn`. Their
  // message ids (the caller erases the bodies and audits, in the same unit of work).
  virtual core::Result<std::vector<std::string>> withdraw_queued_blocking(
      const std::string& contact_id, const std::string& purpose, std::int64_t now) = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  virtual SubmissionStore& submissions() = 0;
  virtual FormStore& forms() = 0;
  virtual AccountStore& accounts() = 0;
  virtual AuditStore& audit() = 0;
  virtual ClusterStore& cluster() = 0;
  virtual BlockStore& blocks() = 0;
  virtual FailureStore& failures() = 0;
  virtual RateLimitStore& rate_limits() = 0;
  virtual MailStore& mail() = 0;
  virtual ApiKeyStore& api_keys() = 0;
  virtual WebhookStore& webhooks() = 0;
  virtual SecureMessageStore& secure_messages() = 0;
  virtual ContactStore& contacts() = 0;
  virtual CampaignStore& campaigns() = 0;
  // "sqlite" or "postgresql".
  virtual std::string_view engine_name() const = 0;
  // For logs: which database, without secrets.
  virtual std::string describe() const = 0;
  // Stops accepting appends, finishes (commits) everything already accepted, joins the
  // writer. Idempotent.
  virtual void close() = 0;

  // For metrics (O3). Called on the group-commit writer thread after every batch, committed
  // or not: how many submissions it held, the seconds its COMMIT took, whether it
  // committed. Must not block. A store without a group-commit writer (a test fake) has
  // nothing to report: the defaults do nothing.
  using CommitObserver = std::function<void(std::size_t batch, double seconds, bool committed)>;
  virtual void set_commit_observer(CommitObserver observer) { (void)observer; }
  // Submissions accepted by append_submission that wait for the writer.
  virtual std::size_t pending_appends() const { return 0; }

  // A unit of work: runs `work` in one write transaction on one connection, and everything
  // it does through `tx` (any aggregate) commits together or not at all — a change and its
  // audit entry, a grant and the form version it makes. A failure `work` returns rolls
  // back and is returned as is. `work` may run more than once (a serialisation failure or
  // busy lock is retried), so it must have no effect outside `tx` that a second run would
  // repeat. Appending a submission through `tx` is refused: the group commit has its own
  // transactions. Blocks; while it runs, other writers wait (SQLite) or queue on the rows
  // and locks it takes (PostgreSQL): keep it short.
  virtual core::Status transact_blocking(std::string_view what,
                                         const std::function<core::Status(Store& tx)>& work) = 0;
};

struct StoreOptions {
  // Empty: SQLite at `sqlite_path`. Otherwise a postgresql:// URI.
  std::string database;
  std::string sqlite_path;
  // The PostgreSQL password (from DIR/secrets/database-password); empty: libpq's own
  // PGPASSFILE or none.
  core::SecretBytes password;
  // Connections in the pool for reads and small writes (the group-commit writer has its
  // own). SQLite readers do not block each other in WAL mode; its writes serialise on the
  // file's lock anyway.
  std::size_t pool_size = 8;
  // Group commit: the writer takes up to this many waiting submissions per transaction.
  std::size_t max_batch = 256;
  // Appends waiting beyond this are refused with `unavailable` (back-pressure).
  std::size_t max_pending = 4096;
};

// Checks a database setting before anything connects: a postgresql:// URI that libpq can
// parse and that holds no password. invalid_input with a clear text otherwise.
core::Status check_database_uri(const std::string& uri);
// The URI without secrets, for messages and logs.
std::string describe_database(const std::string& uri);

// Opens the database (creating an SQLite file with mode 0600 if needed), applies the
// migrations, starts the group-commit writer.
core::Result<std::unique_ptr<Store>> open_store_blocking(const StoreOptions& options);

}  // namespace store
