#pragma once
// The SMTP commands a submission client sends (RFC 5321 §4.1, RFC 6409), parsed once into
// checked values. Pure.
// Trust: untrusted network input (any client that connects, before it authenticates).
//
// A line is given without its CRLF, at most kMaxCommandLineBytes. A verb is matched without
// regard to case; its argument is what follows one space. MAIL FROM and RCPT TO take a path
// in angle brackets (a space after the colon is tolerated, as most servers do) and the
// parameters we advertise: SIZE=n (RFC 1870), BODY=7BIT|8BITMIME (RFC 6152) and AUTH=
// (RFC 4954 §5, ignored). Anything else is refused with the reason, never echoed.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace mail::submission {

enum class Verb {
  ehlo,
  helo,
  starttls,
  auth,
  mail,
  rcpt,
  data,
  rset,
  noop,
  quit,
  vrfy,
  help,
  bdat,
  unknown,
};

struct Command {
  Verb verb = Verb::unknown;
  std::string_view argument;  // after the verb and one space; a view into the line
};

// nullopt: the line holds a control character (NUL, a bare CR, ...) or is not ASCII, or is
// longer than kMaxCommandLineBytes (the reply is 500 5.5.2 either way).
std::optional<Command> parse_command(std::string_view line);

enum class PathError {
  syntax,     // 501 5.5.4: not FROM:<...> / TO:<...>
  address,    // 501 5.1.3 (RCPT) / 5.1.7 (MAIL): the path is not a valid mailbox
  parameter,  // 555 5.5.4: a parameter we do not know or a bad value
};

struct MailFrom {
  std::string address;  // between the brackets; never empty (a null sender is refused)
  std::optional<std::uint64_t> size;
  bool eight_bit_mime = false;  // BODY=8BITMIME
};
// The argument of MAIL ("FROM:<a@b> SIZE=12").
core::Expected<MailFrom, PathError> parse_mail_from(std::string_view argument);

// The argument of RCPT ("TO:<a@b>"); the address between the brackets. No parameters (we
// advertise no DSN).
core::Expected<std::string, PathError> parse_rcpt_to(std::string_view argument);

}  // namespace mail::submission
