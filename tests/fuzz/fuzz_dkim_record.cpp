// libFuzzer target: mail::dkim::parse_record (src/mail/dkim/record.cpp), the DKIM key record
// text read from DNS. Trust: the input is untrusted DNS data. Besides "no crash, no sanitizer
// report", it checks what the parser promises: the size limit holds; an accepted Ed25519 key
// is 32 bytes; the record we would publish for the parsed key parses back to the same key.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mail/dkim/limits.hpp"
#include "mail/dkim/record.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto record = mail::dkim::parse_record(text);
  if (text.size() > mail::dkim::kMaxRecordBytes) check(!record.has_value());
  if (!record) return 0;
  if (record->algorithm == mail::dkim::Algorithm::ed25519_sha256 && !record->revoked())
    check(record->public_key.size() == 32);
  const auto published = mail::dkim::dns_record(record->algorithm, record->public_key);
  const auto again = mail::dkim::parse_record(published);
  check(again.has_value());
  check(again->algorithm == record->algorithm);
  check(again->public_key == record->public_key);
  return 0;
}
