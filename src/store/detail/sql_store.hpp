#pragma once
// The aggregates' SQL, written once and run by either engine (on the pool, engine::Database,
// or inside a unit of work, engine::InTransaction), and the Store that owns them. Only store/ and
// the store's own tests include this header.

#include <memory>
#include <string>

#include "store/detail/group_commit.hpp"
#include "store/engine/database.hpp"
#include "store/store.hpp"

namespace store::detail {

// Lock ids for engine::Connection::lock_for_transaction (PostgreSQL advisory locks).
inline constexpr std::int64_t kAuditChainLock = 0x5ea1'0002;

// The audit chain's statements for a write transaction another operation runs (the group
// commit's receipts, append_audit): take the chain's lock and read its head; insert a row.
core::Result<std::optional<AuditRow>> lock_audit_head_txn(engine::Connection& conn);
core::Status insert_audit_txn(engine::Connection& conn, const AuditRow& row);
// The webhooks' enqueue (WebhookStore::enqueue_event_blocking) as a statement of a write
// transaction another operation runs (the group commit's receipts).
// Whether any webhook in force subscribes to `type`: the group commit asks once a batch, so
// that a node without webhooks spends no statement per submission on them.
core::Result<bool> any_webhook_subscribes_txn(engine::Connection& conn, std::string_view type);
core::Result<std::size_t> enqueue_webhook_event_txn(engine::Connection& conn,
                                                    const WebhookEvent& event, std::int64_t now);

class SqlSubmissions final : public SubmissionStore {
 public:
  // `writer`: the group commit that appends submissions; none inside a unit of work.
  SqlSubmissions(engine::Executor& db, GroupCommit* writer) : db_(db), writer_(writer) {}
  void set_receipt_audit(ReceiptAudit make) override;
  void set_receipt_event(ReceiptEvent make) override;
  void append_submission(NewSubmission submission, std::function<void(core::Status)> done) override;
  core::Result<bool> token_used_blocking(const TokenNonce& nonce) override;
  core::Result<std::optional<SubmissionMeta>> find_submission_blocking(
      const std::string& form_id, const std::string& reference) override;
  core::Result<std::vector<StoredSubmission>> list_submissions_blocking(
      const std::string& form_id, const std::optional<std::string>& since_reference,
      std::size_t limit) override;
  core::Result<std::size_t> count_submissions_blocking(const std::string& form_id) override;
  core::Result<std::vector<SubmissionMeta>> query_submissions_blocking(
      const SubmissionQuery& query) override;
  core::Result<std::optional<StoredSubmission>> get_submission_blocking(
      const std::string& form_id, const std::string& reference) override;
  core::Result<std::vector<StoredSubmission>> query_ciphertexts_blocking(
      const SubmissionQuery& query) override;

 private:
  engine::Executor& db_;
  GroupCommit* writer_;
};

class SqlForms final : public FormStore {
 public:
  explicit SqlForms(engine::Executor& db) : db_(db) {}
  core::Result<int> add_form_version_blocking(
      const std::string& form_id, const std::string& declaration, std::int64_t now,
      const std::vector<std::string>& granted_recipients) override;
  core::Result<std::vector<FormVersion>> latest_forms_blocking() override;
  core::Result<std::optional<FormVersion>> latest_form_blocking(
      const std::string& form_id) override;
  core::Result<std::optional<FormVersion>> form_version_blocking(const std::string& form_id,
                                                                 int version) override;
  core::Status set_form_enabled_blocking(const std::string& form_id, bool enabled) override;
  core::Status put_key_blocking(const KeyRecord& key) override;
  core::Result<std::vector<KeyRecord>> list_keys_blocking() override;
  core::Result<std::optional<KeyRecord>> find_key_blocking(const std::string& fingerprint) override;
  core::Status put_cert_blocking(const CertRecord& cert) override;
  core::Result<std::vector<CertRecord>> list_certs_blocking() override;
  core::Status remove_cert_blocking(const std::string& sha256) override;
  core::Result<std::int64_t> config_generation_blocking() override;

 private:
  engine::Executor& db_;
};

class SqlAccounts final : public AccountStore {
 public:
  explicit SqlAccounts(engine::Executor& db) : db_(db) {}
  core::Result<std::int64_t> create_user_blocking(const std::string& email, unsigned roles,
                                                  std::int64_t now) override;
  core::Result<std::optional<UserRecord>> find_user_blocking(std::int64_t id) override;
  core::Result<std::optional<UserRecord>> find_user_by_email_blocking(
      const std::string& email) override;
  core::Result<std::vector<UserRecord>> list_users_blocking() override;
  core::Status update_user_blocking(const UserRecord& user) override;
  core::Result<bool> advance_totp_step_blocking(std::int64_t user_id, std::int64_t step) override;
  core::Status add_enrolment_blocking(const std::string& token_hash, std::int64_t user_id,
                                      std::int64_t expires_at, std::int64_t now) override;
  core::Result<std::int64_t> consume_enrolment_blocking(const std::string& token_hash,
                                                        std::int64_t now) override;
  core::Status replace_recovery_codes_blocking(std::int64_t user_id,
                                               const std::vector<std::string>& hashes) override;
  core::Result<bool> use_recovery_code_blocking(std::int64_t user_id, const std::string& hash,
                                                std::int64_t now) override;
  core::Result<std::size_t> unused_recovery_codes_blocking(std::int64_t user_id) override;
  core::Status create_session_blocking(const SessionRecord& session) override;
  core::Result<std::optional<SessionRecord>> find_session_blocking(
      const std::string& id_hash) override;
  core::Status touch_session_blocking(const std::string& id_hash, std::int64_t now) override;
  core::Status delete_session_blocking(const std::string& id_hash) override;
  core::Result<std::size_t> delete_user_sessions_blocking(std::int64_t user_id) override;
  core::Result<std::size_t> prune_sessions_blocking(std::int64_t created_before,
                                                    std::int64_t idle_before) override;
  core::Result<std::size_t> count_sessions_blocking(std::int64_t created_since,
                                                    std::int64_t seen_since) override;
  core::Status add_grant_blocking(const GrantRecord& grant) override;
  core::Status remove_grant_blocking(std::int64_t user_id, const std::string& form_id) override;
  core::Result<std::vector<GrantRecord>> list_grants_blocking(
      std::optional<std::int64_t> user_id) override;

 private:
  engine::Executor& db_;
};

class SqlAudit final : public AuditStore {
 public:
  explicit SqlAudit(engine::Executor& db) : db_(db) {}
  core::Result<AuditRow> append_audit_blocking(
      const std::function<AuditRow(const std::optional<AuditRow>& last)>& make) override;
  core::Result<std::vector<AuditRow>> list_audit_blocking(std::int64_t after_seq,
                                                          std::size_t limit) override;
  core::Result<std::optional<AuditRow>> last_audit_blocking() override;
  core::Result<std::int64_t> audit_count_blocking() override;
  core::Status add_audit_checkpoint_blocking(const AuditCheckpointRow& checkpoint) override;
  core::Result<std::vector<AuditCheckpointRow>> list_audit_checkpoints_blocking() override;
  core::Result<std::vector<AuditRow>> query_audit_blocking(const AuditQuery& query) override;

 private:
  engine::Executor& db_;
};

class SqlCluster final : public ClusterStore {
 public:
  explicit SqlCluster(engine::Executor& db) : db_(db) {}
  core::Result<Recorded> claim_secret_fingerprint_blocking(const std::string& name,
                                                           const std::string& fingerprint,
                                                           std::int64_t now) override;

 private:
  engine::Executor& db_;
};

class SqlBlocks final : public BlockStore {
 public:
  explicit SqlBlocks(engine::Executor& db) : db_(db) {}
  core::Status put_block_blocking(const BlockRecord& block) override;
  core::Status remove_block_blocking(const std::string& cidr) override;
  core::Result<std::vector<BlockRecord>> list_blocks_blocking() override;

 private:
  engine::Executor& db_;
};

class SqlFailures final : public FailureStore {
 public:
  explicit SqlFailures(engine::Executor& db) : db_(db) {}
  core::Result<FailureCount> add_failure_blocking(const std::string& key, std::int64_t now,
                                                  std::int64_t forget_before) override;
  core::Result<std::optional<FailureCount>> failure_count_blocking(const std::string& key) override;
  core::Status clear_failures_blocking(const std::string& key) override;
  core::Result<std::size_t> prune_failures_blocking(std::int64_t before) override;

 private:
  engine::Executor& db_;
};

class SqlRateLimits final : public RateLimitStore {
 public:
  explicit SqlRateLimits(engine::Executor& db) : db_(db) {}
  core::Result<bool> take_blocking(const std::string& key, std::int64_t now, std::int64_t interval,
                                   std::int64_t tolerance) override;
  core::Result<EventCount> count_event_blocking(const std::string& key, std::int64_t window_start,
                                                std::int64_t window) override;
  core::Status clear_events_blocking(const std::string& key) override;
  core::Result<std::size_t> prune_buckets_blocking(std::int64_t tat_before) override;
  core::Result<std::size_t> prune_events_blocking(std::int64_t window_before) override;

 private:
  engine::Executor& db_;
};

class SqlMail final : public MailStore {
 public:
  explicit SqlMail(engine::Executor& db) : db_(db) {}
  core::Status enqueue_blocking(const MailMessageRecord& message,
                                const std::vector<std::string>& addresses) override;
  core::Status add_tls_sessions_blocking(const std::vector<TlsSessionCount>& rows) override;
  core::Result<std::vector<std::string>> tls_report_due_blocking(std::int64_t day) override;
  core::Result<std::vector<TlsSessionCount>> tls_sessions_blocking(
      std::int64_t day, const std::string& policy_domain) override;
  core::Result<bool> claim_tls_report_blocking(std::int64_t day, const std::string& policy_domain,
                                               const std::string& owner, std::int64_t now) override;
  core::Status finish_tls_report_blocking(std::int64_t day, const std::string& policy_domain,
                                          const std::string& outcome) override;
  core::Result<std::vector<ClaimedRecipient>> claim_message_blocking(
      const std::string& owner, const std::string& id, std::int64_t now,
      std::int64_t lease_until) override;
  core::Result<std::vector<ClaimedRecipient>> claim_due_blocking(const std::string& owner,
                                                                 std::int64_t now,
                                                                 std::int64_t lease_until,
                                                                 std::size_t limit) override;
  core::Result<std::size_t> renew_leases_blocking(
      const std::string& owner, const std::vector<std::pair<std::string, int>>& recipients,
      std::int64_t lease_until) override;
  core::Result<bool> record_attempt_blocking(const std::string& owner, const MailAttempt& attempt,
                                             std::int64_t next_attempt_at) override;
  core::Result<bool> erase_body_if_final_blocking(const std::string& id) override;
  core::Result<std::size_t> release_leases_blocking(const std::string& owner) override;
  core::Result<std::optional<MailMessageRecord>> find_message_blocking(const std::string& id,
                                                                       bool with_body) override;
  core::Result<std::vector<MailRecipientRecord>> list_recipients_blocking(
      const std::string& id) override;
  core::Result<std::vector<MailAttempt>> list_attempts_blocking(const std::string& id) override;
  core::Result<std::optional<std::int64_t>> next_due_blocking() override;
  core::Result<std::vector<MailQueueRow>> queue_summary_blocking() override;
  core::Status note_tls_seen_blocking(const std::string& domain, std::int64_t now) override;
  core::Result<std::optional<std::int64_t>> tls_seen_blocking(const std::string& domain) override;
  core::Result<std::optional<MtaStsRecord>> mta_sts_blocking(const std::string& domain) override;
  core::Status put_mta_sts_blocking(const MtaStsRecord& record) override;

 private:
  engine::Executor& db_;
};

class SqlApiKeys final : public ApiKeyStore {
 public:
  explicit SqlApiKeys(engine::Executor& db) : db_(db) {}
  core::Status add_api_key_blocking(const ApiKeyRecord& key) override;
  core::Result<std::optional<ApiKeyRecord>> find_api_key_blocking(const std::string& id) override;
  core::Result<std::vector<ApiKeyRecord>> list_api_keys_blocking() override;
  core::Status revoke_api_key_blocking(const std::string& id, std::int64_t now) override;
  core::Status touch_api_key_blocking(const std::string& id, std::int64_t now) override;

 private:
  engine::Executor& db_;
};

class SqlWebhooks final : public WebhookStore {
 public:
  explicit SqlWebhooks(engine::Executor& db) : db_(db) {}
  core::Status add_webhook_blocking(const WebhookRecord& webhook) override;
  core::Result<std::optional<WebhookRecord>> find_webhook_blocking(const std::string& id) override;
  core::Result<std::vector<WebhookRecord>> list_webhooks_blocking() override;
  core::Status remove_webhook_blocking(const std::string& id, std::int64_t now) override;
  core::Result<std::size_t> enqueue_event_blocking(const std::string& event_id,
                                                   const std::string& type,
                                                   const std::string& payload,
                                                   std::int64_t now) override;
  core::Result<std::vector<ClaimedWebhookDelivery>> claim_due_blocking(const std::string& owner,
                                                                       std::int64_t now,
                                                                       std::int64_t lease_until,
                                                                       std::size_t limit) override;
  core::Result<bool> record_attempt_blocking(const std::string& owner, const std::string& event_id,
                                             const std::string& webhook_id,
                                             WebhookDeliveryState state,
                                             std::int64_t next_attempt_at,
                                             std::optional<std::int64_t> http_status,
                                             const std::string& error, std::int64_t now) override;
  core::Result<std::size_t> release_leases_blocking(const std::string& owner) override;
  core::Result<std::vector<WebhookDeliveryRecord>> list_deliveries_blocking(
      const std::string& webhook_id, std::size_t limit) override;
  core::Result<std::vector<WebhookSummary>> summary_blocking() override;
  core::Result<std::optional<std::int64_t>> next_due_blocking() override;

 private:
  engine::Executor& db_;
};

class SqlSecureMessages final : public SecureMessageStore {
 public:
  explicit SqlSecureMessages(engine::Executor& db) : db_(db) {}
  core::Status add_secure_message_blocking(const SecureMessageRecord& record) override;
  core::Result<std::optional<SecureMessageRecord>> find_secure_message_blocking(
      const std::string& id) override;
  core::Result<std::vector<SecureMessageRecord>> list_secure_messages_blocking(
      const std::string& message_id) override;
  core::Result<bool> set_secure_code_blocking(const std::string& id, const std::string& code_hash,
                                              std::int64_t code_expires_at,
                                              std::int64_t now) override;
  core::Result<bool> consume_secure_code_blocking(const std::string& id,
                                                  const std::string& code_hash,
                                                  std::int64_t now) override;
  core::Result<bool> mark_secure_read_blocking(const std::string& id, std::int64_t now) override;
  core::Result<std::size_t> revoke_secure_messages_blocking(const std::string& message_id,
                                                            std::int64_t now) override;
  core::Result<std::size_t> prune_secure_messages_blocking(std::int64_t now) override;
  core::Result<bool> count_secure_reply_blocking(const std::string& id, std::int64_t max,
                                                 std::int64_t now) override;
  core::Result<std::optional<RecipientAccountRecord>> find_recipient_account_blocking(
      const std::string& address) override;
  core::Status add_recipient_account_blocking(const RecipientAccountRecord& account) override;
  core::Result<bool> begin_recipient_totp_blocking(const std::string& address,
                                                   const std::vector<std::uint8_t>& sealed,
                                                   std::int64_t now) override;
  core::Result<bool> confirm_recipient_totp_blocking(const std::string& address,
                                                     const std::vector<std::uint8_t>& sealed,
                                                     std::int64_t step, std::int64_t now) override;
  core::Result<bool> advance_recipient_totp_blocking(const std::string& address,
                                                     std::int64_t step) override;
  core::Result<bool> remove_recipient_account_blocking(const std::string& address) override;

 private:
  engine::Executor& db_;
};

class SqlContacts final : public ContactStore {
 public:
  explicit SqlContacts(engine::Executor& db) : db_(db) {}
  core::Status stage_contacts_blocking(const std::string& import_id,
                                       const std::vector<StagedContact>& rows) override;
  core::Result<ImportCounts> apply_import_blocking(const std::string& import_id,
                                                   const std::string& source,
                                                   const std::optional<ImportGrant>& grant,
                                                   std::int64_t now) override;
  core::Status drop_import_blocking(const std::string& import_id) override;
  core::Result<std::optional<ContactRecord>> find_contact_by_address_blocking(
      const std::string& address) override;
  core::Result<std::optional<ContactRecord>> find_contact_blocking(const std::string& id) override;
  core::Status add_contact_blocking(const ContactRecord& contact) override;
  core::Status set_contact_field_blocking(const std::string& contact_id, const ContactField& field,
                                          std::int64_t now) override;
  core::Result<std::vector<ContactRecord>> list_contacts_blocking(const std::string& after_id,
                                                                  std::size_t limit) override;
  core::Result<std::int64_t> count_contacts_blocking() override;
  core::Result<std::vector<ContactField>> load_fields_blocking(
      const std::string& contact_id, const std::vector<std::string>& names) override;
  core::Result<std::vector<std::string>> field_names_blocking(
      const std::string& contact_id) override;
  core::Status add_authorisation_blocking(const AuthorisationRecord& authorisation) override;
  core::Result<std::vector<AuthorisationRecord>> list_authorisations_blocking(
      const std::string& contact_id) override;
  core::Result<std::size_t> revoke_authorisations_blocking(const std::string& contact_id,
                                                           const std::string& purpose,
                                                           const std::string& via,
                                                           std::int64_t now) override;
  core::Result<std::vector<PurposeCount>> purpose_counts_blocking(std::int64_t now) override;

 private:
  engine::Executor& db_;
};

class SqlCampaigns final : public CampaignStore {
 public:
  explicit SqlCampaigns(engine::Executor& db) : db_(db) {}
  core::Status add_campaign_blocking(const CampaignRecord& campaign) override;
  core::Result<std::optional<CampaignRecord>> find_campaign_blocking(
      const std::string& id) override;
  core::Result<std::vector<CampaignRecord>> list_campaigns_blocking(std::size_t limit) override;
  core::Result<bool> update_campaign_blocking(const CampaignRecord& campaign,
                                              std::int64_t now) override;
  core::Result<bool> approve_campaign_blocking(const std::string& id,
                                               const std::string& content_hash,
                                               const std::string& approver,
                                               std::int64_t now) override;
  core::Result<bool> set_campaign_state_blocking(const std::string& id, std::string_view to,
                                                 std::int64_t now) override;
  core::Result<std::vector<std::string>> due_campaigns_blocking(std::int64_t now) override;
  core::Result<bool> lease_campaign_blocking(const std::string& id, const std::string& owner,
                                             std::int64_t now, std::int64_t until) override;
  core::Status release_campaign_blocking(const std::string& id, const std::string& owner) override;
  core::Status advance_cursor_blocking(const std::string& id, const std::string& owner,
                                       const std::string& cursor) override;
  core::Status add_send_blocking(const CampaignSend& send) override;
  core::Result<bool> has_send_blocking(const std::string& campaign_id,
                                       const std::string& contact_id) override;
  core::Result<CampaignProgress> progress_blocking(const std::string& campaign_id) override;
  core::Result<bool> bounced_before_blocking(const std::string& address) override;
  core::Result<std::vector<std::string>> withdraw_queued_blocking(const std::string& contact_id,
                                                                  const std::string& purpose,
                                                                  std::int64_t now) override;

 private:
  engine::Executor& db_;
};

// The Store of either engine.
// Every aggregate, over one executor: the pool (SqlStore) or a unit of work's connection
// (TxStore). A new aggregate is one member here, one line in the constructor, one accessor
// in AggregateStore.
struct Aggregates {
  Aggregates(engine::Executor& db, GroupCommit* writer)
      : submissions(db, writer),
        forms(db),
        accounts(db),
        audit(db),
        cluster(db),
        blocks(db),
        failures(db),
        rate_limits(db),
        mail(db),
        api_keys(db),
        webhooks(db),
        secure_messages(db),
        contacts(db),
        campaigns(db) {}
  SqlSubmissions submissions;
  SqlForms forms;
  SqlAccounts accounts;
  SqlAudit audit;
  SqlCluster cluster;
  SqlBlocks blocks;
  SqlFailures failures;
  SqlRateLimits rate_limits;
  SqlMail mail;
  SqlApiKeys api_keys;
  SqlWebhooks webhooks;
  SqlSecureMessages secure_messages;
  SqlContacts contacts;
  SqlCampaigns campaigns;
};

// A Store whose aggregates are Aggregates: the accessors, once for both stores.
class AggregateStore : public Store {
 public:
  AggregateStore(engine::Executor& db, GroupCommit* writer) : a_(db, writer) {}
  SubmissionStore& submissions() final { return a_.submissions; }
  FormStore& forms() final { return a_.forms; }
  AccountStore& accounts() final { return a_.accounts; }
  AuditStore& audit() final { return a_.audit; }
  ClusterStore& cluster() final { return a_.cluster; }
  BlockStore& blocks() final { return a_.blocks; }
  FailureStore& failures() final { return a_.failures; }
  RateLimitStore& rate_limits() final { return a_.rate_limits; }
  MailStore& mail() final { return a_.mail; }
  ApiKeyStore& api_keys() final { return a_.api_keys; }
  WebhookStore& webhooks() final { return a_.webhooks; }
  SecureMessageStore& secure_messages() final { return a_.secure_messages; }
  ContactStore& contacts() final { return a_.contacts; }
  CampaignStore& campaigns() final { return a_.campaigns; }

 private:
  Aggregates a_;
};

// The database and its group commit: a base of SqlStore listed before AggregateStore, so both
// exist before the aggregates are built on them.
struct SqlStoreEngine {
  SqlStoreEngine(std::unique_ptr<engine::Connector> connector, const StoreOptions& options);
  engine::Database db_;
  GroupCommit writer_;
};

class SqlStore final : private SqlStoreEngine, public AggregateStore {
 public:
  SqlStore(std::unique_ptr<engine::Connector> connector, const StoreOptions& options);
  ~SqlStore() override;

  std::string_view engine_name() const override { return engine::dialect_name(db_.dialect()); }
  std::string describe() const override { return db_.describe(); }
  void close() override { writer_.close(); }
  void set_commit_observer(CommitObserver observer) override {
    writer_.set_observer(std::move(observer));
  }
  std::size_t pending_appends() const override { return writer_.queue_depth(); }
  core::Status transact_blocking(std::string_view what,
                                 const std::function<core::Status(Store& tx)>& work) override;

  engine::Database& database() { return db_; }
  GroupCommit& writer() { return writer_; }
};

// Opens the engine the options name and returns the concrete store (tests use its hooks).
core::Result<std::unique_ptr<SqlStore>> open_sql_store_blocking(const StoreOptions& options);

}  // namespace store::detail
