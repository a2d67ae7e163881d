// libFuzzer target: the contacts API's request bodies (campaigns::parse_contact_request,
// parse_revoke_request). Trust: the input is untrusted network bytes (a key holder).
// Besides "no crash, no sanitizer report", it checks what the parser promises: an accepted
// request has a lower-case address that parses again to itself, field names of the
// grammar, non-empty values within the limit, and a purpose of the grammar.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "campaigns/input.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void check_address(const std::string& address) {
  auto again = campaigns::contact_address(address);
  check(again && *again == address);
  for (char c : address) check(!(c >= 'A' && c <= 'Z'));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  if (auto r = campaigns::parse_contact_request(body)) {
    check_address(r->address);
    check(r->fields.size() <= campaigns::kMaxFieldsPerContact);
    for (const auto& [name, value] : r->fields) {
      check(campaigns::valid_field_name(name) && name != "email");
      check(!value.empty() && value.size() <= campaigns::kMaxFieldValueBytes);
    }
    if (r->grant) {
      check(campaigns::valid_field_name(r->grant->purpose));
      check(!r->grant->consent_version.empty());
    }
  }
  if (auto r = campaigns::parse_revoke_request(body)) {
    check_address(r->address);
    check(campaigns::valid_field_name(r->purpose));
  }
  return 0;
}
