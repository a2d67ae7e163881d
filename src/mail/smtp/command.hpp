#pragma once
// Trust: addresses and names come from our own queue and config, but are checked here
// anyway: a CR or LF in a command would let an address inject SMTP commands.
//
// SMTP command formatting (RFC 5321 §4.1.1) and the DATA transparency procedure
// (RFC 5321 §4.5.2: dot-stuffing, CRLF line ends, the final ".").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace mail::smtp {

// A reverse- or forward-path's content between '<' and '>': at most kMaxPathBytes, no
// control bytes (CR, LF, NUL, ...), no '<' or '>'. Bytes above 0x7F are allowed (they need
// SMTPUTF8, see needs_smtputf8). The empty sender (bounces) is valid; an empty recipient not.
bool is_valid_path(std::string_view address, bool allow_empty);
// Whether the address has non-ASCII bytes, which only SMTPUTF8 may carry (RFC 6531).
bool needs_smtputf8(std::string_view address);
// Whether the message has bytes above 0x7F (it then needs BODY=8BITMIME, RFC 6152).
bool has_eight_bit(std::string_view message);

struct MailParameters {
  std::optional<std::uint64_t> size;  // SIZE=n (RFC 1870), when the server offered SIZE
  bool eight_bit_mime = false;        // BODY=8BITMIME
  bool smtputf8 = false;              // SMTPUTF8
};

// "MAIL FROM:<a> SIZE=n BODY=8BITMIME SMTPUTF8\r\n"; invalid_input for a bad address.
core::Result<std::string> mail_command(std::string_view sender, const MailParameters& params);
// "RCPT TO:<b>\r\n"; invalid_input for a bad address.
core::Result<std::string> rcpt_command(std::string_view recipient);
// "EHLO name\r\n" / "HELO name\r\n"; the name is a host name or an address literal and may
// hold only printable ASCII without spaces.
core::Result<std::string> hello_command(std::string_view verb, std::string_view name);

// The message as it goes on the wire after DATA's 354: every line end made CRLF (a bare LF
// or a bare CR becomes CRLF), a "." doubled at the start of each line, a CRLF added when
// the message does not end with one, then ".\r\n".
std::string dot_stuff(std::string_view message);

// The message size RFC 1870 asks for in SIZE=, from dot_stuff's output: the octets with
// CRLF line ends, without the doubled dots and without the final ".\r\n".
std::uint64_t size_parameter(std::string_view stuffed);

}  // namespace mail::smtp
