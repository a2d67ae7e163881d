// Trust: untrusted network input (the body of POST /api/v1/messages).
#include "mail/api/send_request.hpp"

#include "auth/json_body.hpp"
#include "core/encoding.hpp"
#include "core/secret.hpp"
#include "mail/api/limits.hpp"
#include "mail/mime/limits.hpp"

namespace mail::api {

namespace {

constexpr std::string_view kFields[] = {"from", "to", "subject", "text", "security", "phi"};

core::Unexpected<RequestError> field_error(std::string field, std::string message) {
  return core::Unexpected<RequestError>(RequestError{false, std::move(field), std::move(message)});
}

// The accessors' errors already read "The field "x" ..."; ours say the same way.
core::Unexpected<RequestError> accessor_error(std::string_view field, const core::Error& error) {
  return field_error(std::string(field), error.public_text());
}

std::string says(std::string_view field, std::string_view problem) {
  return "The field \"" + std::string(field) + "\" " + std::string(problem) + ".";
}

// C0 controls, DEL and C1 controls (U+0080..U+009F, 0xC2 0x80..0x9F in UTF-8); tab and line
// ends too unless `text`. The same rule as the MIME builder's, checked here to name the field.
bool has_control(std::string_view s, bool text) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (text && (c == '\t' || c == '\r' || c == '\n')) continue;
    if (c < 0x20 || c == 0x7f) return true;
    if (c == 0xc2 && i + 1 < s.size()) {
      const auto next = static_cast<unsigned char>(s[i + 1]);
      if (next >= 0x80 && next <= 0x9f) return true;
    }
  }
  return false;
}

}  // namespace

core::Expected<SendRequest, RequestError> parse_send_request(std::string_view body) {
  auto object = auth::parse_json_object(body, kMaxRequestBytes);
  if (!object) {
    return core::Unexpected<RequestError>(RequestError{
        object.error().kind() == core::ErrorKind::too_large, "", object.error().public_text()});
  }
  if (auto unknown = object->unknown_member(
          {kFields[0], kFields[1], kFields[2], kFields[3], kFields[4], kFields[5]})) {
    // The client's own member name, bounded; the JSON answer encodes it.
    std::string name = unknown->substr(0, 64);
    if (!core::is_valid_utf8(name)) name = "?";
    return field_error(name, says(name, "is not a known field"));
  }

  SendRequest out;
  auto from = object->optional_string("from", mime::kMaxAddressBytes);
  if (!from) return accessor_error("from", from.error());
  if (*from) {
    auto address = Address::parse(**from);
    if (!address) return field_error("from", says("from", "is not a valid e-mail address"));
    out.from = std::move(*address);
  }

  auto to = object->string_array("to", kMaxRecipients, mime::kMaxAddressBytes);
  if (!to) return accessor_error("to", to.error());
  if (to->empty()) return field_error("to", says("to", "needs at least one address"));
  for (std::size_t i = 0; i < to->size(); ++i) {
    auto address = Address::parse((*to)[i]);
    if (!address) {
      return field_error("to", "The field \"to\": item " + std::to_string(i + 1) +
                                   " is not a valid e-mail address.");
    }
    out.to.push_back(std::move(*address));
  }

  auto subject = object->string("subject", mime::kMaxSubjectBytes);
  if (!subject) return accessor_error("subject", subject.error());
  if (has_control(*subject, false)) {
    return field_error("subject", says("subject", "contains a line break or a control character"));
  }
  out.subject = std::move(*subject);

  // The whole body is within kMaxRequestBytes, so any text fits mime::kMaxBodyBytes.
  static_assert(kMaxRequestBytes <= mime::kMaxBodyBytes);
  auto text = object->string("text", mime::kMaxBodyBytes);
  if (!text) return accessor_error("text", text.error());
  if (has_control(*text, true)) {
    core::secure_wipe(text->data(), text->size());
    return field_error("text", says("text", "contains a control character"));
  }
  out.text = std::move(*text);

  auto security = object->optional_string("security", 32);
  if (!security) return accessor_error("security", security.error());
  if (*security && **security == "encrypt") {
    // Message-level encryption (issue 9), over TLS whenever the receiver offers it.
    out.encrypt = true;
    out.security = policy::Policy::opportunistic;
  } else if (*security) {
    auto policy = policy::parse_policy(**security);
    if (!policy) {
      return field_error("security", says("security",
                                          "must be none, opportunistic, verify, exclusive, "
                                          "forced or encrypt"));
    }
    out.security = *policy;
  }

  auto phi = object->optional_bool("phi");
  if (!phi) return accessor_error("phi", phi.error());
  out.phi = phi->value_or(false);
  if (out.phi && out.security == policy::Policy::none) {
    return field_error("security", says("security",
                                        "is none, which is never used for a message marked "
                                        "as PHI"));
  }
  return out;
}

}  // namespace mail::api
