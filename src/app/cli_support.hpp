#pragma once
// What the CLI's commands share: opening the data directory's store, and the audit trail of
// one command (its changes committed with their entries, a checkpoint at the end).

#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "app/data_dir.hpp"
#include "app/files.hpp"
#include "audit/auditor.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/secret.hpp"
#include "store/store.hpp"

namespace app {

// Armored Ed25519 secret keys are well under 1 KiB; 64 KiB is the same bound `serve` uses.
inline constexpr std::size_t kMaxSigningKeyBytes = 64 * 1024;
// Where CLI events come from: the administrator's shell on this host.
inline constexpr const char* kLocalSource = "local";

// "cli:" + the name of the effective Unix user ("cli:uid=N" if it has none).
std::string cli_actor();

// The store sealpost.toml names; a clear error when DIR is not a data directory.
core::Result<std::unique_ptr<store::Store>> open_store(const DataDir& dir);

// The fingerprint of a secret every node of a database must share: HMAC-SHA-256 of a fixed
// label under the secret, so that the database learns whether two nodes hold the same
// secret, and nothing else.
std::string secret_fingerprint(std::span<const std::uint8_t> secret);

// Records `secret`'s fingerprint under `name` in the database if none is, and fails (naming
// `file`) when another is: the nodes (and the CLI) of one database must hold one copy.
core::Status claim_node_secret_blocking(store::Store& store, std::string_view name,
                                        const std::filesystem::path& file,
                                        const core::SecretBytes& secret, std::int64_t now);

// The audit trail of one CLI command: the signing key (for the closing checkpoint) and an
// Auditor over the command's store.
class CliAudit {
 public:
  static core::Result<std::unique_ptr<CliAudit>> open(const DataDir& dir, store::Store& store) {
    auto key = read_secret_file(dir.signing_secret_key(), kMaxSigningKeyBytes);
    if (!key) return core::fail(std::move(key).error());
    return std::unique_ptr<CliAudit>(
        new CliAudit(store, std::move(*key), dir.audit_checkpoint_log()));
  }
  core::Status record(std::string action, std::string object) {
    return auditor_.record_blocking(actor_, std::move(action), std::move(object), kLocalSource,
                                    "ok");
  }
  // A change and the entry that records it (`work` returns the entry's object) in one unit
  // of work: both commit or neither does.
  core::Status change(std::string_view what, std::string action,
                      const std::function<core::Result<std::string>(store::Store& tx)>& work) {
    auto status = store_.transact_blocking(what, [&](store::Store& tx) -> core::Status {
      auto object = work(tx);
      if (!object) return core::fail(std::move(object).error());
      return auditor_.record_in_blocking(tx, actor_, action, std::move(*object), kLocalSource,
                                         "ok");
    });
    if (!status) return status;
    return auditor_.settle_blocking();
  }
  core::Status finish() { return auditor_.finish_blocking(); }
  // For a change made through another module's unit of work (mail::queue::Outbox), which
  // records its entry with this Auditor; finish() still closes the command.
  audit::Auditor& auditor() { return auditor_; }

 private:
  CliAudit(store::Store& store, core::SecretBytes key, std::filesystem::path checkpoint_log)
      : store_(store),
        key_(std::move(key)),
        auditor_(store, key_, clock_, std::move(checkpoint_log)),
        actor_(cli_actor()) {}
  store::Store& store_;
  core::SecretBytes key_;
  core::SystemClock clock_;
  audit::Auditor auditor_;
  std::string actor_;
};

// A command that is one audited change (revoke, remove): opens DIR's store and its trail,
// runs `work` with its entry in one unit of work (`work` returns the entry's object), closes
// the command's trail and the store. Errors carry their public text, for fail_line.
core::Status run_audited_change(
    const std::string& data_dir, std::string_view what, std::string action,
    const std::function<core::Result<std::string>(store::Store&)>& work);

}  // namespace app
