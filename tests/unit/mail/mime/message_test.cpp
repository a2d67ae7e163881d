// build_message: the bytes on the wire (CRLF, line lengths, 7-bit headers), the fields GMime
// wrote, the bodies read back with GMime's parser, and every refusal (CR/LF injection, limits).
// Python's email package reads the same messages in tests/interop/test_dkim.py.
#include "mail/mime/message.hpp"

#include <gmime/gmime.h>
#include <gtest/gtest.h>

#include <regex>
#include <thread>

#include "mail/mime/limits.hpp"

namespace mail::mime {
namespace {

const core::TimePoint kDate{std::chrono::seconds(1'800'000'000)};  // 2027-01-15 08:00:00 UTC

Address addr(std::string_view s) {
  auto a = Address::parse(s);
  EXPECT_TRUE(a) << s;
  return *a;
}

MessageSpec spec() {
  MessageSpec s{.from = addr("clinic@example.org"), .to = {addr("patient@example.net")}};
  s.from_name = "Praxis Dr. M\xc3\xbcller";
  s.subject = "Ihre Nachricht ist angekommen";
  s.text_body = "Guten Tag,\n\nwir haben Ihre Nachricht erhalten.\n";
  s.message_id_domain = "example.org";
  return s;
}

core::Result<BuiltMessage> build(const MessageSpec& s, std::uint64_t seed = 7) {
  core::FakeRng rng(seed);
  return build_message(s, kDate, rng);
}

// The header with a CRLF in front, so that every field can be looked for as "\r\nName: ".
std::string header_block(const std::string& bytes) {
  return "\r\n" + bytes.substr(0, bytes.find("\r\n\r\n") + 2);
}

// Every line CRLF-terminated, at most 998 octets; the header 7-bit.
void expect_wire_clean(const std::string& bytes, bool header_8bit_ok = false) {
  std::size_t start = 0;
  bool in_header = true;
  while (start < bytes.size()) {
    const auto lf = bytes.find('\n', start);
    ASSERT_NE(lf, std::string::npos) << "unterminated last line";
    ASSERT_GT(lf, start);
    ASSERT_EQ(bytes[lf - 1], '\r');
    const std::string line = bytes.substr(start, lf - 1 - start);
    EXPECT_LE(line.size(), 998u);
    EXPECT_EQ(line.find('\r'), std::string::npos);
    if (line.empty()) in_header = false;
    if (in_header && !header_8bit_ok) {
      for (char c : line) EXPECT_LT(static_cast<unsigned char>(c), 0x80) << line;
    }
    start = lf + 1;
  }
}

struct Parsed {
  GMimeMessage* message = nullptr;
  explicit Parsed(const std::string& bytes) {
    GMimeStream* stream = g_mime_stream_mem_new_with_buffer(bytes.data(), bytes.size());
    GMimeParser* parser = g_mime_parser_new_with_stream(stream);
    message = g_mime_parser_construct_message(parser, nullptr);
    g_object_unref(parser);
    g_object_unref(stream);
  }
  ~Parsed() {
    if (message) g_object_unref(message);
  }
  std::string subject() const { return g_mime_message_get_subject(message); }
  // The decoded text of part `index` (0 for a single part).
  std::string text(int index = 0) const {
    GMimeObject* body = g_mime_message_get_mime_part(message);
    GMimeObject* part =
        GMIME_IS_MULTIPART(body) ? g_mime_multipart_get_part(GMIME_MULTIPART(body), index) : body;
    char* text = g_mime_text_part_get_text(GMIME_TEXT_PART(part));
    std::string out = text ? text : "";
    g_free(text);
    return out;
  }
};

TEST(Message, HeaderFieldsAndWireForm) {
  auto m = build(spec());
  ASSERT_TRUE(m) << m.error().detail();
  expect_wire_clean(m->bytes);
  const std::string h = header_block(m->bytes);
  EXPECT_NE(h.find("\r\nDate: Fri, 15 Jan 2027 08:00:00 +0000\r\n"), std::string::npos) << h;
  EXPECT_NE(h.find("\r\nTo: patient@example.net\r\n"), std::string::npos) << h;
  EXPECT_NE(h.find("\r\nMIME-Version: 1.0\r\n"), std::string::npos) << h;
  EXPECT_NE(h.find("Content-Type: text/plain; charset=utf-8\r\n"), std::string::npos) << h;
  EXPECT_TRUE(std::regex_match(m->message_id, std::regex("[0-9a-f]{32}@example\\.org")));
  EXPECT_NE(h.find("Message-Id: <" + m->message_id + ">\r\n"), std::string::npos) << h;
  EXPECT_FALSE(m->needs_smtputf8);
  // The display name, RFC 2047-encoded, reads back.
  Parsed p(m->bytes);
  InternetAddressList* from = g_mime_message_get_from(p.message);
  ASSERT_EQ(internet_address_list_length(from), 1);
  InternetAddress* a = internet_address_list_get_address(from, 0);
  EXPECT_STREQ(internet_address_get_name(a), "Praxis Dr. M\xc3\xbcller");
  EXPECT_STREQ(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)),
               "clinic@example.org");
  EXPECT_EQ(p.text(), "Guten Tag,\r\n\r\nwir haben Ihre Nachricht erhalten.\r\n");
}

TEST(Message, RandomnessOnlyFromTheRng) {
  const auto a = build(spec(), 1);
  const auto b = build(spec(), 1);
  const auto c = build(spec(), 2);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->bytes, b->bytes);
  EXPECT_NE(a->message_id, c->message_id);
}

TEST(Message, Utf8SubjectIsEncodedAndReadsBack) {
  auto s = spec();
  s.subject =
      "Gr\xc3\xbc\xc3\x9f"
      "e aus M\xc3\xbcnchen \xe2\x80\x93 \xe6\xbc\xa2\xe5\xad\x97 \xf0\x9f\x99\x82 " +
      std::string(120, 'x');
  auto m = build(s);
  ASSERT_TRUE(m);
  expect_wire_clean(m->bytes);
  EXPECT_NE(header_block(m->bytes).find("Subject: =?UTF-8?"), std::string::npos);
  EXPECT_EQ(Parsed(m->bytes).subject(), s.subject);
}

TEST(Message, EightBitBodyLongLinesFromLinesAndDots) {
  auto s = spec();
  s.text_body = "\xc3\xa4\xc3\xb6\xc3\xbc \xe6\xbc\xa2\n" + std::string(5000, 'L') +
                "\nFrom the clinic\n.\n..\nend";
  auto m = build(s);
  ASSERT_TRUE(m);
  expect_wire_clean(m->bytes);
  const std::string h = header_block(m->bytes);
  EXPECT_TRUE(h.find("Content-Transfer-Encoding: quoted-printable") != std::string::npos ||
              h.find("Content-Transfer-Encoding: base64") != std::string::npos)
      << h;
  // Read back: CRLF line ends, and a final one added.
  std::string expected = "\xc3\xa4\xc3\xb6\xc3\xbc \xe6\xbc\xa2\r\n" + std::string(5000, 'L') +
                         "\r\nFrom the clinic\r\n.\r\n..\r\nend\r\n";
  EXPECT_EQ(Parsed(m->bytes).text(), expected);
}

TEST(Message, AsciiBodyWithFromLineIsQuoted) {
  auto s = spec();
  s.text_body = "Hello\nFrom here on\n";
  auto m = build(s);
  ASSERT_TRUE(m);
  // GMime's best-encoding filter does not leave a "From " line in a 7bit body.
  EXPECT_EQ(header_block(m->bytes).find("Content-Transfer-Encoding: 7bit"), std::string::npos);
  EXPECT_EQ(Parsed(m->bytes).text(), "Hello\r\nFrom here on\r\n");
}

TEST(Message, LineEndsAreMadeCrlf) {
  auto s = spec();
  s.text_body = "a\r\nb\nc\rd";
  auto m = build(s);
  ASSERT_TRUE(m);
  expect_wire_clean(m->bytes);
  EXPECT_EQ(Parsed(m->bytes).text(), "a\r\nb\r\nc\r\nd\r\n");
}

TEST(Message, HtmlMakesMultipartAlternative) {
  auto s = spec();
  s.html_body = "<p>Guten Tag, <b>M\xc3\xbcller</b></p>";
  auto m = build(s);
  ASSERT_TRUE(m);
  expect_wire_clean(m->bytes);
  EXPECT_NE(header_block(m->bytes).find("Content-Type: multipart/alternative;"), std::string::npos);
  Parsed p(m->bytes);
  GMimeObject* body = g_mime_message_get_mime_part(p.message);
  ASSERT_TRUE(GMIME_IS_MULTIPART(body));
  ASSERT_EQ(g_mime_multipart_get_count(GMIME_MULTIPART(body)), 2);
  GMimeContentType* first =
      g_mime_object_get_content_type(g_mime_multipart_get_part(GMIME_MULTIPART(body), 0));
  GMimeContentType* second =
      g_mime_object_get_content_type(g_mime_multipart_get_part(GMIME_MULTIPART(body), 1));
  EXPECT_TRUE(g_mime_content_type_is_type(first, "text", "plain"));
  EXPECT_TRUE(g_mime_content_type_is_type(second, "text", "html"));
  EXPECT_EQ(p.text(0), "Guten Tag,\r\n\r\nwir haben Ihre Nachricht erhalten.\r\n");
  EXPECT_EQ(p.text(1), "<p>Guten Tag, <b>M\xc3\xbcller</b></p>\r\n");
  // The boundary comes from the Rng.
  EXPECT_NE(m->bytes.find("boundary=\"=_sealpost_"), std::string::npos);
}

DeliveryReport report() {
  DeliveryReport r;
  r.reporting_mta = "forms.example.org";
  r.arrival_date = kDate - std::chrono::hours(1);
  r.recipients.push_back({.final_recipient = addr("patient@example.net"),
                          .status = "5.1.1",
                          .remote_mta = "mx.example.net",
                          .diagnostic = "550 5.1.1 no such user\x01 here",
                          .last_attempt = kDate});
  r.original_header = "From: clinic@example.org\r\nTo: patient@example.net\r\n";
  return r;
}

// The raw content of part `index` of the top multipart.
std::string part_content(const Parsed& p, int index) {
  GMimeObject* part =
      g_mime_multipart_get_part(GMIME_MULTIPART(g_mime_message_get_mime_part(p.message)), index);
  GMimeDataWrapper* content = g_mime_part_get_content(GMIME_PART(part));
  GMimeStream* out = g_mime_stream_mem_new();
  g_mime_data_wrapper_write_to_stream(content, out);
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
  std::string text(reinterpret_cast<const char*>(bytes->data), bytes->len);
  g_object_unref(out);
  return text;
}

TEST(Message, DeliveryStatusNotification) {
  auto s = spec();
  s.subject = "Undelivered Mail Returned to Sender";
  s.report = report();
  auto m = build(s);
  ASSERT_TRUE(m) << m.error().detail();
  expect_wire_clean(m->bytes);
  EXPECT_NE(header_block(m->bytes).find("Content-Type: multipart/report;"), std::string::npos);
  EXPECT_NE(header_block(m->bytes).find("report-type=delivery-status"), std::string::npos);
  Parsed p(m->bytes);
  GMimeObject* body = g_mime_message_get_mime_part(p.message);
  ASSERT_TRUE(GMIME_IS_MULTIPART(body));
  ASSERT_EQ(g_mime_multipart_get_count(GMIME_MULTIPART(body)), 3);
  auto type = [&](int i) {
    return g_mime_object_get_content_type(g_mime_multipart_get_part(GMIME_MULTIPART(body), i));
  };
  EXPECT_TRUE(g_mime_content_type_is_type(type(0), "text", "plain"));
  EXPECT_TRUE(g_mime_content_type_is_type(type(1), "message", "delivery-status"));
  EXPECT_TRUE(g_mime_content_type_is_type(type(2), "text", "rfc822-headers"));
  EXPECT_EQ(part_content(p, 1),
            "Reporting-MTA: dns; forms.example.org\r\n"
            "Arrival-Date: Fri, 15 Jan 2027 07:00:00 +0000\r\n"
            "\r\n"
            "Final-Recipient: rfc822; patient@example.net\r\n"
            "Action: failed\r\n"
            "Status: 5.1.1\r\n"
            "Remote-MTA: dns; mx.example.net\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1 no such user? here\r\n"
            "Last-Attempt-Date: Fri, 15 Jan 2027 08:00:00 +0000\r\n");
  EXPECT_EQ(part_content(p, 2), "From: clinic@example.org\r\nTo: patient@example.net\r\n");
  EXPECT_FALSE(m->needs_smtputf8);
}

TEST(Message, DeliveryReportLeavesOutAHeaderItCannotReturnAndRefusesBadFields) {
  auto s = spec();
  s.report = report();
  s.report->original_header = "Subject: caf\xc3\xa9\r\n";  // 8-bit: not returned
  auto m = build(s);
  ASSERT_TRUE(m);
  Parsed p(m->bytes);
  EXPECT_EQ(g_mime_multipart_get_count(GMIME_MULTIPART(g_mime_message_get_mime_part(p.message))),
            2);

  for (const char* bad : {"2.0.0", "5.1", "5.1.1234", "6.1.1", "5.1.1\r\nX: y", ""}) {
    auto t = spec();
    t.report = report();
    t.report->recipients[0].status = bad;
    EXPECT_FALSE(build(t)) << bad;
  }
  auto none = spec();
  none.report = report();
  none.report->recipients.clear();
  EXPECT_FALSE(build(none));
  auto html = spec();
  html.report = report();
  html.html_body = "<p>x</p>";
  EXPECT_FALSE(build(html));
  // A remote MTA that is not a host name is left out, never written as given.
  auto odd = spec();
  odd.report = report();
  odd.report->recipients[0].remote_mta = "mx\r\nX-Injected: 1";
  auto built = build(odd);
  ASSERT_TRUE(built);
  EXPECT_EQ(built->bytes.find("X-Injected"), std::string::npos);
}

TEST(Message, DeliveryReportForAUtf8RecipientIsGlobal) {
  auto s = spec();
  s.report = report();
  s.report->recipients[0].final_recipient = addr("j\xc3\xb6rg@example.net");
  auto m = build(s);
  ASSERT_TRUE(m) << m.error().detail();
  EXPECT_TRUE(m->needs_smtputf8);
  Parsed p(m->bytes);
  GMimeObject* body = g_mime_message_get_mime_part(p.message);
  EXPECT_TRUE(g_mime_content_type_is_type(
      g_mime_object_get_content_type(g_mime_multipart_get_part(GMIME_MULTIPART(body), 1)),
      "message", "global-delivery-status"));
  EXPECT_NE(part_content(p, 1).find("Final-Recipient: utf-8; j\xc3\xb6rg@example.net\r\n"),
            std::string::npos);
}

TEST(Message, TlsReportIsAMultipartReportWithTheGzipAttached) {
  auto s = spec();
  s.subject = "Report Domain: example.net Submitter: example.org Report-ID: <1@example.org>";
  s.extra_headers = {{"TLS-Report-Domain", "example.net"}, {"TLS-Report-Submitter", "example.org"}};
  std::string gz = "\x1f\x8b\x08";
  gz += std::string("\0\xff binary \r\n stuff", 19);
  s.tls_report =
      TlsReportAttachment{.file_name = "example.org!example.net!1!2!001.json.gz", .gzip = gz};
  auto m = build(s);
  ASSERT_TRUE(m) << m.error().detail();
  expect_wire_clean(m->bytes);
  const std::string h = header_block(m->bytes);
  EXPECT_NE(h.find("report-type=tlsrpt"), std::string::npos) << h;
  EXPECT_NE(h.find("\r\nTLS-Report-Domain: example.net\r\n"), std::string::npos) << h;
  Parsed p(m->bytes);
  GMimeObject* body = g_mime_message_get_mime_part(p.message);
  ASSERT_TRUE(GMIME_IS_MULTIPART(body));
  ASSERT_EQ(g_mime_multipart_get_count(GMIME_MULTIPART(body)), 2);
  GMimeObject* attachment = g_mime_multipart_get_part(GMIME_MULTIPART(body), 1);
  EXPECT_TRUE(g_mime_content_type_is_type(g_mime_object_get_content_type(attachment), "application",
                                          "tlsrpt+gzip"));
  EXPECT_STREQ(g_mime_part_get_filename(GMIME_PART(attachment)),
               "example.org!example.net!1!2!001.json.gz");
  EXPECT_EQ(part_content(p, 1), gz);  // decoded from base64, byte for byte

  auto bad = spec();
  bad.tls_report = TlsReportAttachment{.file_name = "../x\r\n", .gzip = gz};
  EXPECT_FALSE(build(bad));
  bad.tls_report = TlsReportAttachment{.file_name = "ok.json.gz", .gzip = ""};
  EXPECT_FALSE(build(bad));
  bad.tls_report = TlsReportAttachment{.file_name = "ok.json.gz", .gzip = gz};
  bad.report = report();
  EXPECT_FALSE(build(bad));
}

TEST(Message, AnAttachmentMakesMultipartMixedWithTheBytesBase64) {
  auto s = spec();
  std::string bytes = "\x85\x02";
  bytes += std::string("\0\xff OpenPGP-ish \r\n.\r\n", 21);
  s.attachment = Attachment{.file_name = "submission-7QK2-9MZD-AB12.pgp",
                            .content_type = "application/octet-stream",
                            .bytes = bytes};
  auto m = build(s);
  ASSERT_TRUE(m) << m.error().detail();
  expect_wire_clean(m->bytes);
  Parsed p(m->bytes);
  GMimeObject* body = g_mime_message_get_mime_part(p.message);
  ASSERT_TRUE(GMIME_IS_MULTIPART(body));
  EXPECT_TRUE(
      g_mime_content_type_is_type(g_mime_object_get_content_type(body), "multipart", "mixed"));
  ASSERT_EQ(g_mime_multipart_get_count(GMIME_MULTIPART(body)), 2);
  GMimeObject* file = g_mime_multipart_get_part(GMIME_MULTIPART(body), 1);
  EXPECT_TRUE(g_mime_content_type_is_type(g_mime_object_get_content_type(file), "application",
                                          "octet-stream"));
  EXPECT_STREQ(g_mime_part_get_filename(GMIME_PART(file)), "submission-7QK2-9MZD-AB12.pgp");
  EXPECT_STREQ(g_mime_object_get_disposition(file), "attachment");
  EXPECT_EQ(part_content(p, 1), bytes);  // decoded from base64, byte for byte

  for (auto [name, type] :
       {std::pair{"../x", "application/octet-stream"},
        std::pair{"a\r\nb.pgp", "application/octet-stream"}, std::pair{"ok.pgp", "application"},
        std::pair{"ok.pgp", "text/plain; charset=x"},
        std::pair{"ok.pgp", "Application/Octet-Stream"}, std::pair{"ok.pgp", "a/b/c"}}) {
    auto bad = spec();
    bad.attachment = Attachment{.file_name = name, .content_type = type, .bytes = bytes};
    EXPECT_FALSE(build(bad)) << name << " " << type;
  }
  auto empty = spec();
  empty.attachment = Attachment{.file_name = "ok.pgp", .content_type = "a/b", .bytes = ""};
  EXPECT_FALSE(build(empty));
  auto with_report = s;
  with_report.report = report();
  EXPECT_FALSE(build(with_report));
}

TEST(Message, CcReplyToAndExtraHeaders) {
  auto s = spec();
  s.cc = {addr("c1@example.net"), addr("c2@example.net")};
  s.reply_to = addr("desk@example.org");
  s.extra_headers = {{"list-unsubscribe", "<https://example.org/u/abc>, <mailto:u@example.org>"},
                     {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
                     {"AUTO-SUBMITTED", "auto-generated"}};
  auto m = build(s);
  ASSERT_TRUE(m) << m.error().detail();
  const std::string h = header_block(m->bytes);
  EXPECT_NE(h.find("\r\nCc: c1@example.net, c2@example.net\r\n"), std::string::npos) << h;
  EXPECT_NE(h.find("\r\nReply-To: desk@example.org\r\n"), std::string::npos) << h;
  EXPECT_NE(h.find("\r\nList-Unsubscribe: <https://example.org/u/abc>, <mailto:u@example.org>\r\n"),
            std::string::npos)
      << h;
  EXPECT_NE(h.find("\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"), std::string::npos)
      << h;
  EXPECT_NE(h.find("\r\nAuto-Submitted: auto-generated\r\n"), std::string::npos) << h;
}

TEST(Message, Smtputf8Flag) {
  auto s = spec();
  s.to = {addr("j\xc3\xbcrgen@example.de")};
  auto m = build(s);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->needs_smtputf8);
  expect_wire_clean(m->bytes, true);
  EXPECT_NE(m->bytes.find("To: j\xc3\xbcrgen@example.de\r\n"), std::string::npos);
}

TEST(Message, RefusesLineBreaksAndControlsInHeaderTexts) {
  for (const std::string& bad :
       {std::string("Hi\r\nBcc: victim@example.com"), std::string("Hi\nX: y"),
        std::string("Hi\rX: y"), std::string("Hi\0there", 8), std::string("tab\there"),
        std::string("del\x7f"), std::string("nel\xc2\x85"), std::string("bad \xff utf8")}) {
    auto s = spec();
    s.subject = bad;
    auto m = build(s);
    ASSERT_FALSE(m) << bad;
    EXPECT_EQ(m.error().kind(), core::ErrorKind::invalid_input);
    EXPECT_EQ(m.error().public_text().find("\n"), std::string::npos);
    auto n = spec();
    n.from_name = bad;
    EXPECT_FALSE(build(n)) << bad;
    auto e = spec();
    e.extra_headers = {{"List-Id", bad}};
    // Extra header values are printable ASCII, where a tab is folding white space.
    if (bad != "tab\there") {
      EXPECT_FALSE(build(e)) << bad;
    }
  }
}

TEST(Message, RefusesOtherHeaderNamesAndBadValues) {
  for (const char* name : {"Bcc", "From", "Subject", "Received", "X-Foo", "List-Id: x",
                           "List-Id\r\nBcc", "DKIM-Signature", ""}) {
    auto s = spec();
    s.extra_headers = {{name, "x"}};
    EXPECT_FALSE(build(s)) << name;
  }
  auto twice = spec();
  twice.extra_headers = {{"List-Id", "<a.example.org>"}, {"list-id", "<b.example.org>"}};
  EXPECT_FALSE(build(twice));
  auto utf8 = spec();
  utf8.extra_headers = {{"List-Id", "M\xc3\xbcnchen <a.example.org>"}};
  EXPECT_FALSE(build(utf8));
  auto blank = spec();
  blank.extra_headers = {{"List-Id", "  "}};
  EXPECT_FALSE(build(blank));
  auto id_domain = spec();
  id_domain.message_id_domain = "example.org>\r\nBcc: x@y.z";
  EXPECT_FALSE(build(id_domain));
}

TEST(Message, RefusesControlCharactersInBodies) {
  for (const std::string& bad : {std::string("a\0b", 3), std::string("a\x01"),
                                 std::string("a\x1b[31m"), std::string("\xc0\xaf")}) {
    auto s = spec();
    s.text_body = bad;
    EXPECT_FALSE(build(s)) << bad;
    auto h = spec();
    h.html_body = bad;
    EXPECT_FALSE(build(h)) << bad;
  }
  auto tabs = spec();
  tabs.text_body = "a\tb\r\n";
  EXPECT_TRUE(build(tabs));
}

TEST(Message, Limits) {
  auto s = spec();
  s.subject = std::string(kMaxSubjectBytes, 's');
  EXPECT_TRUE(build(s));
  s.subject += 's';
  auto m = build(s);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().kind(), core::ErrorKind::too_large);

  auto n = spec();
  n.from_name = std::string(kMaxDisplayNameBytes + 1, 'n');
  EXPECT_FALSE(build(n));

  auto b = spec();
  b.text_body = std::string(kMaxBodyBytes + 1, 'b');
  m = build(b);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().kind(), core::ErrorKind::too_large);
  b.text_body.clear();
  b.html_body = std::string(kMaxBodyBytes + 1, 'b');
  EXPECT_FALSE(build(b));

  auto r = spec();
  r.to.clear();
  EXPECT_FALSE(build(r));
  r.to.assign(kMaxRecipients - 1, addr("t@example.net"));
  r.cc = {addr("c@example.net")};
  EXPECT_TRUE(build(r));
  r.cc.push_back(addr("c2@example.net"));
  m = build(r);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().kind(), core::ErrorKind::too_large);

  auto e = spec();
  e.extra_headers.assign(kMaxExtraHeaders + 1, {"List-Id", "<a.example.org>"});
  EXPECT_FALSE(build(e));
  auto v = spec();
  v.extra_headers = {{"List-Id", std::string(kMaxExtraHeaderValueBytes + 1, 'v')}};
  EXPECT_FALSE(build(v));
}

TEST(Message, EmptyBodyAndSubject) {
  auto s = spec();
  s.subject.clear();
  s.text_body.clear();
  auto m = build(s);
  ASSERT_TRUE(m) << m.error().detail();
  expect_wire_clean(m->bytes);
  EXPECT_TRUE(m->bytes.ends_with("\r\n\r\n"));
}

TEST(Message, ConcurrentBuildsAreIndependent) {
  // Several threads at once, each with its own Rng: every message is whole and reads back.
  constexpr int kThreads = 4;
  std::vector<std::vector<BuiltMessage>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      core::FakeRng rng(100 + t);
      for (int i = 0; i < 40; ++i) {
        auto s = spec();
        s.subject = "Nachricht \xc3\xbc " + std::to_string(t) + "/" + std::to_string(i);
        s.html_body = "<p>" + std::to_string(i) + "</p>";
        auto m = build_message(s, kDate, rng);
        if (m) results[t].push_back(std::move(*m));
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(results[t].size(), 40u);
    for (int i = 0; i < 40; ++i) {
      Parsed p(results[t][i].bytes);
      EXPECT_EQ(p.subject(), "Nachricht \xc3\xbc " + std::to_string(t) + "/" + std::to_string(i));
      EXPECT_EQ(p.text(1), "<p>" + std::to_string(i) + "</p>\r\n");
    }
  }
}

// Policy `forced`'s portal fallback reads back what we built: the subject and the text part
// (decoded, UTF-8), the text also from a multipart/alternative; an attachment is not text.
TEST(Message, ReadTextGivesTheSubjectAndThePlainPart) {
  MessageSpec s = spec();
  s.subject = "Ihre Befunde \xc3\xa4";
  s.text_body = "Zeile \xc3\xbc eins\nzwei <b>x</b>\n";
  auto plain = build(s);
  ASSERT_TRUE(plain) << plain.error().detail();
  auto read = read_text(plain->bytes);
  ASSERT_TRUE(read) << read.error().detail();
  EXPECT_EQ(read->subject, s.subject);
  EXPECT_EQ(read->text, "Zeile \xc3\xbc eins\r\nzwei <b>x</b>\r\n");

  s.html_body = "<p>html</p>";
  auto alternative = build(s);
  ASSERT_TRUE(alternative) << alternative.error().detail();
  auto both = read_text(alternative->bytes);
  ASSERT_TRUE(both) << both.error().detail();
  EXPECT_EQ(both->text.find("html"), std::string::npos);
  EXPECT_NE(both->text.find("zwei"), std::string::npos);
}

TEST(Message, ReadTextRefusesWhatItCannotRead) {
  EXPECT_EQ(read_text("").error().kind(), core::ErrorKind::invalid_input);
  EXPECT_EQ(read_text("Subject: x\r\nContent-Type: image/png\r\n\r\nabc\r\n").error().kind(),
            core::ErrorKind::invalid_input);
  EXPECT_EQ(read_text("Subject: x\r\nContent-Type: multipart/encrypted; boundary=b\r\n\r\n"
                      "--b\r\n\r\nx\r\n--b--\r\n")
                .error()
                .kind(),
            core::ErrorKind::invalid_input);
  EXPECT_EQ(read_text(std::string(kMaxReadableBytes + 1, 'a')).error().kind(),
            core::ErrorKind::invalid_input);
}

}  // namespace
}  // namespace mail::mime
