// Trust: validated values (forms/); the address and the text are PHI, never logged.
#include "app/submitter_copies.hpp"

#include <string>

#include "audit/entry.hpp"
#include "core/secret.hpp"

namespace app {

CopyLimits::CopyLimits(const core::Clock& clock)
    : per_address_(clock, kCopiesPerHourPerAddress / 60.0, kCopiesPerHourPerAddress),
      per_node_(clock, kCopiesPerHourPerNode / 60.0, kCopiesPerHourPerNode) {}

std::string CopyLimits::key_of(std::string_view address) {
  std::string lower(address);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  std::string key = audit::sha256_hex(lower);
  core::secure_wipe(lower.data(), lower.size());
  return key;
}

bool CopyLimits::allow(std::string_view address) {
  // The address's budget first: one address asked for again and again must not use up the
  // node's.
  if (!per_address_.allow(key_of(address))) return false;
  return per_node_.allow("node");
}

mail::queue::Outgoing submitter_copy_mail(const forms::SubmitterCopy& copy,
                                          const mail::Address& from, const mail::Address& to) {
  mail::queue::Outgoing out{.from = from};
  out.to.push_back(to);
  out.subject = copy.subject;
  out.text_body = std::string(copy.text.as_string_view());
  out.extra_headers = {{"Auto-Submitted", "auto-generated"}};
  out.encrypt = true;
  out.phi = true;
  out.security = mail::policy::Policy::opportunistic;
  out.origin = "submitter-copy";
  return out;
}

}  // namespace app
