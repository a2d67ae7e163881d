// libFuzzer target: auth::parse_bearer / parse_api_key (the Authorization header of every
// API request). Trust: the input is untrusted network bytes. Besides "no crash, no sanitizer
// report", it checks what the parser promises: whatever it accepts is exactly one key of the
// documented shape, found inside the header, and the header was within its limit.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "auth/api_key.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

bool lower_hex(std::string_view text) {
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void check_key(const auth::PresentedKey& key) {
  check(key.text.size() == auth::kApiKeyChars);
  check(key.text.starts_with(auth::kApiKeyPrefix));
  check(key.id.size() == auth::kApiKeyIdChars && lower_hex(key.id));
  check(key.text.substr(3, auth::kApiKeyIdChars) == key.id);
  check(key.text[3 + auth::kApiKeyIdChars] == '_');
  check(lower_hex(key.text.substr(4 + auth::kApiKeyIdChars)));
  // Never a match against a hash that is not the key's own.
  check(!auth::api_key_matches(key, std::string(64, '0')));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto key = auth::parse_api_key(input)) {
    check_key(*key);
    check(key->text == input);
  }
  if (auto key = auth::parse_bearer(input)) {
    check_key(*key);
    check(input.size() <= auth::kMaxAuthorizationBytes);
    // The key is a view into the header, not a copy.
    check(key->text.data() >= input.data() &&
          key->text.data() + key->text.size() <= input.data() + input.size());
  }
  return 0;
}
