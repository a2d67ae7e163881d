#pragma once
// The one place that builds filesystem paths (SecureDrop's rule): every file sealpost
// reads or writes lives under the data directory, at a name fixed here. No submitted value
// is ever part of a path.

#include <filesystem>
#include <string>

namespace app {

class DataDir {
 public:
  explicit DataDir(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path config() const { return root_ / "sealpost.toml"; }
  std::filesystem::path database() const { return root_ / "sealpost.db"; }
  std::filesystem::path tls_certificate() const { return root_ / "tls" / "cert.pem"; }
  std::filesystem::path tls_private_key() const { return root_ / "tls" / "key.pem"; }
  std::filesystem::path secrets_dir() const { return root_ / "secrets"; }
  std::filesystem::path form_token_secret() const { return secrets_dir() / "form-token.key"; }
  std::filesystem::path signing_secret_key() const {
    return secrets_dir() / "server-signing-key.sec.asc";
  }
  // Seals the portal's TOTP secrets at rest (created by init, or by the first serve).
  std::filesystem::path portal_seal_key() const { return secrets_dir() / "portal-seal.key"; }
  // Seals queued mail bodies at rest (issue 8): the database never holds a cleartext body.
  // Every node needs the same one (a copy of secrets/, like the token key).
  std::filesystem::path queue_key() const { return secrets_dir() / "queue.key"; }
  // Seals contacts' fields (campaigns/contacts.hpp); created on first use.
  std::filesystem::path contacts_key() const { return secrets_dir() / "contacts.key"; }
  // The PostgreSQL password, when [store] database names one (never in sealpost.toml).
  std::filesystem::path database_password() const { return secrets_dir() / "database-password"; }
  // This node's copy of every audit checkpoint it signed (A8), outside the database.
  std::filesystem::path audit_checkpoint_log() const { return root_ / "audit-checkpoints.log"; }
  std::filesystem::path signing_public_key() const { return root_ / "server-signing-key.asc"; }

  // Export file for one submission: named by its reference number, which we generated
  // (Crockford base32 and dashes only), never by anything submitted.
  static std::filesystem::path export_file(const std::filesystem::path& out_dir,
                                           const std::string& reference) {
    return out_dir / (reference + ".pgp");
  }

 private:
  std::filesystem::path root_;
};

}  // namespace app
