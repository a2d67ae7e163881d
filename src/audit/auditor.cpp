#include "audit/auditor.hpp"

#include "audit/checkpoint_log.hpp"
#include "core/log.hpp"
#include "crypto/openpgp.hpp"

namespace audit {

namespace {

constexpr const char* kBroken =
    "the audit trail failed its integrity check; run `sealpost audit verify`";
// Rows read per query when loading the trail: bounds one result set, not the total.
constexpr std::size_t kPage = 1000;

store::AuditRow to_row(const audit::Entry& e) {
  return store::AuditRow{e.seq,    e.time,    e.actor,     e.action, e.object,
                         e.source, e.outcome, e.prev_hash, e.hash};
}

audit::VerifyReport broken_report(audit::VerifyReport report, std::int64_t seq,
                                  std::string reason) {
  report.ok = false;
  report.bad_seq = seq;
  report.reason = std::move(reason);
  return report;
}

}  // namespace

audit::Entry to_entry(const store::AuditRow& r) {
  return audit::Entry{r.seq,    r.time,    r.actor,     r.action, r.object,
                      r.source, r.outcome, r.prev_hash, r.hash};
}

namespace {

core::Result<store::AuditRow> append_entry_blocking(
    store::AuditStore& trail, std::int64_t now, const std::string& actor, const std::string& action,
    const std::string& object, const std::string& source, const std::string& outcome) {
  return trail.append_audit_blocking([&](const std::optional<store::AuditRow>& last) {
    std::optional<audit::Entry> previous;
    if (last) previous = to_entry(*last);
    return to_row(audit::next_entry(previous ? &*previous : nullptr, now, actor, action, object,
                                    source, outcome));
  });
}

}  // namespace

core::Status Auditor::record_blocking(std::string actor, std::string action, std::string object,
                                      std::string source, std::string outcome) {
  auto row = append_entry_blocking(store_.audit(), core::unix_seconds(clock_.now()), actor, action,
                                   object, source, outcome);
  if (!row) return core::fail(std::move(row).error());
  recorded_ = true;
  if (row->seq % kCheckpointEvery == 0) return checkpoint_blocking();
  return core::ok();
}

core::Status Auditor::record_in_blocking(store::Store& tx, std::string actor, std::string action,
                                         std::string object, std::string source,
                                         std::string outcome) {
  auto row = append_entry_blocking(tx.audit(), core::unix_seconds(clock_.now()), actor, action,
                                   object, source, outcome);
  if (!row) return core::fail(std::move(row).error());
  // No lock here: this runs inside a unit of work that holds the database's write lock,
  // and a checkpoint holds mutex_ while it waits for that lock (lock-order inversion).
  recorded_ = true;
  // Not now: the checkpoint reads the trail through the pool, which must not wait on the
  // unit's own open transaction.
  if (row->seq % kCheckpointEvery == 0) checkpoint_due_ = true;
  return core::ok();
}

core::Status Auditor::settle_blocking() {
  if (!checkpoint_due_.exchange(false)) return core::ok();
  return checkpoint_blocking();
}

core::Status Auditor::checkpoint_blocking() {
  std::lock_guard lock(mutex_);
  auto last = store_.audit().last_audit_blocking();
  if (!last) return core::fail(std::move(last).error());
  if (!last->has_value()) return core::ok();  // nothing to vouch for yet
  const store::AuditRow& head = **last;

  auto checkpoints = store_.audit().list_audit_checkpoints_blocking();
  if (!checkpoints) return core::fail(std::move(checkpoints).error());
  std::int64_t anchor_seq = 0;
  std::string anchor_hash(audit::kGenesisHash);
  if (!checkpoints->empty()) {
    anchor_seq = checkpoints->back().count;
    anchor_hash = checkpoints->back().head_hash;
  }
  if (anchor_seq > head.seq) {
    return core::fail(core::ErrorKind::integrity, kBroken,
                      "a checkpoint is beyond the last audit entry (truncated)");
  }
  if (anchor_seq == head.seq) {
    if (anchor_hash != head.hash) {
      return core::fail(core::ErrorKind::integrity, kBroken, "last checkpoint != head hash");
    }
    return core::ok();  // already covered
  }

  // The stretch since the last checkpoint, up to the head we are about to sign.
  std::vector<audit::Entry> stretch;
  std::int64_t after = anchor_seq;
  while (after < head.seq) {
    auto rows = store_.audit().list_audit_blocking(after, kPage);
    if (!rows) return core::fail(std::move(rows).error());
    if (rows->empty()) break;
    for (const auto& r : *rows) {
      if (r.seq > head.seq) break;
      stretch.push_back(to_entry(r));
    }
    after = rows->back().seq;
  }
  auto report = audit::verify_links(stretch, anchor_seq, anchor_hash);
  if (!report.ok) {
    return core::fail(core::ErrorKind::integrity, kBroken,
                      "entry " + std::to_string(report.bad_seq) + ": " + report.reason);
  }
  if (stretch.empty() || stretch.back().seq != head.seq) {
    return core::fail(core::ErrorKind::integrity, kBroken, "head entry not reachable");
  }

  const std::int64_t now = core::unix_seconds(clock_.now());
  auto signature =
      crypto::sign_detached(signing_key_, audit::checkpoint_payload(head.seq, head.hash, now));
  if (!signature) return core::fail(std::move(signature).error());
  const store::AuditCheckpointRow checkpoint{head.seq, head.hash, now, std::move(*signature)};
  if (auto s = store_.audit().add_audit_checkpoint_blocking(checkpoint); !s) return s;
  if (!checkpoint_log_.empty()) {
    // Best effort after the fact: the checkpoint is in the database already; a log that
    // cannot be written is an alert for the operator, not a reason to fail the event.
    if (auto s = append_checkpoint_line(checkpoint_log_, checkpoint_line(checkpoint)); !s) {
      spdlog::error("event=alert kind=checkpoint_log_unwritable detail={}",
                    core::log_safe(s.error().public_text()));
    }
  }
  return core::ok();
}

store::AuditRow receipt_entry(const std::optional<store::AuditRow>& last,
                              const store::NewSubmission& submission, std::int64_t now) {
  std::optional<audit::Entry> previous;
  if (last) previous = to_entry(*last);
  // Source "web": the submitter's address stays out of the permanent trail (it is in the
  // rate limiter's memory only).
  return to_row(
      audit::next_entry(previous ? &*previous : nullptr, now, "system", std::string(kReceiptAction),
                        "submission:" + submission.reference + " form:" + submission.form_id +
                            " v " + std::to_string(submission.form_version) +
                            " bytes:" + std::to_string(submission.ciphertext.size()),
                        "web", "ok"));
}

core::Status Auditor::finish_blocking() {
  if (!recorded_) return core::ok();
  return checkpoint_blocking();
}

core::Result<audit::VerifyReport> verify_audit_blocking(
    store::Store& store, std::string_view public_key_armored,
    const std::vector<std::pair<std::string, std::vector<audit::Checkpoint>>>& external) {
  std::vector<audit::Entry> entries;
  std::int64_t after = 0;
  for (;;) {
    auto rows = store.audit().list_audit_blocking(after, kPage);
    if (!rows) return core::fail(std::move(rows).error());
    for (const auto& r : *rows) entries.push_back(to_entry(r));
    if (rows->size() < kPage) break;
    after = rows->back().seq;
  }
  auto rows = store.audit().list_audit_checkpoints_blocking();
  if (!rows) return core::fail(std::move(rows).error());
  std::vector<audit::Checkpoint> checkpoints;
  checkpoints.reserve(rows->size());
  for (const auto& c : *rows) {
    checkpoints.push_back(audit::Checkpoint{c.count, c.head_hash, c.time, c.signature});
  }
  // A key file we cannot read must not look like "every signature is bad".
  bool key_unreadable = false;
  auto report = audit::verify_chain(
      entries, checkpoints, [&](std::string_view payload, std::string_view signature) {
        auto s = crypto::verify_detached(public_key_armored, payload, signature);
        if (!s && s.error().kind() != core::ErrorKind::integrity) key_unreadable = true;
        return s.has_value();
      });
  if (key_unreadable) {
    return core::fail(core::ErrorKind::invalid_input,
                      "the server's public signing key could not be read");
  }
  if (!report.ok) return report;
  for (const auto& [what, checkpoints] : external) {
    auto outside = audit::verify_external(
        entries, checkpoints, what, [&](std::string_view payload, std::string_view signature) {
          return crypto::verify_detached(public_key_armored, payload, signature).has_value();
        });
    if (!outside.ok) return outside;
  }
  // Receipts: every submission the trail says was received must still be stored.
  for (const auto& e : entries) {
    if (e.action != kReceiptAction) continue;
    // "submission:REF form:ID v N bytes:B", as receipt_entry writes it.
    const auto ref_end = e.object.find(" form:");
    const auto form_end = e.object.find(" v ", ref_end == std::string::npos ? 0 : ref_end);
    if (!e.object.starts_with("submission:") || ref_end == std::string::npos ||
        form_end == std::string::npos) {
      return broken_report(report, e.seq, "a receipt entry of unknown shape");
    }
    const std::string reference = e.object.substr(11, ref_end - 11);
    const std::string form = e.object.substr(ref_end + 6, form_end - ref_end - 6);
    auto found = store.submissions().find_submission_blocking(form, reference);
    if (!found) return core::fail(std::move(found).error());
    if (!found->has_value()) {
      return broken_report(report, e.seq,
                           "submission " + reference + " of form " + form +
                               " (received in this entry) is missing from the store");
    }
  }
  return report;
}

}  // namespace audit
