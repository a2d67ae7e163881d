#pragma once
// DKIM's "relaxed" canonicalisation (RFC 6376 §3.4.2 header, §3.4.4 body) and the header
// field selection of §5.4.2, on a message with CRLF line ends.
// Trust: the message is ours (the MIME builder's output), but nothing here assumes so: every
// input is bounded and any byte sequence is handled.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace mail::dkim::detail {

struct HeaderField {
  std::string_view name;  // as written, without the colon
  std::string_view raw;   // the whole field: name, colon, value, continuation lines, final CRLF
};

struct SplitMessage {
  std::vector<HeaderField> fields;  // in message order
  std::string_view body;            // after the empty line (empty when there is none)
};

// Refuses a bare CR or LF (DKIM is defined on CRLF lines), a header line that is neither a
// field nor a continuation, and a continuation before the first field.
core::Result<SplitMessage> split_message(std::string_view message);

// "name:value\r\n": name lower-cased, value unfolded, runs of WSP made one SP, WSP around the
// colon and at the end removed.
std::string relaxed_header(std::string_view raw_field);

// Runs of WSP made one SP, WSP at line ends removed, empty lines at the end removed; a
// non-empty result ends in CRLF.
std::string relaxed_body(std::string_view body);

// The header part of the signed data: for each name in `signed_names`, the last field of that
// name not used yet (bottom-up, §5.4.2), relaxed; a name with no field left adds nothing.
std::string relaxed_signed_headers(const std::vector<HeaderField>& fields,
                                   const std::vector<std::string>& signed_names);

bool iequals(std::string_view a, std::string_view b);

}  // namespace mail::dkim::detail
