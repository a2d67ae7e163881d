#pragma once
// The one way into the outbound queue (issue 8). Every producer (`mail send`, the HTTP API,
// form notifications, bounces) hands an Outgoing to the Outbox, which prepares it
// (compose.hpp: build, DKIM-sign, seal under the queue key) and commits the message, its
// recipients and its `mail.queue` audit entry in one unit of work: all of them or none.
// A producer answers (prints the id, 202) only after enqueue_blocking has returned the id,
// so a message is accepted only once it is committed.

#include <functional>
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

class Outbox {
 public:
  // Everything passed must outlive the Outbox. `hostname`: the Message-ID's domain (our
  // FQDN). Thread-safe: the signer and the key are only read; Store, Auditor and Rng are
  // thread-safe.
  Outbox(store::Store& store, audit::Auditor& auditor, const dkim::Signer& signer,
         const core::SecretBytes& queue_key, std::string hostname, const core::Clock& clock,
         core::Rng& rng)
      : store_(store),
        auditor_(auditor),
        signer_(signer),
        queue_key_(queue_key),
        hostname_(std::move(hostname)),
        clock_(clock),
        rng_(rng) {}

  // Message-level encryption (issue 9): without a Sealer, a message with out.encrypt is
  // refused. `sealer` must outlive the Outbox; set it before the Outbox is shared.
  void set_sealer(const secure::Sealer* sealer) noexcept { sealer_ = sealer; }
  // The secure-message portal (escrow.hpp): with settings whose origin is set, a recipient of
  // an out.encrypt message without a key or certificate gets a portal copy and a notice
  // instead of being refused. Must outlive the Outbox; set it before the Outbox is shared.
  void set_escrow(const EscrowSettings* escrow) noexcept { escrow_ = escrow; }

  // Work a producer commits together with its message (an API key's last use, the audit
  // entry of a secure reply); `id` is the id enqueue_blocking will return.
  using Also = std::function<core::Status(store::Store& tx, const std::string& id)>;

  // Prepares `out` and commits it with its audit entry (action "mail.queue", actor
  // out.origin, `source`: "local" or the client's address) and whatever `also` does, in
  // one unit of work; returns the queue id. The entry names the message, its size and
  // policy and the number of recipients: never an address, the subject or the body.
  // With out.encrypt, the recipients with a usable key or certificate get one message sealed
  // to them per method (PGP/MIME, S/MIME), whose entry's object ends in "sealed:<how>" (a
  // second one's also in "split-from:<the id returned>"); each one
  // without gets, when the portal is set (set_escrow), a portal copy (entry
  // "secure_message.deposit", "message:<id> copy:<copy id>") and its own notice message
  // (entry note "secure-notice-for:<id>"); without the portal it is refused
  // (secure::choose_blocking's invalid_input names it). The id returned, which the copies
  // carry as their message id, is the first sealed message's, or the first notice's when every
  // recipient is a portal one.
  // Errors: prepare()'s invalid_input (nothing stored); the store's or the trail's
  // (unavailable: nothing stored, try again). Blocks: call it from the blocking pool.
  core::Result<std::string> enqueue_blocking(const Outgoing& out, std::string_view source,
                                             const Also& also = {});

  // The d= domain messages are signed for (a producer may restrict From to it).
  const std::string& signing_domain() const noexcept { return signer_.domain(); }
  const std::string& hostname() const noexcept { return hostname_; }

 private:
  store::Store& store_;
  audit::Auditor& auditor_;
  const dkim::Signer& signer_;
  const core::SecretBytes& queue_key_;
  const std::string hostname_;
  const core::Clock& clock_;
  core::Rng& rng_;
  const secure::Sealer* sealer_ = nullptr;
  const EscrowSettings* escrow_ = nullptr;
};

// The audit entry's action for a portal copy deposited with its message.
inline constexpr std::string_view kSecureDepositAction = "secure_message.deposit";

// The audit entry's action for a queued message.
inline constexpr std::string_view kQueueAction = "mail.queue";

// In an open unit of work `tx`: the prepared message, its recipients and its `mail.queue`
// entry (actor, source; `note`, when not empty, appended to the entry's object, e.g.
// "dsn-for:ID"). What Outbox::enqueue_blocking commits, for a producer that already holds
// the unit of work its message belongs to (delivery queues a bounce in the unit that
// records the failure).
core::Status enqueue_in(store::Store& tx, audit::Auditor& auditor, const Prepared& prepared,
                        std::string_view actor, std::string_view source,
                        std::string_view note = {});

// The audit entry's action for erasing the content of expired and revoked portal copies.
inline constexpr std::string_view kSecurePruneAction = "secure_message.prune";

// Erases the ciphertext of every portal copy expired at `now` (unix seconds) or revoked; the
// rows stay (read receipts, the trail). When any was erased, one `secure_message.prune` entry
// ("copies:N") commits with the erasure. Serve runs it hourly on every node
// (a second node finds nothing left); `sealpost mail prune` runs it on demand. Blocks.
core::Result<std::size_t> prune_portal_copies_blocking(store::Store& store, audit::Auditor& auditor,
                                                       std::int64_t now, std::string_view actor,
                                                       std::string_view source);

}  // namespace mail::queue
