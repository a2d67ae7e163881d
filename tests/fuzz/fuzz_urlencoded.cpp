// libFuzzer target: forms::parse_urlencoded with the default limits (every form POST body).
// Trust: the input is untrusted network bytes. Besides "no crash, no sanitizer report", it
// checks what the parser promises: decoded pairs are valid UTF-8 without NUL, within the
// limits, and the encoder's output parses back to the same pairs.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/encoding.hpp"
#include "forms/urlencoded.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const forms::UrlencodedLimits limits;
  const auto parsed = forms::parse_urlencoded(body, limits);
  if (!parsed) {
    check(!parsed.error().public_text().empty());
    return 0;
  }
  check(parsed->size() <= limits.max_pairs);
  std::string rebuilt;
  for (const auto& [name, value] : *parsed) {
    check(!name.empty() && name.size() <= limits.max_name_bytes);
    check(name.find('\0') == std::string::npos && value.find('\0') == std::string::npos);
    check(core::is_valid_utf8(name) && core::is_valid_utf8(value));
    if (!rebuilt.empty()) rebuilt += '&';
    rebuilt += forms::urlencode(name);
    rebuilt += '=';
    rebuilt += forms::urlencode(value);
  }
  // Encoding can triple the size, so the round trip gets room for that.
  forms::UrlencodedLimits roomy = limits;
  roomy.max_bytes = 3 * limits.max_bytes + 16;
  roomy.max_name_bytes = limits.max_name_bytes;
  const auto again = forms::parse_urlencoded(rebuilt, roomy);
  check(again.has_value() && *again == *parsed);
  return 0;
}
