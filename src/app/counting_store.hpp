#pragma once
// A store::Store that counts audit appends for /metrics (sealpost_audit_appends_total) and
// forwards everything else to the real store unchanged. app/ wraps the store it opened in
// one, so every writer of the trail (serve, the portal) is counted without knowing it.

#include <functional>
#include <memory>

#include "store/store.hpp"

namespace app {

class CountingStore final : public store::Store {
 public:
  // `on_append(ok)` runs after each append_audit_blocking, on the caller's thread; for an
  // append inside a unit of work, once the unit has committed (or failed).
  CountingStore(std::unique_ptr<store::Store> inner, std::function<void(bool ok)> on_append)
      : owned_(std::move(inner)),
        inner_(owned_.get()),
        audit_(inner_->audit(), on_append),
        on_append_(std::move(on_append)) {}

  store::SubmissionStore& submissions() override { return inner_->submissions(); }
  store::FormStore& forms() override { return inner_->forms(); }
  store::AccountStore& accounts() override { return inner_->accounts(); }
  store::AuditStore& audit() override { return audit_; }
  store::ClusterStore& cluster() override { return inner_->cluster(); }
  store::BlockStore& blocks() override { return inner_->blocks(); }
  store::FailureStore& failures() override { return inner_->failures(); }
  store::RateLimitStore& rate_limits() override { return inner_->rate_limits(); }
  store::MailStore& mail() override { return inner_->mail(); }
  store::SecureMessageStore& secure_messages() override { return inner_->secure_messages(); }
  store::ContactStore& contacts() override { return inner_->contacts(); }
  store::CampaignStore& campaigns() override { return inner_->campaigns(); }
  store::ApiKeyStore& api_keys() override { return inner_->api_keys(); }
  store::WebhookStore& webhooks() override { return inner_->webhooks(); }
  std::string_view engine_name() const override { return inner_->engine_name(); }
  std::string describe() const override { return inner_->describe(); }
  void close() override { inner_->close(); }
  void set_commit_observer(CommitObserver observer) override {
    inner_->set_commit_observer(std::move(observer));
  }
  std::size_t pending_appends() const override { return inner_->pending_appends(); }
  core::Status transact_blocking(
      std::string_view what, const std::function<core::Status(store::Store& tx)>& work) override {
    std::size_t appended = 0;
    auto status = inner_->transact_blocking(what, [&](store::Store& tx) {
      appended = 0;  // a retried unit starts over
      CountingStore view(tx, [&](bool ok) { appended += ok ? 1 : 0; });
      return work(view);
    });
    if (on_append_) {
      for (std::size_t i = 0; i < appended; ++i) on_append_(status.has_value());
    }
    return status;
  }

 private:
  // A view of a unit of work's store (not owned).
  CountingStore(store::Store& tx, std::function<void(bool ok)> on_append)
      : inner_(&tx), audit_(tx.audit(), std::move(on_append)) {}

  class CountingAudit final : public store::AuditStore {
   public:
    CountingAudit(store::AuditStore& inner, std::function<void(bool)> on_append)
        : inner_(inner), on_append_(std::move(on_append)) {}
    core::Result<store::AuditRow> append_audit_blocking(
        const std::function<store::AuditRow(const std::optional<store::AuditRow>&)>& make)
        override {
      auto row = inner_.append_audit_blocking(make);
      if (on_append_) on_append_(row.has_value());
      return row;
    }
    core::Result<std::vector<store::AuditRow>> list_audit_blocking(std::int64_t after_seq,
                                                                   std::size_t limit) override {
      return inner_.list_audit_blocking(after_seq, limit);
    }
    core::Result<std::optional<store::AuditRow>> last_audit_blocking() override {
      return inner_.last_audit_blocking();
    }
    core::Result<std::int64_t> audit_count_blocking() override {
      return inner_.audit_count_blocking();
    }
    core::Status add_audit_checkpoint_blocking(
        const store::AuditCheckpointRow& checkpoint) override {
      return inner_.add_audit_checkpoint_blocking(checkpoint);
    }
    core::Result<std::vector<store::AuditCheckpointRow>> list_audit_checkpoints_blocking()
        override {
      return inner_.list_audit_checkpoints_blocking();
    }
    core::Result<std::vector<store::AuditRow>> query_audit_blocking(
        const store::AuditQuery& query) override {
      return inner_.query_audit_blocking(query);
    }

   private:
    store::AuditStore& inner_;
    std::function<void(bool)> on_append_;
  };

  std::unique_ptr<store::Store> owned_;
  store::Store* inner_;
  CountingAudit audit_;
  std::function<void(bool)> on_append_;
};

}  // namespace app
