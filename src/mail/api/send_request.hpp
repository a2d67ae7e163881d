#pragma once
// The body of POST /api/v1/messages, parsed once into checked values.
// Trust: untrusted network input (any holder of a key with messages:send).
//
//   {"from": "clinic@example.org",     optional: [mail] default_sender
//    "to": ["a@example.net", ...],     1..kMaxRecipients mailboxes
//    "subject": "...",                 one line: no control character, <= 512 bytes
//    "text": "...",                    UTF-8; no control character but tab and line ends
//    "security": "verify",             optional: none|opportunistic|verify|exclusive|forced,
//                                      or encrypt (PGP/MIME or S/MIME to each recipient's
//                                      key or certificate, over TLS when offered; the TLS
//                                      policy is then opportunistic)
//    "phi": true}                      optional, default false
//
// Any other member is refused (a misspelt "subjet" is an error, not a message without a
// subject). Errors name the field, never its value.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "mail/mime/address.hpp"
#include "mail/policy/policy.hpp"

namespace mail::api {

struct SendRequest {
  std::optional<Address> from;
  std::vector<Address> to;
  std::string subject;
  std::string text;
  std::optional<policy::Policy> security;
  bool encrypt = false;  // "security": "encrypt"
  bool phi = false;
};

struct RequestError {
  bool too_large = false;  // 413 rather than 400
  std::string field;       // the member at fault; empty when the body as a whole is
  std::string message;     // for the client: our words, never its value
};

core::Expected<SendRequest, RequestError> parse_send_request(std::string_view body);

}  // namespace mail::api
