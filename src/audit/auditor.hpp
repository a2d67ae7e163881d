#pragma once
// Records security-relevant events in the hash-chained audit trail (A1, A2) and signs
// checkpoints over it: every kCheckpointEvery entries, at `serve` shutdown and at the end
// of each CLI command that recorded something (finish_blocking).
// Trust: the rows it reads back are our own data; a broken chain fails closed.
//
// This is the audit module's adapter: it writes through store::Store, so it is its own target
// (sealpost_audit_trail) and the chain functions (entry.hpp, verify.hpp) stay pure and free of
// the store (docs/ARCHITECTURE.md, "Module map").

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "audit/verify.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/secret.hpp"
#include "store/store.hpp"

namespace audit {

class Auditor {
 public:
  // A checkpoint every 100 entries bounds what a truncation can remove unnoticed between
  // two checkpoints, at the price of one signature per 100 events.
  static constexpr std::int64_t kCheckpointEvery = 100;

  // `signing_key` is the server's armored secret signing key; all three must outlive this.
  // `checkpoint_log`: where each checkpoint signed here is also appended (empty: nowhere).
  Auditor(store::Store& store, const core::SecretBytes& signing_key, const core::Clock& clock,
          std::filesystem::path checkpoint_log = {})
      : store_(store),
        signing_key_(signing_key),
        clock_(clock),
        checkpoint_log_(std::move(checkpoint_log)) {}

  // Appends one entry. Never pass PHI: objects are references ("form:ID v N", "key:FPR").
  core::Status record_blocking(std::string actor, std::string action, std::string object,
                               std::string source, std::string outcome);
  // Appends one entry inside a unit of work (store::Store::transact_blocking with `tx`): the
  // entry commits with the change it records, or neither does. After the unit has
  // committed, call settle_blocking(): a checkpoint may be due.
  core::Status record_in_blocking(store::Store& tx, std::string actor, std::string action,
                                  std::string object, std::string source, std::string outcome);
  // Signs the checkpoint an entry recorded by record_in_blocking made due, if any.
  core::Status settle_blocking();
  // Signs a checkpoint over the current head unless one already covers it. Re-checks the
  // chain since the last checkpoint first, so a checkpoint never vouches for a broken chain.
  core::Status checkpoint_blocking();
  // The end of a CLI command: a checkpoint if this Auditor recorded anything.
  core::Status finish_blocking();

 private:
  store::Store& store_;
  const core::SecretBytes& signing_key_;
  const core::Clock& clock_;
  const std::filesystem::path checkpoint_log_;
  std::mutex mutex_;                   // one checkpoint at a time in this process
  std::atomic<bool> recorded_{false};  // never under mutex_: set inside units of work
  std::atomic<bool> checkpoint_due_{false};
};

Entry to_entry(const store::AuditRow& row);

// Loads the whole trail and checks it against the checkpoints in the database, then
// against `external` checkpoints (the node's checkpoint log, an auditor's saved line),
// whose signatures must all be by `public_key_armored`; then checks that every submission
// whose receipt the trail records is still in the store.
core::Result<audit::VerifyReport> verify_audit_blocking(
    store::Store& store, std::string_view public_key_armored,
    const std::vector<std::pair<std::string, std::vector<audit::Checkpoint>>>& external = {});

// The receipt entry of a submission (A1, A8): chained after `last`, no PHI (reference,
// form, version, size). The object's shape is what verify_audit_blocking parses back.
store::AuditRow receipt_entry(const std::optional<store::AuditRow>& last,
                              const store::NewSubmission& submission, std::int64_t now);
inline constexpr std::string_view kReceiptAction = "submission.receive";

}  // namespace audit
