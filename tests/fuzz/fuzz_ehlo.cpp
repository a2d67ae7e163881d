// libFuzzer target: the EHLO reply of a remote SMTP server, through parse_reply and
// mail::smtp::parse_ehlo.
// Trust: the input is untrusted network bytes. Checks: a reply that is not 250 offers
// nothing; SIZE is a positive number only when offered; parsing is case-insensitive (the
// same bytes upper-cased offer the same extensions).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mail/smtp/capabilities.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

bool same(const mail::smtp::Capabilities& a, const mail::smtp::Capabilities& b) {
  return a.starttls == b.starttls && a.pipelining == b.pipelining &&
         a.eight_bit_mime == b.eight_bit_mime && a.smtputf8 == b.smtputf8 &&
         a.enhanced_status_codes == b.enhanced_status_codes && a.size_offered == b.size_offered &&
         a.size == b.size;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto parsed = mail::smtp::parse_reply(input, false);
  if (parsed.status != mail::smtp::ReplyParse::Status::complete) return 0;
  const auto caps = mail::smtp::parse_ehlo(parsed.reply);
  if (parsed.reply.code != 250) {
    check(same(caps, mail::smtp::Capabilities{}));
    return 0;
  }
  if (caps.size) check(caps.size_offered && *caps.size > 0);

  std::string upper(input.substr(0, parsed.consumed));
  for (char& c : upper) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  const auto parsed_upper = mail::smtp::parse_reply(upper, false);
  check(parsed_upper.status == mail::smtp::ReplyParse::Status::complete);
  check(same(caps, mail::smtp::parse_ehlo(parsed_upper.reply)));
  return 0;
}
