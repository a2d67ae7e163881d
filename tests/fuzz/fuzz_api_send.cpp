// libFuzzer target: mail::api::parse_send_request (the body of POST /api/v1/messages).
// Trust: the input is untrusted network bytes. Besides "no crash, no sanitizer report, no
// exception escaping", it checks what the parser promises: only a body within the limit is
// accepted, whatever it accepts holds 1..kMaxRecipients valid mailboxes, a one-line subject
// within its limit and a text without control characters, PHI never with policy none, and
// every refusal says what is wrong.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/encoding.hpp"
#include "mail/api/limits.hpp"
#include "mail/api/send_request.hpp"
#include "mail/mime/limits.hpp"

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto request = mail::api::parse_send_request(body);
  if (!request) {
    check(!request.error().message.empty());
    check(!request.error().too_large || body.size() > mail::api::kMaxRequestBytes);
    check(request.error().field.size() <= 64);
    return 0;
  }
  check(body.size() <= mail::api::kMaxRequestBytes);
  check(!request->to.empty() && request->to.size() <= mail::api::kMaxRecipients);
  for (const auto& to : request->to) check(mail::Address::parse(to.str()).has_value());
  if (request->from) check(mail::Address::parse(request->from->str()).has_value());
  check(request->subject.size() <= mail::mime::kMaxSubjectBytes);
  check(core::is_valid_utf8(request->subject) && !has_control(request->subject, false));
  check(core::is_valid_utf8(request->text) && !has_control(request->text, true));
  check(!(request->phi && request->security == mail::policy::Policy::none));
  return 0;
}
