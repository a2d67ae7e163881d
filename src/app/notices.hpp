#pragma once
// S5: a notice of each new submission to the addresses its form's `notify` lists. PHI-free
// by construction: it is built from the form's declaration (id, title), the submission's
// reference, the time and the portal's address, and is never given a field value. Sent
// under policy `verify` (M9: never to a receiver that does not prove itself over TLS),
// through the Outbox like any message (audited, DKIM-signed, sealed at rest). A notice is
// queued after the submission commits: a crash in between loses the notice, never the
// submission (the log says event=notice_failed when queueing fails).

#include <string>

#include "core/clock.hpp"
#include "forms/declaration.hpp"
#include "mail/mime/address.hpp"
#include "mail/queue/compose.hpp"

namespace app {

mail::queue::Outgoing submission_notice(const forms::FormDeclaration& form,
                                        const std::string& reference, const mail::Address& from,
                                        const std::string& portal_url, core::TimePoint at);

}  // namespace app
