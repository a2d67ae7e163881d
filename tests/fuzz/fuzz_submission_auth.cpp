// libFuzzer target: the SMTP submission server's AUTH decoder (mail::submission
// decode_plain, decode_login_field: base64 SASL PLAIN and LOGIN responses).
// Trust: the input is untrusted network bytes (a client before it has authenticated).
// Besides "no crash, no sanitizer report", it checks what the decoder promises: only
// canonical, padded base64 is accepted; PLAIN yields a non-empty user of at most 64 bytes
// without control characters and a non-empty password without NUL; what is accepted
// re-encodes to the same text.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mail/submission/sasl.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

std::string encode(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const auto n = (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16) |
                   (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8) |
                   static_cast<unsigned char>(in[i + 2]);
    for (int k = 3; k >= 0; --k) out.push_back(kAlphabet[(n >> (6 * k)) & 63]);
  }
  if (i < in.size()) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size())
      n |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto c = mail::submission::decode_plain(text)) {
    check(!c->user.empty() && c->user.size() <= 64);
    for (const char ch : c->user) check(static_cast<unsigned char>(ch) >= 0x20 && ch != 0x7f);
    check(!c->password.empty());
    check(c->password.as_string_view().find('\0') == std::string_view::npos);
  }
  if (auto field = mail::submission::decode_login_field(text)) {
    check(!field->empty());
    check(encode(field->as_string_view()) == text);
  }
  if (auto bytes = mail::submission::decode_base64(text, 1024)) {
    check(encode(bytes->as_string_view()) == text);
  }
  return 0;
}
