#pragma once
// Bounces: when recipients of a message fail for good (a 5xx, or still deferred when the
// message expires), its sender gets one delivery status notification (RFC 3464) naming them,
// queued in the same unit of work that records the failures, so a failure is never recorded
// without its notice, nor noticed twice. The notice goes through the queue like any message:
// DKIM-signed, sealed at rest, under the original's policy and PHI mark (it names the
// recipients and returns the original's header, which are as sensitive as the original).
// Its envelope sender is null, so a notice that fails is not answered by another (RFC 5321
// 4.5.5); nor is a message whose own sender was null.

#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"
#include "mail/dkim/signer.hpp"
#include "mail/queue/compose.hpp"
#include "store/records.hpp"

namespace mail::queue {

struct FailedRecipient {
  std::string address;         // as queued
  store::MailAttempt attempt;  // the attempt that failed it for good
};

// The notice about `failed` recipients of `original` (read with its body, for the header it
// returns), ready to enqueue; nullopt when none is due (null sender). invalid_input when the
// original's sender is not an address we can write to. `hostname` is ours: the notice comes
// from MAILER-DAEMON@hostname.
core::Result<std::optional<Prepared>> prepare_bounce(const store::MailMessageRecord& original,
                                                     const std::vector<FailedRecipient>& failed,
                                                     const dkim::Signer& signer,
                                                     const core::SecretBytes& queue_key,
                                                     std::string_view hostname, core::TimePoint now,
                                                     core::Rng& rng);

}  // namespace mail::queue
