#pragma once
// Which key or certificate each recipient of a `security = encrypt` message is encrypted to
// (issue 9, M6). The chain, per recipient:
//   1. PGP/MIME when an imported OpenPGP key names the address in a user id and can
//      encrypt now (not expired, not revoked, not sign-only);
//   2. S/MIME when an imported certificate names the address and passes
//      crypto::check_recipient_cert now (valid, key usage, chain to the CA file or pinned);
//   3. otherwise the secure-message portal, which does not exist yet: the message is
//      refused before anything is queued, naming the recipient.
// Trust: keys and certificates were checked at import; they are checked again here because
// they expire, and a key can be replaced by a revoked copy after import.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "mail/mime/address.hpp"
#include "store/store.hpp"

namespace mail::secure {

enum class Method { pgp_mime, smime };
std::string_view method_name(Method m);

struct Choice {
  Method method = Method::pgp_mime;
  std::string id;        // the OpenPGP fingerprint, or the certificate's SHA-256
  std::string material;  // the armored public key, or the certificate's PEM
  bool aes_gcm = false;  // S/MIME: the certificate was imported with --aes-gcm
};

// Whether an OpenPGP user id names `address` ("Name <a@example.org>" or "a@example.org"):
// the address inside angle brackets (or the whole id), compared without regard to case.
bool user_id_names(std::string_view user_id, const Address& address);

// For each of `to`, in order, the key or certificate to encrypt to, by the chain above (of
// several usable keys or certificates, the most recently created or valid the longest).
// `smime_ca_pem`: the CAs certificates must chain to ([mail] smime_ca_file; "" = only
// pinned ones). Recipients may need different methods: the Outbox seals one message per
// method.
// For each of `to`, in order, its key or certificate by the chain above, or nullopt when it
// has neither (the secure-message portal's). `only`: that step of the chain alone (a form's
// notify_mode = "smime" asks for S/MIME even where an OpenPGP key exists).
core::Result<std::vector<std::optional<Choice>>> choose_each_blocking(
    store::FormStore& keys, const std::vector<Address>& to, std::string_view smime_ca_pem,
    core::TimePoint now, std::optional<Method> only = std::nullopt);

// The same, failing (invalid_input, naming the recipient) when one has none.
core::Result<std::vector<Choice>> choose_blocking(store::FormStore& keys,
                                                  const std::vector<Address>& to,
                                                  std::string_view smime_ca_pem,
                                                  core::TimePoint now,
                                                  std::optional<Method> only = std::nullopt);

}  // namespace mail::secure
