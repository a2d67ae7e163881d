#pragma once
// Trust: untrusted network input (the replies of remote SMTP servers).
//
// The SMTP reply parser (RFC 5321 §4.2): one reply, single- or multi-line, at the start of a
// buffer. Every line must carry the same three-digit code; the last line has a space (or
// nothing) after the code, the others a hyphen. Enhanced status codes (RFC 3463, "X.Y.Z")
// are read only when the server offered ENHANCEDSTATUSCODES. Lines, line count and total
// size are bounded (limits.hpp). Text is kept sanitised: printable ASCII only.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mail/smtp/limits.hpp"

namespace mail::smtp {

// RFC 3463 status code: class 2, 4 or 5; subject and detail of 1 to 3 digits.
struct EnhancedCode {
  int klass = 0;
  int subject = 0;
  int detail = 0;
  std::string str() const;  // "4.7.5"
  bool operator==(const EnhancedCode&) const = default;
};

// Reads "X.Y.Z" at the start of `text`, followed by a space or the end. On success sets
// *length to the bytes it took, including that space.
std::optional<EnhancedCode> parse_enhanced_code(std::string_view text, std::size_t* length);

struct Reply {
  int code = 0;  // 200..599, the same on every line
  // From the first line, when enhanced codes were asked for and its class is the code's.
  std::optional<EnhancedCode> enhanced;
  // Each line's text after "NNN-" / "NNN ", sanitised (bytes outside printable ASCII become
  // '?', tabs a space), with a recognised enhanced code removed.
  std::vector<std::string> lines;

  int klass() const { return code / 100; }
  // The lines joined by single spaces, cut to `max` bytes.
  std::string text(std::size_t max = kMaxReportedReplyText) const;
};

enum class ReplyError {
  line_too_long,      // a line over kMaxReplyLineBytes
  too_many_lines,     // over kMaxReplyLines
  too_large,          // over kMaxReplyBytes in all
  bad_code,           // not three digits [2-5][0-5][0-9]
  inconsistent_code,  // a continuation line with another code
  bad_separator,      // neither '-', ' ' nor the end of the line after the code
};
std::string_view reply_error_text(ReplyError error);

struct ReplyParse {
  enum class Status { incomplete, complete, error };
  Status status = Status::incomplete;
  Reply reply;               // when complete
  std::size_t consumed = 0;  // when complete: the bytes of this reply (the next follows)
  ReplyError error = ReplyError::bad_code;  // when error
};

// Parses the reply at the start of `data`. Lines end in CRLF; a bare LF is tolerated, as
// Postfix and OpenSMTPD do. `incomplete` means: read more and call again with the longer
// buffer (never returned once the bounds are exceeded, so the caller's buffer stays bounded).
ReplyParse parse_reply(std::string_view data, bool enhanced_codes);

}  // namespace mail::smtp
