#pragma once
// S5: a notice of each new submission to the addresses its form's `notify` lists. PHI-free
// by construction: it is built from the form's declaration (id, title), the submission's
// reference, the time and the portal's address, and is never given a field value. Sent
// under policy `verify` (M9: never to a receiver that does not prove itself over TLS),
// through the Outbox like any message (audited, DKIM-signed, sealed at rest). A notice is
// queued after the submission commits: a crash in between loses the notice, never the
// submission (the log says event=notice_failed when queueing fails).
// With the form's notify_mode = "pgp", the notice also carries the submission as stored:
// the server-signed OpenPGP message encrypted to the form's recipients, attached as
// `submission-<reference>.pgp`. The server cannot read it (it holds no decryption key) and
// does not encrypt anything again; whoever holds a recipient key opens it (gpg, Thunderbird's
// "Decrypt and Open"). Not RFC 3156 PGP/MIME: what is encrypted is the canonical JSON the
// portal reads, not a MIME entity, so mail programs would not show it as a message.
// With notify_mode = "smime", the notice's text also lists the answers (composed in memory
// at intake, forms::answers_text) and the message is S/MIME, encrypted to each notify
// address's certificate (Outgoing::method; no portal fallback), still under `verify`.

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/secret.hpp"
#include "forms/declaration.hpp"
#include "mail/mime/address.hpp"
#include "mail/queue/compose.hpp"

namespace app {

// `stored`: the submission's ciphertext as stored, attached when the form's notify_mode is
// "pgp". `answers`: the submission as text, carried (encrypted) when it is "smime". Without
// them, the PHI-free notice of notify_mode = "link". The caller wipes the text body.
mail::queue::Outgoing submission_notice(const forms::FormDeclaration& form,
                                        const std::string& reference, const mail::Address& from,
                                        const std::string& portal_url, core::TimePoint at,
                                        const std::vector<std::uint8_t>* stored = nullptr,
                                        const core::SecretBytes* answers = nullptr);

}  // namespace app
