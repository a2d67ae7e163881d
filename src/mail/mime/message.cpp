// Trust: subject, names and bodies may come from users; every one is checked here before
// GMime sees it, and the finished bytes are checked again before they leave.
#include "mail/mime/message.hpp"

#include <fmt/format.h>
#include <gmime/gmime.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <set>
#include <string_view>

#include "core/encoding.hpp"
#include "core/secret.hpp"
#include "mail/mime/detail/gobject_ptr.hpp"
#include "mail/mime/limits.hpp"

namespace mail::mime {
namespace {

using core::ErrorKind;
using detail::GObjectPtr;

void init_gmime_once() {
  // g_mime_init() counts its callers without a lock: exactly one call, before any use.
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

// C0 controls, DEL and C1 controls (0xC2 0x80..0x9F in UTF-8).
bool has_control(std::string_view text, bool allow_tab_and_newlines) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (allow_tab_and_newlines && (c == '\t' || c == '\r' || c == '\n')) continue;
    if (c < 0x20 || c == 0x7F) return true;
    if (c == 0xC2 && i + 1 < text.size()) {
      const auto n = static_cast<unsigned char>(text[i + 1]);
      if (n >= 0x80 && n <= 0x9F) return true;
    }
  }
  return false;
}

// One line of UTF-8 text for a header (subject, display name).
core::Status check_header_text(std::string_view text, std::size_t max, const char* what) {
  if (text.size() > max)
    return core::fail(ErrorKind::too_large, std::string(what) + " is too long");
  if (!core::is_valid_utf8(text))
    return core::fail(ErrorKind::invalid_input, std::string(what) + " is not valid UTF-8");
  if (has_control(text, false))
    return core::fail(ErrorKind::invalid_input,
                      std::string(what) + " contains a line break or a control character");
  return core::ok();
}

// A body: UTF-8, no control characters but tab and line ends, every line end made CRLF
// (RFC 2045 §6.7/§6.8: text is encoded in its canonical CRLF form).
core::Result<std::string> canonical_body(std::string_view body, const char* what) {
  if (body.size() > kMaxBodyBytes)
    return core::fail(ErrorKind::too_large, std::string(what) + " is too long");
  if (!core::is_valid_utf8(body))
    return core::fail(ErrorKind::invalid_input, std::string(what) + " is not valid UTF-8");
  if (has_control(body, true))
    return core::fail(ErrorKind::invalid_input,
                      std::string(what) + " contains a control character");
  std::string out;
  out.reserve(body.size() + body.size() / 32 + 2);
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < body.size() && body[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  // Every line ends in CRLF, the last one too (SMTP's DATA and DKIM's body both want it).
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lx = (x >= 'A' && x <= 'Z') ? x - 'A' + 'a' : x;
           const auto ly = (y >= 'A' && y <= 'Z') ? y - 'A' + 'a' : y;
           return lx == ly;
         });
}

std::string random_hex(core::Rng& rng, std::size_t bytes) {
  std::array<std::uint8_t, 32> buf{};
  const auto n = std::min(bytes, buf.size());
  rng.fill(std::span<std::uint8_t>(buf.data(), n));
  return core::to_hex(std::span<const std::uint8_t>(buf.data(), n));
}

// A display name is encoded (RFC 2047) as UTF-8 when it is not ASCII, rather than in
// whatever smaller charset GMime would pick.
void add_mailbox(GMimeMessage* message, GMimeAddressType type,
                 const std::optional<std::string>& name, const Address& address) {
  const std::string addr = address.str();
  GObjectPtr<InternetAddress> mailbox(
      internet_address_mailbox_new(name ? name->c_str() : nullptr, addr.c_str()));
  internet_address_set_charset(mailbox.get(), "utf-8");
  internet_address_list_add(g_mime_message_get_addresses(message, type), mailbox.get());
}

GObjectPtr<GMimeObject> text_part(const char* subtype, const std::string& canonical) {
  GObjectPtr<GMimeTextPart> part(g_mime_text_part_new_with_subtype(subtype));
  auto* object = GMIME_OBJECT(part.get());
  g_mime_object_set_content_type_parameter(object, "charset", "utf-8");
  GObjectPtr<GMimeStream> stream(
      g_mime_stream_mem_new_with_buffer(canonical.data(), canonical.size()));
  GObjectPtr<GMimeDataWrapper> content(
      g_mime_data_wrapper_new_with_stream(stream.get(), GMIME_CONTENT_ENCODING_DEFAULT));
  g_mime_part_set_content(GMIME_PART(part.get()), content.get());
  // 7bit, quoted-printable or base64, whichever GMime's best filter finds for a 7-bit
  // channel; it also quotes a line starting with "From " (mbox-safe).
  g_mime_part_set_content_encoding(GMIME_PART(part.get()), GMIME_CONTENT_ENCODING_DEFAULT);
  g_mime_object_encode(object, GMIME_ENCODING_CONSTRAINT_7BIT);
  return GObjectPtr<GMimeObject>(GMIME_OBJECT(part.release()));
}

// RFC 3463: class "." subject "." detail, class 2, 4 or 5, the others 1 to 3 digits.
bool is_status_code(std::string_view s) {
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  std::size_t i = 2;
  for (int field = 0; field < 2; ++field) {
    const std::size_t start = i;
    while (i < s.size() && i - start < 4 && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start || i - start > 3) return false;
    if (field == 0) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

// Untrusted text quoted in a report: printable ASCII, bounded.
std::string printable_ascii(std::string_view text, std::size_t max) {
  std::string out(text.substr(0, max));
  for (auto& ch : out) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7F) ch = '?';
  }
  return out;
}

// RFC 5322 3.3, in UTC.
std::string rfc5322_date(core::TimePoint when) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t t = core::unix_seconds(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} +0000", kDays[tm.tm_wday], tm.tm_mday,
                     kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// A header block fit to return as text/rfc822-headers: 7-bit, CRLF lines within 998 octets,
// no blank line (that would end it), bounded.
bool returnable_header(std::string_view h) {
  if (h.empty() || h.size() > kMaxOriginalHeaderBytes) return false;
  std::size_t start = 0;
  while (start < h.size()) {
    const std::size_t lf = h.find('\n', start);
    if (lf == std::string_view::npos || lf == start || h[lf - 1] != '\r') return false;
    const std::string_view line = h.substr(start, lf - 1 - start);
    if (line.empty() || line.size() > 998) return false;
    for (const char ch : line) {
      const auto c = static_cast<unsigned char>(ch);
      if (c >= 0x80 || c == 0 || c == '\r') return false;
    }
    start = lf + 1;
  }
  return true;
}

// The machine-readable part of a DSN (RFC 3464 2.2, 2.3), CRLF lines.
core::Result<std::string> delivery_status(const DeliveryReport& report, bool utf8) {
  if (report.recipients.empty() || report.recipients.size() > kMaxRecipients)
    return core::fail(ErrorKind::invalid_input, "a delivery report needs 1 to 100 recipients");
  auto mta = normalize_domain(report.reporting_mta);
  if (!mta)
    return core::fail(ErrorKind::invalid_input, "the reporting MTA is not a domain name",
                      mta.error().detail());
  std::string out = fmt::format("Reporting-MTA: dns; {}\r\n", *mta);
  if (report.arrival_date) out += "Arrival-Date: " + rfc5322_date(*report.arrival_date) + "\r\n";
  for (const auto& r : report.recipients) {
    if (!is_status_code(r.status) || r.status[0] == '2')
      return core::fail(ErrorKind::invalid_input,
                        "a failed recipient needs a 4.x.x or 5.x.x status");
    out += "\r\n";
    out += fmt::format("Final-Recipient: {}; {}\r\n", utf8 ? "utf-8" : "rfc822",
                       r.final_recipient.str());
    out += "Action: failed\r\n";
    out += "Status: " + r.status + "\r\n";
    if (auto remote = normalize_domain(r.remote_mta); !r.remote_mta.empty() && remote)
      out += "Remote-MTA: dns; " + *remote + "\r\n";
    if (!r.diagnostic.empty())
      out +=
          "Diagnostic-Code: smtp; " + printable_ascii(r.diagnostic, kMaxDiagnosticBytes) + "\r\n";
    if (r.last_attempt) out += "Last-Attempt-Date: " + rfc5322_date(*r.last_attempt) + "\r\n";
  }
  return out;
}

// A leaf part whose content we wrote ourselves, sent as it is.
// A file name that needs no quoting or encoding in any client: RFC 8460 5.3's characters.
bool file_name_ok(std::string_view name) {
  return !name.empty() && name.size() <= 255 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '!' || c == '_' ||
           c == '-';
  });
}

// "type/subtype", each a run of lower-case letters, digits, '.', '+' and '-'.
bool content_type_ok(std::string_view type) {
  const auto slash = type.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == type.size() ||
      type.size() > 127)
    return false;
  return std::all_of(type.begin(), type.end(),
                     [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                              c == '+' || c == '-' || c == '/';
                     }) &&
         type.find('/', slash + 1) == std::string_view::npos;
}

GObjectPtr<GMimeObject> raw_part(const char* type, const char* subtype, const std::string& content,
                                 GMimeContentEncoding encoding) {
  GObjectPtr<GMimePart> part(g_mime_part_new_with_type(type, subtype));
  GObjectPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(content.data(), content.size()));
  GObjectPtr<GMimeDataWrapper> wrapper(
      g_mime_data_wrapper_new_with_stream(stream.get(), GMIME_CONTENT_ENCODING_DEFAULT));
  g_mime_part_set_content(part.get(), wrapper.get());
  g_mime_part_set_content_encoding(part.get(), encoding);
  return GObjectPtr<GMimeObject>(GMIME_OBJECT(part.release()));
}

// The message's header fields as written (CRLF, folded), one string per field with its
// continuation lines, but for the structural ones (MIME-Version, Content-*) and
// DKIM-Signature: what RFC 9788 copies into the cryptographic payload.
std::vector<std::string> non_structural_fields(GMimeMessage* message, GMimeFormatOptions* options) {
  char* text = g_mime_header_list_to_string(g_mime_object_get_header_list(GMIME_OBJECT(message)),
                                            options);  // transfer full
  std::string block = text != nullptr ? text : "";
  g_free(text);
  std::vector<std::string> fields;
  std::size_t at = 0;
  while (at < block.size()) {
    std::size_t end = block.find("\r\n", at);
    if (end == std::string::npos) end = block.size();
    std::string line = block.substr(at, end - at);
    at = end + 2;
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      if (!fields.empty()) fields.back() += "\r\n" + line;
      continue;
    }
    fields.push_back(std::move(line));
  }
  std::erase_if(fields, [](const std::string& field) {
    std::string name = field.substr(0, field.find(':'));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return name == "mime-version" || name.starts_with("content-") || name == "dkim-signature";
  });
  return fields;
}

// What the outside of an encrypted message says its subject is (RFC 9788's hcp_baseline).
constexpr const char* kObscuredSubject = "[...]";

// RFC 9788 header protection ("injected header fields"), for an encrypted message under the
// baseline header confidentiality policy: the content entity gets hp="cipher" (and
// protected-headers="v1", the earlier draft's marker that Thunderbird reads) and a copy of
// the message's header fields, then one HP-Outer field per field the outside shows; the
// outside's Subject becomes "[...]". Returns those header lines (CRLF-ended), to be written
// before the entity's own.
std::string protect_headers(GMimeMessage* message, GMimeObject* entity,
                            GMimeFormatOptions* options) {
  std::string injected;
  for (const std::string& field : non_structural_fields(message, options)) {
    injected += field + "\r\n";
  }
  g_mime_message_set_subject(message, kObscuredSubject, nullptr);
  for (const std::string& field : non_structural_fields(message, options)) {
    injected += "HP-Outer: " + field + "\r\n";
  }
  g_mime_object_set_content_type_parameter(entity, "hp", "cipher");
  g_mime_object_set_content_type_parameter(entity, "protected-headers", "v1");
  return injected;
}

// The content entity written out (after `message`'s protected header fields), sealed by the
// caller's function, and wrapped as MessageSpec::sealing says. The cleartext is wiped once
// sealed.
core::Result<GObjectPtr<GMimeObject>> seal_entity(const Sealing& sealing, GMimeMessage* message,
                                                  GMimeObject* entity, GMimeFormatOptions* options,
                                                  core::Rng& rng) {
  std::string injected = protect_headers(message, entity, options);
  GObjectPtr<GMimeStream> out(g_mime_stream_mem_new());
  if (g_mime_stream_write(out.get(), injected.data(), injected.size()) < 0 ||
      g_mime_object_write_to_stream(entity, options, out.get()) < 0)
    return core::fail(ErrorKind::internal, "the message could not be built", "GMime write failed");
  core::secure_wipe(injected.data(), injected.size());
  GByteArray* array = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out.get()));
  auto sealed =
      sealing.seal(std::string_view(reinterpret_cast<const char*>(array->data), array->len));
  core::secure_wipe(array->data, array->len);
  if (!sealed) return core::fail(std::move(sealed).error());

  if (sealing.envelope == Envelope::smime) {
    GObjectPtr<GMimeObject> part =
        raw_part("application", "pkcs7-mime", *sealed, GMIME_CONTENT_ENCODING_BASE64);
    g_mime_object_set_content_type_parameter(part.get(), "smime-type", "enveloped-data");
    g_mime_object_set_content_type_parameter(part.get(), "name", "smime.p7m");
    g_mime_object_set_content_disposition_parameter(part.get(), "filename", "smime.p7m");
    g_mime_object_set_disposition(part.get(), "attachment");
    return part;
  }
  // RFC 3156 section 4, as Thunderbird writes it.
  GObjectPtr<GMimeMultipart> encrypted(g_mime_multipart_new_with_subtype("encrypted"));
  g_mime_object_set_content_type_parameter(GMIME_OBJECT(encrypted.get()), "protocol",
                                           "application/pgp-encrypted");
  const std::string boundary = "=_sealpost_" + random_hex(rng, 16);
  g_mime_multipart_set_boundary(encrypted.get(), boundary.c_str());
  g_mime_multipart_set_prologue(encrypted.get(),
                                "This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)");
  GObjectPtr<GMimeObject> version =
      raw_part("application", "pgp-encrypted", "Version: 1\r\n", GMIME_CONTENT_ENCODING_7BIT);
  g_mime_object_set_header(version.get(), "Content-Description", "PGP/MIME version identification",
                           nullptr);
  g_mime_multipart_add(encrypted.get(), version.get());
  GObjectPtr<GMimeObject> data =
      raw_part("application", "octet-stream", *sealed, GMIME_CONTENT_ENCODING_7BIT);
  g_mime_object_set_content_type_parameter(data.get(), "name", "encrypted.asc");
  g_mime_object_set_header(data.get(), "Content-Description", "OpenPGP encrypted message", nullptr);
  g_mime_object_set_disposition(data.get(), "inline");
  g_mime_object_set_content_disposition_parameter(data.get(), "filename", "encrypted.asc");
  g_mime_multipart_add(encrypted.get(), data.get());
  return GObjectPtr<GMimeObject>(GMIME_OBJECT(encrypted.release()));
}

// The finished bytes, checked once more: CRLF only, no NUL, lines within RFC 5322's 998,
// and the header holds exactly the fields we set (no field smuggled in through a value).
core::Status check_output(std::string_view bytes, const std::set<std::string>& expected_names,
                          bool allow_8bit_headers) {
  const auto broken = [](const char* why) {
    return core::fail(ErrorKind::internal, "the message could not be built", why);
  };
  std::size_t line_start = 0;
  bool in_header = true;
  std::set<std::string> seen;
  while (line_start < bytes.size()) {
    const std::size_t lf = bytes.find('\n', line_start);
    if (lf == std::string_view::npos || lf == line_start || bytes[lf - 1] != '\r')
      return broken("a line does not end in CRLF");
    const std::string_view line = bytes.substr(line_start, lf - 1 - line_start);
    if (line.size() > 998) return broken("a line is longer than 998 octets");
    if (line.find('\r') != std::string_view::npos || line.find('\0') != std::string_view::npos)
      return broken("a bare CR or a NUL");
    if (in_header) {
      if (line.empty()) {
        in_header = false;
      } else if (line.front() != ' ' && line.front() != '\t') {
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0)
          return broken("a header line without a name");
        std::string name(line.substr(0, colon));
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (!expected_names.contains(name)) return broken("an unexpected header field");
        if (!seen.insert(name).second) return broken("a header field twice");
      }
      if (!allow_8bit_headers && std::any_of(line.begin(), line.end(), [](char c) {
            return static_cast<unsigned char>(c) >= 0x80;
          }))
        return broken("8-bit header text");
    }
    line_start = lf + 1;
  }
  if (in_header) return broken("no end of header");
  return core::ok();
}

}  // namespace

core::Result<BuiltMessage> build_message(const MessageSpec& spec, core::TimePoint date,
                                         core::Rng& rng) {
  // --- Every input checked before GMime sees it.
  if (spec.to.empty()) return core::fail(ErrorKind::invalid_input, "a message needs a recipient");
  if (spec.to.size() + spec.cc.size() > kMaxRecipients)
    return core::fail(ErrorKind::too_large, "too many recipients for one message");
  if (auto ok = check_header_text(spec.subject, kMaxSubjectBytes, "the subject"); !ok)
    return core::fail(ok.error());
  if (spec.from_name) {
    if (auto ok = check_header_text(*spec.from_name, kMaxDisplayNameBytes, "the sender's name");
        !ok)
      return core::fail(ok.error());
  }
  auto text = canonical_body(spec.text_body, "the text body");
  if (!text) return core::fail(text.error());
  std::optional<std::string> html;
  if (spec.html_body) {
    auto h = canonical_body(*spec.html_body, "the html body");
    if (!h) return core::fail(h.error());
    html = std::move(*h);
  }
  std::optional<std::string> report_text;
  bool report_utf8 = false;
  if (spec.report) {
    if (spec.html_body)
      return core::fail(ErrorKind::invalid_input, "a delivery report has no html body");
    for (const auto& r : spec.report->recipients)
      report_utf8 = report_utf8 || r.final_recipient.needs_smtputf8();
    auto status = delivery_status(*spec.report, report_utf8);
    if (!status) return core::fail(status.error());
    report_text = std::move(*status);
  }
  if (spec.tls_report) {
    if (spec.html_body || spec.report)
      return core::fail(ErrorKind::invalid_input, "a TLS report is the only report of a message");
    if (!file_name_ok(spec.tls_report->file_name))
      return core::fail(ErrorKind::invalid_input, "the TLS report's file name is not allowed");
    if (spec.tls_report->gzip.empty() || spec.tls_report->gzip.size() > kMaxBodyBytes)
      return core::fail(ErrorKind::too_large, "the TLS report is empty or too large");
  }
  if (spec.attachment) {
    if (spec.report || spec.tls_report)
      return core::fail(ErrorKind::invalid_input, "a report carries no other attachment");
    if (!file_name_ok(spec.attachment->file_name))
      return core::fail(ErrorKind::invalid_input, "the attachment's file name is not allowed");
    if (!content_type_ok(spec.attachment->content_type))
      return core::fail(ErrorKind::invalid_input, "the attachment's content type is not allowed");
    if (spec.attachment->bytes.empty() || spec.attachment->bytes.size() > kMaxBodyBytes)
      return core::fail(ErrorKind::too_large, "the attachment is empty or too large");
  }
  auto id_domain = normalize_domain(spec.message_id_domain);
  if (!id_domain)
    return core::fail(ErrorKind::invalid_input, "the Message-ID domain is not a domain name",
                      id_domain.error().detail());

  std::set<std::string> names = {
      "date",       "from",         "to",           "subject",
      "message-id", "mime-version", "content-type", "content-transfer-encoding"};
  if (!spec.cc.empty()) names.insert("cc");
  if (spec.reply_to) names.insert("reply-to");
  // An S/MIME body is one part, so its disposition becomes a field of the message.
  if (spec.sealing && spec.sealing->envelope == Envelope::smime) {
    names.insert("content-disposition");
  }
  if (spec.extra_headers.size() > kMaxExtraHeaders)
    return core::fail(ErrorKind::too_large, "too many extra header fields");
  std::vector<std::pair<const char*, const std::string*>> extras;
  for (const auto& [name, value] : spec.extra_headers) {
    const char* canonical = nullptr;
    for (const char* allowed : kAllowedExtraHeaders) {
      if (iequals(name, allowed)) canonical = allowed;
    }
    if (canonical == nullptr)
      return core::fail(ErrorKind::invalid_input, "that header field may not be set",
                        "not in kAllowedExtraHeaders");
    std::string lower(canonical);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!names.insert(lower).second)
      return core::fail(ErrorKind::invalid_input, "a header field is set twice");
    if (value.size() > kMaxExtraHeaderValueBytes)
      return core::fail(ErrorKind::too_large, "a header field's value is too long");
    const bool printable = std::all_of(value.begin(), value.end(), [](char ch) {
      const auto c = static_cast<unsigned char>(ch);
      return c == '\t' || (c >= 0x20 && c < 0x7F);
    });
    if (!printable || value.find_first_not_of(" \t") == std::string::npos)
      return core::fail(ErrorKind::invalid_input,
                        "a header field's value must be printable ASCII on one line");
    extras.emplace_back(canonical, &value);
  }

  bool smtputf8 = spec.from.needs_smtputf8() || (spec.reply_to && spec.reply_to->needs_smtputf8());
  for (const auto* list : {&spec.to, &spec.cc}) {
    for (const auto& a : *list) smtputf8 = smtputf8 || a.needs_smtputf8();
  }
  // 8-bit report content (RFC 6533) travels only where SMTPUTF8 is offered.
  smtputf8 = smtputf8 || report_utf8;

  // --- The message.
  init_gmime_once();
  GObjectPtr<GMimeMessage> message(g_mime_message_new(TRUE));
  add_mailbox(message.get(), GMIME_ADDRESS_TYPE_FROM, spec.from_name, spec.from);
  if (spec.reply_to) add_mailbox(message.get(), GMIME_ADDRESS_TYPE_REPLY_TO, {}, *spec.reply_to);
  for (const auto& a : spec.to) add_mailbox(message.get(), GMIME_ADDRESS_TYPE_TO, {}, a);
  for (const auto& a : spec.cc) add_mailbox(message.get(), GMIME_ADDRESS_TYPE_CC, {}, a);
  g_mime_message_set_subject(message.get(), spec.subject.c_str(), "utf-8");

  std::unique_ptr<GDateTime, decltype(&g_date_time_unref)> when(
      g_date_time_new_from_unix_utc(core::unix_seconds(date)), &g_date_time_unref);
  if (!when) return core::fail(ErrorKind::internal, "the message could not be built", "bad date");
  g_mime_message_set_date(message.get(), when.get());

  BuiltMessage built;
  built.message_id = random_hex(rng, 16) + "@" + *id_domain;
  g_mime_message_set_message_id(message.get(), built.message_id.c_str());
  g_mime_object_set_header(GMIME_OBJECT(message.get()), "MIME-Version", "1.0", nullptr);
  for (const auto& [name, value] : extras) {
    g_mime_object_set_header(GMIME_OBJECT(message.get()), name, value->c_str(), nullptr);
  }

  GObjectPtr<GMimeObject> body = text_part("plain", *text);
  if (html) {
    GObjectPtr<GMimeMultipart> alternative(g_mime_multipart_new_with_subtype("alternative"));
    // "=_" cannot occur in quoted-printable or base64 output, so no body line can match.
    const std::string boundary = "=_sealpost_" + random_hex(rng, 16);
    g_mime_multipart_set_boundary(alternative.get(), boundary.c_str());
    g_mime_multipart_add(alternative.get(), body.get());
    GObjectPtr<GMimeObject> html_part = text_part("html", *html);
    g_mime_multipart_add(alternative.get(), html_part.get());
    body.reset(GMIME_OBJECT(alternative.release()));
  }
  if (report_text) {
    GObjectPtr<GMimeMultipart> report(g_mime_multipart_new_with_subtype("report"));
    g_mime_object_set_content_type_parameter(GMIME_OBJECT(report.get()), "report-type",
                                             "delivery-status");
    const std::string boundary = "=_sealpost_" + random_hex(rng, 16);
    g_mime_multipart_set_boundary(report.get(), boundary.c_str());
    g_mime_multipart_add(report.get(), body.get());
    GObjectPtr<GMimeObject> status =
        report_utf8
            ? raw_part("message", "global-delivery-status", *report_text,
                       GMIME_CONTENT_ENCODING_8BIT)
            : raw_part("message", "delivery-status", *report_text, GMIME_CONTENT_ENCODING_7BIT);
    g_mime_multipart_add(report.get(), status.get());
    if (returnable_header(spec.report->original_header)) {
      GObjectPtr<GMimeObject> header = raw_part(
          "text", "rfc822-headers", spec.report->original_header, GMIME_CONTENT_ENCODING_7BIT);
      g_mime_multipart_add(report.get(), header.get());
    }
    body.reset(GMIME_OBJECT(report.release()));
  }
  if (spec.tls_report) {
    GObjectPtr<GMimeMultipart> report(g_mime_multipart_new_with_subtype("report"));
    g_mime_object_set_content_type_parameter(GMIME_OBJECT(report.get()), "report-type", "tlsrpt");
    const std::string boundary = "=_sealpost_" + random_hex(rng, 16);
    g_mime_multipart_set_boundary(report.get(), boundary.c_str());
    g_mime_multipart_add(report.get(), body.get());
    GObjectPtr<GMimeObject> attachment = raw_part(
        "application", "tlsrpt+gzip", spec.tls_report->gzip, GMIME_CONTENT_ENCODING_BASE64);
    g_mime_part_set_filename(GMIME_PART(attachment.get()), spec.tls_report->file_name.c_str());
    g_mime_multipart_add(report.get(), attachment.get());
    body.reset(GMIME_OBJECT(report.release()));
  }
  if (spec.attachment) {
    GObjectPtr<GMimeMultipart> mixed(g_mime_multipart_new_with_subtype("mixed"));
    const std::string boundary = "=_sealpost_" + random_hex(rng, 16);
    g_mime_multipart_set_boundary(mixed.get(), boundary.c_str());
    g_mime_multipart_add(mixed.get(), body.get());
    const std::string& type = spec.attachment->content_type;
    const auto slash = type.find('/');
    GObjectPtr<GMimeObject> file =
        raw_part(type.substr(0, slash).c_str(), type.substr(slash + 1).c_str(),
                 spec.attachment->bytes, GMIME_CONTENT_ENCODING_BASE64);
    g_mime_part_set_filename(GMIME_PART(file.get()), spec.attachment->file_name.c_str());
    g_mime_object_set_disposition(file.get(), "attachment");
    g_mime_multipart_add(mixed.get(), file.get());
    body.reset(GMIME_OBJECT(mixed.release()));
  }
  // Our own format options: CRLF line ends; GMime's process-wide defaults stay untouched.
  std::unique_ptr<GMimeFormatOptions, decltype(&g_mime_format_options_free)> options(
      g_mime_format_options_new(), &g_mime_format_options_free);
  g_mime_format_options_set_newline_format(options.get(), GMIME_NEWLINE_FORMAT_DOS);
  if (spec.sealing) {
    if (spec.report || spec.tls_report || !spec.sealing->seal)
      return core::fail(ErrorKind::invalid_input, "a report cannot be sealed");
    auto sealed = seal_entity(*spec.sealing, message.get(), body.get(), options.get(), rng);
    if (!sealed) return core::fail(std::move(sealed).error());
    body = std::move(*sealed);
  }
  g_mime_message_set_mime_part(message.get(), body.get());

  GObjectPtr<GMimeStream> out(g_mime_stream_mem_new());
  if (g_mime_object_write_to_stream(GMIME_OBJECT(message.get()), options.get(), out.get()) < 0)
    return core::fail(ErrorKind::internal, "the message could not be built", "GMime write failed");
  GByteArray* array = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out.get()));
  built.bytes.assign(reinterpret_cast<const char*>(array->data), array->len);
  built.needs_smtputf8 = smtputf8;

  if (auto ok = check_output(built.bytes, names, smtputf8); !ok) return core::fail(ok.error());
  return built;
}

namespace {

// A queued message parsed with a body whose content is not sealed yet (neither PGP/MIME nor
// S/MIME); invalid_input with `public_text` otherwise. The parse reads `message` in place.
core::Result<GObjectPtr<GMimeMessage>> parse_unsealed(std::string_view message,
                                                      const char* public_text) {
  const auto refused = [public_text](const char* why) {
    return core::fail(ErrorKind::invalid_input, public_text, why);
  };
  init_gmime_once();
  GObjectPtr<GMimeStream> in(g_mime_stream_mem_new_with_buffer(message.data(), message.size()));
  GObjectPtr<GMimeParser> parser(g_mime_parser_new_with_stream(in.get()));
  GObjectPtr<GMimeMessage> parsed(g_mime_parser_construct_message(parser.get(), nullptr));
  if (!parsed) return refused("GMime could not parse it");
  GMimeObject* entity = g_mime_message_get_mime_part(parsed.get());  // transfer none
  if (entity == nullptr) return refused("no body");
  GMimeContentType* type = g_mime_object_get_content_type(entity);
  if (g_mime_content_type_is_type(type, "multipart", "encrypted") ||
      g_mime_content_type_is_type(type, "application", "pkcs7-mime")) {
    return refused("sealed already");
  }
  return parsed;
}

}  // namespace

core::Result<BuiltMessage> reseal_message(std::string_view message, const Sealing& sealing,
                                          std::string_view message_id_domain, core::Rng& rng) {
  constexpr const char* kUnsealable = "the queued message could not be sealed";
  if (!sealing.seal) return core::fail(ErrorKind::invalid_input, kUnsealable, "no seal function");
  auto parsed = parse_unsealed(message, kUnsealable);
  if (!parsed) return core::fail(std::move(parsed).error());
  GMimeObject* entity = g_mime_message_get_mime_part(parsed->get());  // transfer none
  while (g_mime_object_remove_header(GMIME_OBJECT(parsed->get()), "DKIM-Signature")) {
  }
  std::unique_ptr<GMimeFormatOptions, decltype(&g_mime_format_options_free)> options(
      g_mime_format_options_new(), &g_mime_format_options_free);
  g_mime_format_options_set_newline_format(options.get(), GMIME_NEWLINE_FORMAT_DOS);
  // The copy's own Message-ID first: the protected header fields carry it.
  BuiltMessage built;
  built.message_id = random_hex(rng, 16) + "@" + std::string(message_id_domain);
  g_mime_message_set_message_id(parsed->get(), built.message_id.c_str());
  auto sealed = seal_entity(sealing, parsed->get(), entity, options.get(), rng);
  if (!sealed) return core::fail(std::move(sealed).error());
  g_mime_message_set_mime_part(parsed->get(), sealed->get());

  GObjectPtr<GMimeStream> out(g_mime_stream_mem_new());
  if (g_mime_object_write_to_stream(GMIME_OBJECT(parsed->get()), options.get(), out.get()) < 0)
    return core::fail(ErrorKind::internal, "the message could not be built", "GMime write failed");
  GByteArray* array = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out.get()));
  built.bytes.assign(reinterpret_cast<const char*>(array->data), array->len);
  // The header is the original's: 8-bit only when it needed SMTPUTF8 already.
  const std::string_view header =
      std::string_view(built.bytes).substr(0, built.bytes.find("\r\n\r\n"));
  built.needs_smtputf8 = std::any_of(header.begin(), header.end(),
                                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
  return built;
}

namespace {

// The first text/plain leaf, depth-first, that is not an attachment; nullptr when none.
GMimeTextPart* first_plain(GMimeObject* entity, int depth) {
  if (entity == nullptr || depth > kMaxReadableDepth) return nullptr;
  if (GMIME_IS_MULTIPART(entity)) {
    GMimeMultipart* multi = GMIME_MULTIPART(entity);
    const int n = g_mime_multipart_get_count(multi);
    for (int i = 0; i < n; ++i) {
      if (auto* found = first_plain(g_mime_multipart_get_part(multi, i), depth + 1)) return found;
    }
    return nullptr;
  }
  if (!GMIME_IS_TEXT_PART(entity)) return nullptr;
  if (!g_mime_content_type_is_type(g_mime_object_get_content_type(entity), "text", "plain"))
    return nullptr;
  if (g_mime_part_is_attachment(GMIME_PART(entity))) return nullptr;
  return GMIME_TEXT_PART(entity);
}

}  // namespace

core::Result<TextContent> read_text(std::string_view message) {
  constexpr const char* kUnreadable = "the queued message could not be read";
  const auto unreadable = [](const char* why) {
    return core::fail(ErrorKind::invalid_input, kUnreadable, why);
  };
  if (message.size() > kMaxReadableBytes) return unreadable("too large");
  auto parsed_message = parse_unsealed(message, kUnreadable);
  if (!parsed_message) return core::fail(std::move(parsed_message).error());
  GObjectPtr<GMimeMessage>& parsed = *parsed_message;
  GMimeObject* entity = g_mime_message_get_mime_part(parsed.get());  // transfer none
  GMimeTextPart* plain = first_plain(entity, 0);
  if (plain == nullptr) return unreadable("no text/plain part");
  TextContent content;
  if (const char* subject = g_mime_message_get_subject(parsed.get())) content.subject = subject;
  char* text = g_mime_text_part_get_text(plain);  // transfer full, UTF-8
  if (text == nullptr) return unreadable("the text part could not be decoded");
  content.text = text;
  core::secure_wipe(text, content.text.size());
  g_free(text);
  if (!core::is_valid_utf8(content.subject) || !core::is_valid_utf8(content.text))
    return unreadable("not UTF-8");
  return content;
}

}  // namespace mail::mime
