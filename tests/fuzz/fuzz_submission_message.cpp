// libFuzzer target: the SMTP submission server's DATA reader and incoming-message parser
// (mail::submission DataReader, parse_message).
// Trust: the input is untrusted network bytes (an authenticated client). Besides "no crash,
// no sanitizer report", it checks what they promise: a message the reader accepts has only
// CRLF line ends and lines within the limit; a parsed message has a valid From, at most
// kMaxRecipients in To and in Cc, a one-line UTF-8 subject within its limit, and a UTF-8 text
// without control characters but tab and line ends.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/encoding.hpp"
#include "mail/mime/limits.hpp"
#include "mail/submission/data.hpp"
#include "mail/submission/limits.hpp"
#include "mail/submission/message.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

bool has_control(std::string_view s, bool text) {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (text && (c == '\t' || c == '\r' || c == '\n')) continue;
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

void check_parsed(std::string_view bytes) {
  const auto m = mail::submission::parse_message(bytes);
  if (!m) {
    check(!mail::submission::describe(m.error()).empty());
    return;
  }
  check(mail::Address::parse(m->from.str()).has_value());
  check(m->to.size() <= mail::mime::kMaxRecipients && m->cc.size() <= mail::mime::kMaxRecipients);
  check(m->subject.size() <= mail::mime::kMaxSubjectBytes);
  check(core::is_valid_utf8(m->subject) && !has_control(m->subject, false));
  check(core::is_valid_utf8(m->text) && !has_control(m->text, true));
  if (m->from_name) check(core::is_valid_utf8(*m->from_name) && !has_control(*m->from_name, false));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // The raw bytes as DATA would see them (the first byte picks 8BITMIME)...
  mail::submission::DataReader reader(64 * 1024, size > 0 && (data[0] & 1));
  const std::size_t used = reader.feed(input);
  check(used <= input.size());
  if (reader.done() && reader.error() == mail::submission::DataError::none) {
    const auto message = reader.message().as_string_view();
    std::size_t line = 0;
    for (std::size_t i = 0; i < message.size(); ++i) {
      if (message[i] == '\n') {
        check(i > 0 && message[i - 1] == '\r');
        line = 0;
      } else if (message[i] == '\r') {
        check(i + 1 < message.size() && message[i + 1] == '\n');
      } else {
        check(++line <= mail::submission::kMaxDataLineBytes);
      }
    }
    check_parsed(message);
  }
  // ...and as a message directly.
  check_parsed(input);
  return 0;
}
