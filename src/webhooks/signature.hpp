#pragma once
// Standard Webhooks (https://www.standardwebhooks.com/): the secret's text form and the
// signature of a delivery. Pure.
//
// The secret is 32 random bytes, shown once to the operator as "whsec_" + base64. Each
// delivery carries `webhook-id`, `webhook-timestamp` (seconds) and `webhook-signature:
// v1,<base64 HMAC-SHA256(secret, id + "." + timestamp + "." + body)>`.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/rng.hpp"
#include "core/secret.hpp"

namespace webhooks {

inline constexpr std::size_t kSecretBytes = 32;

core::SecretBytes new_secret(core::Rng& rng);
// "whsec_" + standard base64 (padded) of the raw secret.
std::string secret_text(const core::SecretBytes& secret);
// The raw secret of a "whsec_..." text, nullopt if malformed.
std::optional<core::SecretBytes> parse_secret_text(std::string_view text);

// "v1,<base64>" for the three parts.
std::string sign(const core::SecretBytes& secret, std::string_view id, std::int64_t timestamp,
                 std::string_view body);

}  // namespace webhooks
