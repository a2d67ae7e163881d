#pragma once
// The DATA phase (RFC 5321 §4.1.1.4, §4.5.2): reads the client's bytes up to the line "."
// and undoes dot-stuffing, checking as it goes. Pure: the session feeds it what it reads.
// Trust: untrusted network input (an authenticated client, but any bytes).
//
// Only CRLF "." CRLF ends the data: a "." line ended by a bare LF does not (the SMTP
// smuggling of 2023 hides a second message behind exactly that). A bare LF or a bare CR
// anywhere, a line over kMaxDataLineBytes, a message over the size limit, and a byte above
// 0x7F without BODY=8BITMIME each make the message refused; the rest of the data is still
// read (and dropped) up to the end, so that the session stays in step with the client.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/secret.hpp"

namespace mail::submission {

enum class DataError {
  none,
  too_large,      // 552 5.3.4
  line_too_long,  // 500 5.5.6 (RFC 5321 §4.5.3.1.6)
  bare_line_end,  // 554 5.6.0: a bare LF or CR (RFC 5321 §2.3.8)
  eight_bit,      // 554 5.6.1: 8-bit data without BODY=8BITMIME (RFC 6152)
  discard_limit,  // the client sent more than kMaxDiscardedBytes after a refusal: cut off
};

class DataReader {
 public:
  DataReader(std::size_t max_message_bytes, bool eight_bit_allowed)
      : max_(max_message_bytes), eight_bit_allowed_(eight_bit_allowed) {}

  // Consumes bytes from the front of `in`, up to and including the final ".\r\n" when it is
  // there; returns how many it took (the rest belongs to the next command: pipelining).
  std::size_t feed(std::string_view in);
  bool done() const noexcept { return done_; }
  // The first problem found (none: the message is good).
  DataError error() const noexcept { return error_; }
  // The message with CRLF line ends, dots unstuffed, without the final ".": valid once
  // done() and error() == none.
  core::SecretBytes& message() noexcept { return message_; }

 private:
  void fail(DataError e) {
    if (error_ == DataError::none) error_ = e;
  }
  void end_line();

  const std::size_t max_;
  const bool eight_bit_allowed_;
  core::SecretBytes message_;
  std::string line_;  // the current line's content so far (bounded), wiped per line
  std::size_t line_bytes_ = 0;
  bool after_cr_ = false;
  std::size_t discarded_ = 0;
  bool done_ = false;
  DataError error_ = DataError::none;
};

}  // namespace mail::submission
