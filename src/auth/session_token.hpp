#pragma once
// Session ids and CSRF tokens: 256 random bits, base64url without padding (43 characters).
// The store keeps only hash_token(session id), so a copy of the database opens no session.
// Trust: the tokens compared or hashed here usually come from the client.

#include <string>
#include <string_view>

#include "core/rng.hpp"

namespace auth {

// 32 bytes from `rng`, base64url, no padding.
std::string new_session_id(core::Rng& rng);
// Lower-case hex SHA-256 of `token`, for storage and lookup.
std::string hash_token(std::string_view token);
// 32 bytes from `rng`, base64url, no padding.
std::string new_csrf_token(core::Rng& rng);
// Equal contents, compared in time independent of where they differ (CRYPTO_memcmp). Different
// lengths compare unequal at once: the lengths of our tokens are public.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace auth
