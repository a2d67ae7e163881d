#pragma once
// Trust: untrusted network input (the EHLO reply of a remote SMTP server).
//
// What a server's EHLO reply offers (RFC 5321 §4.1.1.1): one keyword per line after the
// first, case-insensitive, with optional parameters. Only the extensions the client uses
// are kept; CHUNKING, AUTH and the rest are ignored.

#include <cstdint>
#include <optional>

#include "mail/smtp/reply.hpp"

namespace mail::smtp {

struct Capabilities {
  bool starttls = false;               // RFC 3207
  bool pipelining = false;             // RFC 2920
  bool eight_bit_mime = false;         // RFC 6152
  bool smtputf8 = false;               // RFC 6531
  bool enhanced_status_codes = false;  // RFC 2034
  bool size_offered = false;           // RFC 1870 (then MAIL carries SIZE=)
  // RFC 1870: the largest message the server accepts. Absent when not offered, or offered
  // without a limit ("SIZE" or "SIZE 0") or with a value that is not a number.
  std::optional<std::uint64_t> size;
};

// The capabilities in a 250 EHLO reply. Any other reply offers nothing.
Capabilities parse_ehlo(const Reply& reply);

}  // namespace mail::smtp
