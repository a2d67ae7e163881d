// libFuzzer target: mail::mime::read_text (src/mail/mime/message.cpp), which reads the
// subject and the text/plain part of a queued message for policy `forced`'s portal fallback.
// Trust: its input is our own queue's bytes, authenticated first; fuzzed all the same, since
// GMime parses them. Besides "no crash, no sanitizer report": the size bound holds, and what
// it returns is valid UTF-8.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/encoding.hpp"
#include "mail/mime/message.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto read = mail::mime::read_text(text);
  if (text.size() > mail::mime::kMaxReadableBytes) check(!read.has_value());
  if (!read) {
    check(!read.error().public_text().empty());
    return 0;
  }
  check(core::is_valid_utf8(read->subject));
  check(core::is_valid_utf8(read->text));
  return 0;
}
