#pragma once
// Form tokens (F7): HMAC(server secret, form id + version + issued-at + nonce). A token
// proves the form was rendered by us, for this form version, recently; its nonce makes it
// single-use (the store records consumed nonces in the submission's transaction).
// Trust: untrusted network input (the token comes back in the POST body).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"
#include "store/store.hpp"

namespace forms {

struct TokenClaims {
  std::string form_id;
  int form_version = 0;
  std::int64_t issued_at = 0;  // unix seconds
  store::TokenNonce nonce{};
};

// Tokens are short; anything longer is refused before decoding.
inline constexpr std::size_t kMaxTokenBytes = 256;

std::string issue_token(const core::SecretBytes& key, const TokenClaims& claims);

// Structure only, no MAC check: for fuzzing and for the verifier.
struct ParsedToken {
  TokenClaims claims;
  std::string signed_part;  // the bytes the MAC covers
  std::string mac;          // raw 32 bytes
};
core::Result<ParsedToken> parse_token(std::string_view token);

enum class TokenProblem { malformed, bad_mac, wrong_form, expired, from_future };

struct TokenCheck {
  bool ok = false;
  TokenProblem problem = TokenProblem::malformed;
  TokenClaims claims;  // valid only when ok
};

// Checks MAC (constant time), form id, age in [-skew, max_age]. Does not check single use.
TokenCheck verify_token(const core::SecretBytes& key, std::string_view token,
                        std::string_view expected_form_id, core::TimePoint now,
                        std::chrono::seconds max_age);

}  // namespace forms
