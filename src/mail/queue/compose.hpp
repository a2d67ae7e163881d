#pragma once
// A message on its way into the queue: built (GMime), DKIM-signed, sealed under the queue
// key, as the row the store keeps. Pure apart from the injected clock value and Rng: the
// caller enqueues the result (in a unit of work with its audit entry). The same path for
// every producer: `mail send`, the HTTP API, notifications, bounces.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"
#include "mail/dkim/signer.hpp"
#include "mail/mime/address.hpp"
#include "mail/mime/message.hpp"
#include "mail/policy/policy.hpp"
#include "mail/secure/recipients.hpp"
#include "store/records.hpp"

namespace mail::queue {

struct Outgoing {
  Address from;
  std::optional<std::string> from_name;
  std::vector<Address> to;
  std::string subject;
  std::string text_body;
  std::optional<std::string> html_body;
  std::vector<std::pair<std::string, std::string>> extra_headers;
  policy::Policy security = policy::Policy::opportunistic;
  bool phi = false;
  std::string origin;  // "cli:<user>", "api:<key>", "notify", "dsn"
  // A delivery status notification (bounce.hpp): the body is a multipart/report and the
  // envelope sender is null (MAIL FROM:<>), so that no bounce is ever answered by another.
  std::optional<mime::DeliveryReport> report;
  // A TLS report (tls_report.hpp): multipart/report; report-type=tlsrpt.
  std::optional<mime::TlsReportAttachment> tls_report;
  // A file after the text body (multipart/mixed): S5's encrypted notices.
  std::optional<mime::Attachment> attachment;
  // MAIL FROM:<> (a report whose failure must not come back); implied by `report`.
  bool null_sender = false;
  // `security = encrypt` (issue 9, M6): message-level encryption for every recipient
  // (mail/secure: PGP/MIME or S/MIME), sent over TLS whenever the receiver offers it (`security`
  // above is then the TLS policy, opportunistic unless the caller says otherwise).
  bool encrypt = false;
  // With `encrypt`: this method for every recipient, or the message is refused before
  // anything is queued (no secure-message portal): a form's notify_mode = "smime".
  std::optional<secure::Method> method;
};

struct Prepared {
  store::MailMessageRecord record;      // body sealed
  std::vector<std::string> recipients;  // envelope RCPT TO, in order
  std::string message_id;               // the Message-ID header's value
};

// invalid_input: policy none for a PHI message, a header with CR/LF, a limit exceeded
// (mime/limits.hpp), more than store::MailStore::kMaxRecipients recipients.
// `sealing`: when set, the body is sealed (mime::Sealing) before it is DKIM-signed; the
// caller (Outbox) sets it exactly when out.encrypt.
core::Result<Prepared> prepare(const Outgoing& out, const dkim::Signer& signer,
                               const core::SecretBytes& queue_key, std::string_view hostname,
                               core::TimePoint now, core::Rng& rng,
                               const std::optional<mime::Sealing>& sealing = std::nullopt);

// The queue's own id of a message: the Message-ID's random left side (32 hex digits).
std::string queue_id_of(std::string_view message_id);

// The cleartext of a queued body (integrity: wrong key or an edited row).
core::Result<core::SecretBytes> open_body(const store::MailMessageRecord& record,
                                          const core::SecretBytes& queue_key);

}  // namespace mail::queue
