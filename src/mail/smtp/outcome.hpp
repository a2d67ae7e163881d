#pragma once
// The one place where what happened in an SMTP session becomes a delivery outcome
// (STYLE.md "Errors" 3): a server's reply at a given stage, or a failure of our own
// (connection, timeout, TLS, a message the server cannot take). Exactly three outcomes.

#include <string>
#include <string_view>

#include "mail/smtp/reply.hpp"

namespace mail::smtp {

enum class Outcome { delivered, temporary, permanent };
std::string_view outcome_name(Outcome outcome);

// Where in the session a reply came or a failure happened.
enum class Stage {
  connect,
  greeting,
  ehlo,
  helo,
  starttls,
  tls_handshake,  // the handshake and the verification of the peer
  mail,
  rcpt,
  data,      // the DATA command (354 expected)
  data_end,  // the reply to the final "."
  rset,
  quit,
};
std::string_view stage_name(Stage stage);

// Failures that are ours to name: no server reply carries them.
enum class LocalFailure {
  connect_failed,         // 4.4.1: refused, unreachable, connect timeout
  connection_lost,        // 4.4.2: closed or reset in the middle of the session
  timeout,                // 4.4.2: a deadline of limits.hpp expired
  protocol_error,         // 4.5.0: a malformed or oversized reply, bytes after STARTTLS's 220
  tls_not_offered,        // 4.7.4: TLS required, STARTTLS not offered (or refused)
  tls_failed,             // 4.7.5: the handshake failed (versions, ciphers, ...)
  tls_unverified,         // 4.7.5: the peer's certificate did not meet the requirement
  message_too_big,        // 5.3.4: over the server's SIZE
  eight_bit_unsupported,  // 5.6.3: 8-bit body, no 8BITMIME
  smtputf8_unsupported,   // 5.6.7: UTF-8 addresses or headers, no SMTPUTF8 (RFC 6531 §3.2)
  bad_sender,             // 5.1.7: an envelope sender we must not put on the wire
  bad_recipient,          // 5.1.3: a recipient we must not put on the wire
  too_many_recipients,    // 4.5.3: more than kMaxRecipientsPerTransaction (the queue splits)
  not_attempted,          // 4.3.0: the transaction was not tried (an earlier failure ended it)
};

// What happened to one recipient (or a whole transaction), ready for the queue, the log and
// a DSN.
struct Status {
  Outcome outcome = Outcome::temporary;
  // The server's reply code; 0 when the failure is ours (no reply was involved).
  int code = 0;
  // "X.Y.Z" for a DSN: the server's when it sent one, else class.0.0 from its code, or ours.
  // Its class always agrees with `outcome` (a 5xx greeting is a temporary failure, so its
  // enhanced code becomes 4.Y.Z; `code` keeps what the server said).
  std::string enhanced;
  // The server's text (sanitised, at most kMaxReportedReplyText bytes) or our fixed text.
  std::string text;
  Stage stage = Stage::connect;
  bool from_server = false;
};

// The outcome of a reply code at a stage: 2xx and 3xx delivered (the caller uses that only
// at data_end), 4xx temporary, 5xx permanent, except:
//  - before MAIL (greeting, EHLO, HELO, STARTTLS, RSET, QUIT) a refusal concerns the connection,
//    not the message: temporary, so the queue tries another MX or later (OpenSMTPD does the
//    same; RFC 5321 §3.8 says a 554 greeting refuses the session);
//  - 552 to RCPT is temporary (RFC 5321 §4.5.3.1.10: too many recipients).
Outcome outcome_of(Stage stage, int code);

Status status_from_reply(Stage stage, const Reply& reply);
Status local_status(Stage stage, LocalFailure failure);

}  // namespace mail::smtp
