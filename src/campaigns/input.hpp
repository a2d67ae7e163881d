#pragma once
// What the campaigns module accepts from outside, checked once (issue 11): a contact's
// address and field names, and the bodies of the contacts API.
// Trust: untrusted input (an API client holding a key with contacts:write; a CSV file).
//
//   POST /api/v1/contacts
//     {"email": "ann@example.org",          the contact (created if new)
//      "fields": {"name": "Ann", ...},      optional; at most 64, names [a-z][a-z0-9_]{0,31},
//                                           values UTF-8 without NUL, at most 4 KiB;
//                                           an empty value removes nothing (it is refused)
//      "purpose": "reminders",              optional: an authorisation to add, with
//      "consent_version": "v3",               required with purpose
//      "scope": "email",                      optional, default "email"
//      "evidence": "signed at the desk",      optional
//      "expires_on": "2027-12-31"}            optional, YYYY-MM-DD (UTC)
//   POST /api/v1/contacts/revoke
//     {"email": "...", "purpose": "..."}
//
// Any other member is refused; errors name the field, never its value.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "mail/api/send_request.hpp"

namespace campaigns {

// A contact's address as the store keys it: parsed (mail::mime::Address) and lower-cased
// (ASCII), so that Ann@ and ann@ are one contact. invalid_input when it is no address.
core::Result<std::string> contact_address(std::string_view text);

// A field or column name (and a purpose): [a-z][a-z0-9_]{0,31}.
bool valid_field_name(std::string_view name);

inline constexpr std::size_t kMaxContactRequestBytes = 64 * 1024;  // a body of either route
inline constexpr std::size_t kMaxFieldValueBytes = 4096;
inline constexpr std::size_t kMaxFieldsPerContact = 64;

struct GrantRequest {
  std::string purpose;  // a valid name; the caller checks it is a configured purpose
  std::string consent_version;
  std::string scope = "email";
  std::string evidence;
  std::optional<std::int64_t> expires_at;  // midnight UTC of expires_on
};

struct ContactRequest {
  std::string address;
  std::vector<std::pair<std::string, std::string>> fields;
  std::optional<GrantRequest> grant;
};

struct RevokeRequest {
  std::string address;
  std::string purpose;
};

using RequestError = mail::api::RequestError;

core::Expected<ContactRequest, RequestError> parse_contact_request(std::string_view body);
core::Expected<RevokeRequest, RequestError> parse_revoke_request(std::string_view body);

}  // namespace campaigns
