#pragma once
// The secure-message portal's deposit (issue 9, docs/THREAT_MODEL.md "Secure messages"): a
// `security = encrypt` message's recipient with neither an OpenPGP key nor an S/MIME
// certificate gets, instead of the message, a PHI-free notice with a link
//   <public origin>/s/<copy id>#<base64url K>
// where K is a fresh 256-bit key that encrypts the message's content (AES-256-GCM, the
// queue message id as additional data) and is kept nowhere but in that link: the fragment
// never reaches a server, and the notice's body is erased from the queue once delivered.
// Pure apart from the injected time and Rng; the Outbox commits the copies with the
// message and the notices in one unit of work.

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"
#include "mail/queue/compose.hpp"
#include "store/records.hpp"

namespace mail::queue {

struct EscrowSettings {
  // [server] public_origin ("https://forms.example.org"): the links' scheme, host and port.
  // Empty: no portal; keyless recipients of `security = encrypt` are refused as before.
  std::string origin;
  // [mail] secure_message_days: how long a copy can be opened.
  int days = 30;
};

// One keyless recipient's copy on its way in: the row (without its ciphertext until
// seal_copy), the notice to queue, and K, which exists only until the notice is prepared.
struct EscrowCopy {
  store::SecureMessageRecord record;
  Outgoing notice;
};

// A new copy of `out` for `to`: a random id and key, the notice (from out.from, to `to`,
// under out.security, phi false; its text names the sender's domain and the link, nothing of
// the message). The key is returned in `key` for seal_copy.
EscrowCopy start_copy(const Outgoing& out, const Address& to, const EscrowSettings& settings,
                      core::TimePoint now, core::Rng& rng, core::SecretBytes& key);

// Encrypts out's subject and text body (JSON {"subject","body"}) under `key` with
// `message_id` as additional data into copy.record.ciphertext, and wipes `key`.
core::Status seal_copy(EscrowCopy& copy, const Outgoing& out, std::string_view message_id,
                       core::SecretBytes& key, core::Rng& rng);

// The mail that carries a one-time code to a copy's recipient (its own message: the code
// never travels with the link), from the copy's sender, under `security`.
// invalid_input: a stored address that no longer parses.
core::Result<Outgoing> code_mail(const store::SecureMessageRecord& copy, std::string_view code,
                                 policy::Policy security);

// A secure reply (issue 9): what a copy's recipient typed in the portal, to the copy's
// sender, as a `security = encrypt` message from `from` (the server's default sender: the
// recipient's own domain would not align with our DKIM): PGP/MIME if the sender has a key,
// S/MIME if a certificate, a portal copy otherwise. The recipient's address is in the body
// (sealed), never in a header; there is no Reply-To, so a reply from a mail client cannot
// go back to the recipient in the clear.
// invalid_input: a stored address that no longer parses.
core::Result<Outgoing> reply_mail(const store::SecureMessageRecord& copy, std::string_view text,
                                  const Address& from, core::TimePoint now);

}  // namespace mail::queue
