#pragma once
// The AUTH decoder (RFC 4954): SASL PLAIN (RFC 4616) and LOGIN (the de-facto mechanism most
// mail clients offer), both base64 (RFC 4648, padded, no white space). Pure.
// Trust: untrusted network input (the client, before it has authenticated). The decoded
// password is an API key: it is returned in SecretBytes, wiped when done, never logged.

#include <optional>
#include <string>
#include <string_view>

#include "core/secret.hpp"

namespace mail::submission {

// The name a credential names (the API key's name or id) and the key.
struct Credentials {
  std::string user;
  core::SecretBytes password;
};

// Standard base64 with padding; nullopt for anything else or an empty text. At most
// `max_bytes` decoded.
std::optional<core::SecretBytes> decode_base64(std::string_view text, std::size_t max_bytes);

// PLAIN's response: base64 of authzid NUL authcid NUL passwd. The authorisation identity
// must be empty or the same as the authentication identity (we act for no one else);
// authcid 1..64 bytes of UTF-8 without control characters; passwd
// 1..255 bytes without NUL. nullopt otherwise.
std::optional<Credentials> decode_plain(std::string_view base64);

// One LOGIN step (the user name, then the password): base64 of 1..255 bytes without NUL or
// control characters. nullopt otherwise.
std::optional<core::SecretBytes> decode_login_field(std::string_view base64);

// "*" cancels an exchange (RFC 4954 §4).
inline bool is_cancel(std::string_view line) { return line == "*"; }

}  // namespace mail::submission
