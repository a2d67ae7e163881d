#pragma once
// Policy `forced`'s fallback (issue 9, M2): a recipient whose receiver offers no acceptable
// TLS is sent the message by message-level encryption instead, when it has a usable OpenPGP
// key or S/MIME certificate (mail/secure's chain). The delivery that finds the TLS
// requirement unmet builds a sealed copy addressed to that recipient alone and, in the unit
// of work that records the attempt, queues the copy (audited "fallback-for:ID") and makes
// the original recipient final (dropped, its reply naming the copy). Both commit or neither
// does, so the recipient is neither lost nor sent twice. A recipient without a key or
// certificate stays in awaiting_fallback (the secure-message portal does not exist yet).

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"
#include "mail/dkim/signer.hpp"
#include "mail/queue/compose.hpp"
#include "mail/secure/sealer.hpp"
#include "store/store.hpp"

namespace mail::queue {

struct FallbackCopy {
  Prepared prepared;  // the sealed copy, to `address` alone
  std::string how;    // secure::Sealer::describe: "pgp-mime", "smime-aes-256-cbc", ...
};

// The sealed copy of `original` (its sealed body included) for `address`: its cleartext
// opened, the content sealed (mime::reseal_message), DKIM-signed, sealed under the queue
// key; TLS policy opportunistic (the content is protected; TLS is still used when offered),
// the original's PHI mark and envelope sender, origin "fallback". nullopt when `address`
// has no usable key or certificate, or S/MIME is not set up for the one it has. Errors: the
// store's; the original not readable (integrity) or sealed already (invalid_input).
core::Result<std::optional<FallbackCopy>> prepare_fallback(
    const store::MailMessageRecord& original, const std::string& address, store::FormStore& keys,
    const secure::Sealer& sealer, const dkim::Signer& signer, const core::SecretBytes& queue_key,
    std::string_view hostname, core::TimePoint now, core::Rng& rng);

}  // namespace mail::queue
