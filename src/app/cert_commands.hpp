#pragma once
// `sealpost cert import|list|remove`: recipients' X.509 certificates for S/MIME (issue 9).
// Each returns the process exit code; errors print one line to stderr. Import and remove
// are audited (cert.import / cert.remove, the certificate's SHA-256), committed in the unit
// of work that makes the change.

#include <string>

namespace app {

// Checks the certificate (crypto::check_recipient_cert: validity now, key usage, extended
// key usage, an e-mail address, a chain to [mail] smime_ca_file unless `pin`) and stores
// it; `aes_gcm`: messages to it use AES-256-GCM (AuthEnvelopedData) rather than CBC.
int run_cert_import(const std::string& data_dir, const std::string& file, bool pin, bool aes_gcm);
int run_cert_list(const std::string& data_dir);
int run_cert_remove(const std::string& data_dir, const std::string& sha256);

}  // namespace app
