#pragma once
// API keys of the HTTP API (issue 8): their text, the Authorization header that carries
// them, and their scopes.
// Trust: parse_bearer() and parse_api_key() take untrusted network input (the header).
//
// A key is `sp_<id>_<secret>`: "sp_", 16 lower-case hex digits of public id (64 random
// bits: names the key in logs, the audit trail and `apikey list`), "_", and 64 lower-case
// hex digits of secret (256 random bits from core::Rng). 84 characters, no padding, no
// character a shell or a header needs quoted.
//
// The store keeps hash_token(key) (SHA-256 of the whole key text, lower-case hex), never the
// key, and a presented key is checked by comparing hashes in constant time. A plain hash is
// enough: the secret is 256 uniformly random bits, so a stolen hash cannot be reversed by
// guessing, and a slow or keyed hash would add nothing. A keyed hash (HMAC under a node
// secret) would also make every node share one more secret and every key die with it.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"

namespace auth {

inline constexpr std::string_view kApiKeyPrefix = "sp_";
inline constexpr std::size_t kApiKeyIdChars = 16;
inline constexpr std::size_t kApiKeySecretChars = 64;
inline constexpr std::size_t kApiKeyChars = 3 + kApiKeyIdChars + 1 + kApiKeySecretChars;
// An Authorization header longer than this is not ours ("Bearer " + a key, with room for
// surrounding spaces); it is refused before anything else looks at it.
inline constexpr std::size_t kMaxAuthorizationBytes = 256;

// The scopes a key may hold. Each API route asks for one.
inline constexpr std::string_view kScopeMessagesSend = "messages:send";
inline constexpr std::string_view kScopeMessagesRead = "messages:read";
inline constexpr std::string_view kScopeContactsWrite = "contacts:write";  // add, revoke
inline constexpr std::string_view kScopeContactsRead = "contacts:read";
// invalid_input naming the scope (our words for the operator's argument) if it is unknown.
core::Result<std::string> parse_scope(std::string_view text);

struct NewApiKey {
  std::string id;         // public
  core::SecretBytes key;  // the whole key text: shown once, then wiped
  std::string hash;       // hash_token(key): what the store keeps
};
NewApiKey new_api_key(core::Rng& rng);

// A presented key, split. The secret stays in the caller's buffer (the header).
struct PresentedKey {
  std::string id;
  std::string_view text;  // the whole key, to hash
};
// The key of `sp_<id>_<secret>` exactly (lower-case hex, the lengths above); nullopt
// otherwise.
std::optional<PresentedKey> parse_api_key(std::string_view text);
// The key in an Authorization header `Bearer <key>` (scheme case-insensitive, RFC 7235;
// spaces around the key tolerated); nullopt for anything else, a missing header included.
std::optional<PresentedKey> parse_bearer(std::string_view authorization);

// Whether `presented` is the key whose stored hash is `stored_hash` (constant time).
bool api_key_matches(const PresentedKey& presented, std::string_view stored_hash);

}  // namespace auth
