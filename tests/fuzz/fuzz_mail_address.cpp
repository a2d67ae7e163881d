// libFuzzer target: mail::Address::parse (src/mail/mime/address.cpp).
// Trust: the input is untrusted text (form values, configuration). Besides "no crash, no
// sanitizer report", it checks what the parser promises: limits hold; an accepted address
// holds no byte that could break a header or an SMTP command; the domain is lower-case ASCII
// LDH; parsing what str() gives returns the same address.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mail/mime/address.hpp"
#include "mail/mime/limits.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto address = mail::Address::parse(text);
  if (text.size() > mail::mime::kMaxAddressBytes) check(!address.has_value());
  if (!address) {
    check(!address.error().public_text().empty());
    return 0;
  }
  const std::string s = address->str();
  check(s.size() <= mail::mime::kMaxAddressBytes);
  check(address->local_part().size() <= mail::mime::kMaxLocalPartBytes);
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    check(c > 0x20 && c != 0x7F);
    check(ch != '<' && ch != '>' && ch != '"' && ch != ',' && ch != ';' && ch != ':' &&
          ch != '\\' && ch != '(' && ch != ')' && ch != '[' && ch != ']');
  }
  const std::string& domain = address->domain();
  check(domain.find('.') != std::string::npos);
  for (const char c : domain) {
    check((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.');
  }
  const auto again = mail::Address::parse(s);
  check(again.has_value() && *again == *address);
  return 0;
}
