#pragma once
// Policy `forced`'s fallback (issue 9, M2): a recipient whose receiver offers no acceptable
// TLS is sent the message by message-level encryption instead, when it has a usable OpenPGP
// key or S/MIME certificate (mail/secure's chain). The delivery that finds the TLS
// requirement unmet builds a sealed copy addressed to that recipient alone and, in the unit
// of work that records the attempt, queues the copy (audited "fallback-for:ID") and makes
// the original recipient final (dropped, its reply naming the copy). Both commit or neither
// does, so the recipient is neither lost nor sent twice. A recipient without a key or
// certificate gets, when the secure-message portal is on ([server] public_origin), a portal
// copy (escrow.hpp) of the original's subject and text body and its PHI-free notice, both
// committed in that same unit of work; without the portal it stays in awaiting_fallback.

#include <optional>
#include <string>
#include <string_view>

#include "audit/auditor.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"
#include "mail/dkim/signer.hpp"
#include "mail/queue/compose.hpp"
#include "mail/queue/escrow.hpp"
#include "mail/secure/sealer.hpp"
#include "store/store.hpp"

namespace mail::queue {

struct FallbackCopy {
  // The sealed copy, to `address` alone; or (portal) the notice carrying the copy's link.
  Prepared prepared;
  // secure::Sealer::describe: "pgp-mime", "smime-aes-256-cbc", ...; or "portal".
  std::string how;
  // The portal copy (ciphertext under the notice's key), when how == "portal".
  std::optional<store::SecureMessageRecord> portal;
};

// The sealed copy of `original` (its sealed body included) for `address`: its cleartext
// opened, the content sealed (mime::reseal_message), DKIM-signed, sealed under the queue
// key; TLS policy opportunistic (the content is protected; TLS is still used when offered),
// the original's PHI mark and envelope sender, origin "fallback". nullopt when `address`
// has no usable key or certificate, or S/MIME is not set up for the one it has; except that
// with `escrow` set (its origin not empty) a keyless recipient of a message with a sender
// gets a portal copy instead: the original opened and read (mime::read_text: the subject and
// the text/plain body), start_copy/seal_copy with the original's id as the copy's message id
// (its read receipt is the original's), the notice from the original's sender under policy
// opportunistic (it carries no PHI; under `forced` it would wait for TLS that never comes).
// Errors: the store's; the original not readable (integrity) or sealed already
// (invalid_input).
core::Result<std::optional<FallbackCopy>> prepare_fallback(
    const store::MailMessageRecord& original, const std::string& address, store::FormStore& keys,
    const secure::Sealer& sealer, const dkim::Signer& signer, const core::SecretBytes& queue_key,
    std::string_view hostname, core::TimePoint now, core::Rng& rng,
    const EscrowSettings* escrow = nullptr);

// In the unit of work `tx` that records recipient `idx` of message `message_id` as dropped:
// the copy queued (its `mail.queue` entry noting "fallback-for:<id> recipient:<idx>
// sealed:<how>") and, for a portal copy, the copy stored with its `secure_message.deposit`
// entry ("message:<id> copy:<copy id> expires:<t>").
core::Status commit_fallback_in(store::Store& tx, audit::Auditor& auditor, const FallbackCopy& copy,
                                const std::string& message_id, int idx);

}  // namespace mail::queue
