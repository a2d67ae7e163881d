#pragma once
// Builds every outbound message (RFC 5322 + MIME) with GMime 3. Header fields reach the
// message only through here: every text that becomes a header is checked (no CR, LF, NUL or
// other control character, valid UTF-8, bounded) and then encoded and folded by GMime.
// Trust: the spec's texts may come from users (names, subjects, bodies); addresses are
// already validated Address values.
//
// Thread safety: build_message may run on several threads at once. g_mime_init() runs
// once (std::call_once); each call makes its own GMime objects and its own format options
// and never changes GMime's process-wide defaults; the multipart boundary and the
// Message-ID come from the caller's Rng, not from GMime's rand()-based generators. GMime's
// documentation says its charset/iconv/utils functions are thread-safe and its GObjects are
// not (so none is shared); its shared tables are written only by g_mime_init().

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/rng.hpp"
#include "mail/mime/address.hpp"
#include "mail/mime/limits.hpp"

namespace mail::mime {

// A delivery status notification (RFC 3464) about a message we could not deliver. With
// MessageSpec::report set, the body becomes multipart/report; report-type=delivery-status:
// the text body (for people), this report (for programs), and the original's header
// (text/rfc822-headers) when one is given. When an address needs UTF-8 the machine part is
// message/global-delivery-status (RFC 6533), addresses typed utf-8.
// Trust: `diagnostic` and `original_header` come from remote servers and from the original
// message: the diagnostic is reduced to printable ASCII and bounded; a header that is not
// 7-bit CRLF text within the line limit is left out rather than passed on.
struct DeliveryReport {
  std::string reporting_mta;                    // our host name
  std::optional<core::TimePoint> arrival_date;  // when the original was queued
  struct Recipient {
    Address final_recipient;
    std::string status;      // RFC 3463 code of the failure, "5.1.1"
    std::string remote_mta;  // the MX host that answered; empty when none was reached
    std::string diagnostic;  // the remote's SMTP reply ("550 5.1.1 ..."), or empty
    std::optional<core::TimePoint> last_attempt;
  };
  std::vector<Recipient> recipients;  // 1..kMaxRecipients, action "failed" each
  std::string original_header;        // the original's header block, CRLF lines, or empty
};

// An SMTP TLS report (RFC 8460 5.3) as a message: with MessageSpec::tls_report set, the
// body becomes multipart/report; report-type="tlsrpt": the text body, then the gzip'd JSON
// report as an application/tlsrpt+gzip attachment named `file_name`.
struct TlsReportAttachment {
  std::string file_name;  // RFC 8460 5.3's name: [A-Za-z0-9.!_-] only
  std::string gzip;       // the compressed report
};

// A file after the text body (multipart/mixed), base64-encoded, Content-Disposition
// attachment. S5's encrypted notices carry the stored submission this way.
struct Attachment {
  std::string file_name;     // [A-Za-z0-9.!_-], 1..255 characters
  std::string content_type;  // "type/subtype", lower-case letters, digits, '.', '+', '-'
  std::string bytes;         // 1..kMaxBodyBytes
};

// Message-level encryption (issue 9; the keys and the cryptography are mail/secure's). The
// content entity (the body as built, with its Content-Type and Content-Transfer-Encoding;
// CRLF lines) is handed to `seal`, and what `seal` returns becomes the message's body:
//   pgp_mime  RFC 3156: multipart/encrypted; protocol="application/pgp-encrypted", a
//             "Version: 1" part and an application/octet-stream part "encrypted.asc"
//             holding `seal`'s result, an ASCII-armored OpenPGP message (7-bit lines)
//   smime     RFC 8551: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m,
//             `seal`'s result (DER CMS) base64-encoded
// Header protection (RFC 9788, injected header fields, the baseline confidentiality policy):
// the sealed entity starts with a copy of the message's header fields (From, To, Cc,
// Reply-To, Subject, Date, Message-ID and the extra fields; never MIME-Version, Content-*,
// DKIM-Signature), then an HP-Outer field for each field the outside shows, and its
// Content-Type says hp="cipher" (and protected-headers="v1", the earlier draft's marker that
// Thunderbird reads). Outside, the routing fields stay (SMTP needs them) and the Subject
// becomes "[...]": only a reader of the sealed content sees the real one.
enum class Envelope { pgp_mime, smime };
struct Sealing {
  Envelope envelope = Envelope::pgp_mime;
  std::function<core::Result<std::string>(std::string_view entity)> seal;
};

struct MessageSpec {
  Address from;
  std::optional<std::string> from_name;  // UTF-8; RFC 2047-encoded when not ASCII
  std::vector<Address> to;               // at least one
  std::vector<Address> cc;
  std::optional<Address> reply_to;
  // UTF-8, one line. Leading and trailing white space is dropped (GMime trims every
  // header value).
  std::string subject;
  std::string text_body;                 // UTF-8; LF, CRLF or CR line ends (made CRLF)
  std::optional<std::string> html_body;  // when set: multipart/alternative (text, html)
  std::string message_id_domain;         // the right side of the Message-ID
  // Only names from kAllowedExtraHeaders (any case; written in the list's spelling), each at
  // most once; values printable ASCII (and space/tab) only.
  std::vector<std::pair<std::string, std::string>> extra_headers;
  // When set, the message is a delivery status notification (see DeliveryReport); html_body
  // must then be empty.
  std::optional<DeliveryReport> report;
  // When set, the message carries a TLS report (see TlsReportAttachment); html_body and
  // report must then be empty.
  std::optional<TlsReportAttachment> tls_report;
  // When set, the text body is followed by this file (see Attachment); report and
  // tls_report must then be empty.
  std::optional<Attachment> attachment;
  // When set, the body is sealed (see Sealing); report and tls_report must then be empty.
  std::optional<Sealing> sealing;
};

// Header fields a caller may add. List-* for bulk mail (RFC 2369, RFC 8058), Auto-Submitted
// (RFC 3834) and Precedence so auto-responders stay quiet, Feedback-ID for mailbox
// providers' complaint loops.
// TLS-Report-Domain and TLS-Report-Submitter are RFC 8460 5.3's.
inline constexpr const char* kAllowedExtraHeaders[] = {
    "List-Unsubscribe", "List-Unsubscribe-Post", "List-Id",           "Auto-Submitted",
    "Precedence",       "Feedback-ID",           "TLS-Report-Domain", "TLS-Report-Submitter"};

struct BuiltMessage {
  std::string message_id;  // "<32 hex>@<message_id_domain>", without the angle brackets
  // CRLF line ends, every line <= 998 octets; 7-bit clean unless needs_smtputf8.
  std::string bytes;
  // An address has a UTF-8 local-part, so the header holds raw UTF-8 (RFC 6532) and only
  // an SMTPUTF8 server may take the message.
  bool needs_smtputf8 = false;
};

// Date is `date` in UTC; Message-ID is 128 random bits from `rng`. Bodies are
// quoted-printable or base64 (as GMime's best-encoding filter decides under a 7-bit
// constraint) or 7bit when they are plain ASCII with short lines and no "From " line.
core::Result<BuiltMessage> build_message(const MessageSpec& spec, core::TimePoint date,
                                         core::Rng& rng);

// Policy `forced`'s fallback (issue 9, M2): a message we built and queued (`message`, its
// RFC 5322 bytes, DKIM-signed) again with its content entity sealed (see Sealing): the same
// header fields but for DKIM-Signature (dropped: the copy is signed anew) and Message-ID (a
// new one from `rng` at `message_id_domain`: the copy is a message of its own). invalid_input
// when the message is not readable or is sealed already (multipart/encrypted or
// application/pkcs7-mime: it is not sealed twice).
core::Result<BuiltMessage> reseal_message(std::string_view message, const Sealing& sealing,
                                          std::string_view message_id_domain, core::Rng& rng);

// What the secure-message portal shows of a message we built and queued (policy `forced`'s
// fallback to the portal): its Subject (decoded, UTF-8) and its first text/plain part that
// is not an attachment (decoded to UTF-8, CRLF line ends kept as sent). Trust: our own
// queue's bytes, authenticated before they get here; still bounded (kMaxReadableBytes) and
// the MIME tree walked to kMaxReadableDepth only. invalid_input when the message is too
// large, not readable, sealed already, or has no text/plain part.
struct TextContent {
  std::string subject;
  std::string text;
};
inline constexpr std::size_t kMaxReadableBytes = 3 * kMaxBodyBytes;
inline constexpr int kMaxReadableDepth = 8;
core::Result<TextContent> read_text(std::string_view message);

}  // namespace mail::mime
