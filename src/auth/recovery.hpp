#pragma once
// Single-use recovery codes, shown once at enrolment, for when the TOTP device is lost.
// Trust: the code given to normalize_recovery_code is untrusted user input.
//
// A code is 10 Crockford base32 characters (50 random bits), shown as XXXXX-XXXXX. The store
// keeps only hash_recovery_code(key, normalized) and marks a hash used when its code is used.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/rng.hpp"

namespace auth {

inline constexpr std::size_t kRecoveryCodeChars = 10;

// `n` distinct codes from `rng`, formatted "XXXXX-XXXXX".
std::vector<std::string> generate_recovery_codes(core::Rng& rng, std::size_t n = 10);

// The 10-character upper-case form of what the user typed: case-insensitive, '-' and spaces
// dropped, the look-alikes O -> 0 and I, L -> 1 mapped. nullopt for any other character or
// any other length.
std::optional<std::string> normalize_recovery_code(std::string_view typed);

// Lower-case hex HMAC-SHA-256 of a normalized code under `key` (a server secret kept outside
// the database), for storage and lookup.
std::string hash_recovery_code(std::span<const std::uint8_t> key, std::string_view normalized);

}  // namespace auth
