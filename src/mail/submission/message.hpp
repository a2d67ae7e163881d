#pragma once
// The incoming-message parser: what a mail client submits (RFC 5322 + a strict subset of
// MIME), read into the parts the queue rebuilds a message from (mail::queue::Outgoing). Pure.
// Trust: untrusted network input (an authenticated client, but any bytes).
//
// What is accepted (anything else is refused with a reason, never with the client's text):
//   - a header of at most kMaxHeaderFields fields and kMaxHeaderBytes, folded lines unfolded;
//     field names printable ASCII; values ASCII, or UTF-8 (RFC 6532);
//   - From: exactly one mailbox (`addr`, `<addr>`, `Name <addr>`, `"Name" <addr>`);
//     To and Cc: lists of those (groups and comments are refused); Subject: at most one,
//     RFC 2047 encoded-words in UTF-8 or US-ASCII (B or Q) decoded;
//   - one body part: no Content-Type, or text/plain with charset us-ascii or utf-8
//     (format=flowed and other parameters ignored); Content-Transfer-Encoding absent, 7bit,
//     8bit or quoted-printable. Multipart (HTML, attachments) is refused: the queue sends a
//     text body only (mail::queue::Outgoing).
// Whatever else the client wrote (Date, Message-ID, User-Agent, ...) is dropped: the queue
// writes its own header, so nothing the client sets is signed in our name unchecked.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "mail/mime/address.hpp"

namespace mail::submission {

struct IncomingMessage {
  Address from;
  std::optional<std::string> from_name;
  std::vector<Address> to;
  std::vector<Address> cc;
  std::string subject;  // UTF-8, one line
  std::string text;     // the text/plain body, UTF-8, CRLF line ends
};

enum class MessageError {
  header,        // a malformed header (a line without a colon, a bad name, too many, ...)
  from,          // no From, several, or not one valid mailbox
  recipients,    // a To or Cc that is not a list of valid mailboxes
  subject,       // several Subjects, or one that is not one line of UTF-8 text
  content_type,  // not text/plain (multipart, HTML, attachments) or another charset
  encoding,      // a transfer encoding other than 7bit/8bit/quoted-printable, or bad bytes
};

// The public words for a refusal ("the From header ...").
std::string_view describe(MessageError error);

// `bytes`: the message as DATA delivered it (CRLF line ends, dots unstuffed).
core::Expected<IncomingMessage, MessageError> parse_message(std::string_view bytes);

// If `subject` contains `marker` (any case; with a white space after it or at the end),
// removes it and the white space around it once and returns true. An empty marker never
// matches.
bool take_marker(std::string& subject, std::string_view marker);

}  // namespace mail::submission
