#pragma once
// Seals a message's content entity for its recipients (issue 9), as mime::Sealing::seal:
//   PGP/MIME  signed by the server's OpenPGP signing key (secrets/, the key that signs
//             submissions) and encrypted to the recipients' keys (RNP): armored
//   S/MIME    signed by the organisation's certificate and key ([mail] smime_cert_file,
//             smime_key_file) and enveloped to the recipients' certificates: AES-256-GCM
//             (AuthEnvelopedData) when every one of them was imported with --aes-gcm,
//             AES-256-CBC (EnvelopedData) otherwise (OpenSSL CMS): DER
// mime builds the RFC 3156 / RFC 8551 structure around the result. Thread-safe; holds
// references only.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/secret.hpp"
#include "crypto/smime.hpp"
#include "mail/mime/message.hpp"
#include "mail/secure/recipients.hpp"

namespace mail::secure {

class Sealer {
 public:
  // `openpgp_signing_key`: the server's armored, unprotected, sign-only secret key.
  // `smime_signer`: nullptr when S/MIME is not set up (S/MIME recipients are refused).
  // `smime_ca_pem`: [mail] smime_ca_file's text ("" = only pinned certificates).
  // All must outlive the Sealer.
  Sealer(const core::SecretBytes& openpgp_signing_key, const crypto::SmimeSigner* smime_signer,
         std::string_view smime_ca_pem)
      : openpgp_signing_key_(openpgp_signing_key),
        smime_signer_(smime_signer),
        smime_ca_pem_(smime_ca_pem) {}

  std::string_view smime_ca_pem() const noexcept { return smime_ca_pem_; }

  // The mime::Sealing for a message to recipients with these choices (all of one method,
  // as choose_blocking returns them). The function refers to `choices` and to this Sealer:
  // keep both alive while the message is built. invalid_input: S/MIME without a signer.
  core::Result<mime::Sealing> sealing_for(const std::vector<Choice>& choices) const;

  // How the message is sealed, for its audit entry: "pgp-mime", "smime-aes-256-gcm",
  // "smime-aes-256-cbc" (never a key or an address).
  static std::string describe(const std::vector<Choice>& choices);

 private:
  const core::SecretBytes& openpgp_signing_key_;
  const crypto::SmimeSigner* smime_signer_;
  std::string_view smime_ca_pem_;
};

}  // namespace mail::secure
