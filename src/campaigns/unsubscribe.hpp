#pragma once
// One-click unsubscribe (issue 11, C5; RFC 8058): a per-recipient URL
//   <public origin>/u/<token>
// whose token names a contact and a purpose and is signed (HMAC-SHA-256, 128 bits kept) under
// a key derived from secrets/contacts.key, so that it cannot be forged or pointed at another
// contact or purpose. A POST to it (what mail clients send after List-Unsubscribe-Post:
// List-Unsubscribe=One-Click, and the page's button) revokes the contact's authorisations
// for the purpose at once, audited; a GET only shows the page with its button, so that link
// scanners that follow URLs revoke nothing. A replayed POST finds nothing left to revoke and
// says so the same way: the outcome for the person is the same.
// Trust: the token is untrusted input (a URL anyone may type); it is bounded and verified in
// constant time before anything is looked up.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "audit/auditor.hpp"
#include "core/result.hpp"
#include "core/secret.hpp"
#include "store/store.hpp"

namespace campaigns {

// A token at most this long (a 32-byte purpose gives 87 characters).
inline constexpr std::size_t kMaxUnsubscribeTokenChars = 128;

struct UnsubscribeTarget {
  std::string contact_id;  // 32 hex digits
  std::string purpose;
};

// The token for `target`; invalid_input when the id is not 32 hex digits or the purpose is
// not a name (input.hpp valid_field_name).
core::Result<std::string> unsubscribe_token(const core::SecretBytes& contacts_key,
                                            const UnsubscribeTarget& target);

// The target a token names, or nullopt for anything else (malformed, too long, tampered,
// signed under another key).
std::optional<UnsubscribeTarget> read_unsubscribe_token(const core::SecretBytes& contacts_key,
                                                        std::string_view token);

// Revokes the target's authorisations for its purpose, with the audit entry
// `authorisation.revoke` (`contact:ID purpose:P via:unsubscribe revoked:N`, actor
// "unsubscribe", source the client address) in the same unit of work; how many. A contact
// that no longer exists revokes nothing (0, nothing written). Blocks.
core::Result<std::size_t> unsubscribe_blocking(store::Store& store, audit::Auditor& auditor,
                                               const UnsubscribeTarget& target,
                                               std::string_view source, std::int64_t now);

}  // namespace campaigns
