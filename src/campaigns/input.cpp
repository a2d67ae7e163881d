// Trust: untrusted input (API bodies, CSV cells); every value is bounded and checked here.
#include "campaigns/input.hpp"

#include <ctime>

#include "auth/json_body.hpp"
#include "core/encoding.hpp"
#include "mail/mime/address.hpp"

namespace campaigns {

namespace {

constexpr std::size_t kMaxShortText = 256;

core::Unexpected<RequestError> field_error(std::string field, std::string message) {
  return core::Unexpected<RequestError>(RequestError{false, std::move(field), std::move(message)});
}

std::string says(std::string_view field, std::string_view problem) {
  return "The field \"" + std::string(field) + "\" " + std::string(problem) + ".";
}

core::Expected<auth::JsonObject, RequestError> object_of(
    std::string_view body, std::initializer_list<std::string_view> known) {
  auto object = auth::parse_json_object(body, kMaxContactRequestBytes);
  if (!object) {
    return core::Unexpected<RequestError>(RequestError{
        object.error().kind() == core::ErrorKind::too_large, "", object.error().public_text()});
  }
  if (auto unknown = object->unknown_member(known)) {
    std::string name = unknown->substr(0, 64);
    if (!core::is_valid_utf8(name)) name = "?";
    return field_error(name, says(name, "is not a known field"));
  }
  return std::move(*object);
}

core::Expected<std::string, RequestError> address_of(const auth::JsonObject& object) {
  auto email = object.string("email", 254);
  if (!email) return field_error("email", email.error().public_text());
  auto address = contact_address(*email);
  if (!address) return field_error("email", says("email", "is not an e-mail address"));
  return std::move(*address);
}

core::Expected<std::string, RequestError> purpose_of(const auth::JsonObject& object) {
  auto purpose = object.string("purpose", 32);
  if (!purpose) return field_error("purpose", purpose.error().public_text());
  if (!valid_field_name(*purpose)) {
    return field_error("purpose", says("purpose", "is not a purpose name"));
  }
  return std::move(*purpose);
}

// Text an operator reads back (a version, a scope, evidence): one line, no control character.
bool one_line(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

core::Result<std::string> contact_address(std::string_view text) {
  auto parsed = mail::mime::Address::parse(text);
  if (!parsed) return core::fail(std::move(parsed).error());
  std::string address = parsed->str();
  for (char& c : address) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return address;
}

bool valid_field_name(std::string_view name) {
  if (name.empty() || name.size() > 32 || name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

core::Expected<ContactRequest, RequestError> parse_contact_request(std::string_view body) {
  auto object = object_of(
      body, {"email", "fields", "purpose", "consent_version", "scope", "evidence", "expires_on"});
  if (!object) return core::Unexpected<RequestError>(std::move(object).error());
  ContactRequest out;
  auto address = address_of(*object);
  if (!address) return core::Unexpected<RequestError>(std::move(address).error());
  out.address = std::move(*address);
  auto fields = object->optional_string_map("fields", kMaxFieldsPerContact, kMaxFieldValueBytes);
  if (!fields) return field_error("fields", fields.error().public_text());
  for (auto& [name, value] : *fields) {
    if (!valid_field_name(name) || name == "email") {
      return field_error("fields", says("fields",
                                        "has a member that is not a field name "
                                        "([a-z][a-z0-9_]{0,31}, not email)"));
    }
    if (value.empty()) return field_error("fields", says("fields", "has an empty value"));
  }
  out.fields = std::move(*fields);
  if (!object->contains("purpose")) {
    for (std::string_view only : {"consent_version", "scope", "evidence", "expires_on"}) {
      if (object->contains(only)) {
        return field_error(std::string(only), says(only, "needs the field \"purpose\""));
      }
    }
    return out;
  }
  GrantRequest grant;
  auto purpose = purpose_of(*object);
  if (!purpose) return core::Unexpected<RequestError>(std::move(purpose).error());
  grant.purpose = std::move(*purpose);
  auto version = object->string("consent_version", 64);
  if (!version || version->empty() || !one_line(*version)) {
    return field_error("consent_version",
                       says("consent_version", "must be the consent text's version"));
  }
  grant.consent_version = std::move(*version);
  auto scope = object->optional_string("scope", 32);
  if (!scope || (*scope && (!valid_field_name(**scope)))) {
    return field_error("scope", says("scope", "must be a scope name such as email"));
  }
  if (*scope) grant.scope = std::move(**scope);
  auto evidence = object->optional_string("evidence", kMaxShortText);
  if (!evidence || (*evidence && !one_line(**evidence))) {
    return field_error("evidence", says("evidence", "must be one line of at most 256 bytes"));
  }
  if (*evidence) grant.evidence = std::move(**evidence);
  auto expires = object->optional_string("expires_on", 10);
  if (!expires) return field_error("expires_on", says("expires_on", "must be YYYY-MM-DD"));
  if (*expires) {
    std::tm tm{};
    const char* end = ::strptime((*expires)->c_str(), "%Y-%m-%d", &tm);
    if (end == nullptr || *end != '\0' || (*expires)->size() != 10) {
      return field_error("expires_on", says("expires_on", "must be YYYY-MM-DD"));
    }
    grant.expires_at = static_cast<std::int64_t>(::timegm(&tm));
  }
  out.grant = std::move(grant);
  return out;
}

core::Expected<RevokeRequest, RequestError> parse_revoke_request(std::string_view body) {
  auto object = object_of(body, {"email", "purpose"});
  if (!object) return core::Unexpected<RequestError>(std::move(object).error());
  auto address = address_of(*object);
  if (!address) return core::Unexpected<RequestError>(std::move(address).error());
  auto purpose = purpose_of(*object);
  if (!purpose) return core::Unexpected<RequestError>(std::move(purpose).error());
  return RevokeRequest{std::move(*address), std::move(*purpose)};
}

}  // namespace campaigns
