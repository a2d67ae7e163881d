#pragma once
// Time-based one-time passwords: RFC 6238 (TOTP) over RFC 4226 (HOTP), HMAC-SHA1, 30-second
// steps, 6 digits: what every authenticator app implements. Also the RFC 4648 base32 and the
// otpauth:// URI that apps scan from a QR code.
// Trust: `code` in totp_verify and the text given to base32_decode are untrusted user input.
//
// The secret is key material: keep it in core::SecretBytes; the base32 text and the URI that
// carry it are as secret (show them once at enrolment, never log them).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"

namespace auth {

inline constexpr std::int64_t kTotpStepSeconds = 30;
inline constexpr int kTotpDigits = 6;
// RFC 4226 recommends a 160-bit (20-byte) shared secret for HMAC-SHA1.
inline constexpr std::size_t kTotpSecretBytes = 20;
// Nothing we decode is longer than a TOTP secret (32 characters); this bounds the work.
inline constexpr std::size_t kMaxBase32Chars = 1024;

// 20 bytes from `rng` (the system CSPRNG in the server).
core::SecretBytes generate_totp_secret(core::Rng& rng);

// RFC 4648 base32, upper case, no '=' padding (what authenticator apps expect).
std::string base32_encode(std::span<const std::uint8_t> bytes);
// Case-insensitive; ignores spaces and trailing '=' padding. Refuses other characters, lengths
// no encoding produces, non-zero unused bits (so each byte string has one encoding) and more
// than kMaxBase32Chars characters.
core::Result<std::vector<std::uint8_t>> base32_decode(std::string_view text);

// otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
// with issuer and account percent-encoded (everything but RFC 3986 unreserved characters).
std::string otpauth_uri(std::string_view issuer, std::string_view account,
                        const core::SecretBytes& secret);

// The HOTP value for counter `step` (= unix time / 30), zero-padded to `digits`. `digits` must
// be 6..8 and `step` non-negative; otherwise the result is empty (and matches no code).
std::string totp_code(const core::SecretBytes& secret, std::int64_t step, int digits = 6);

// Checks a 6-digit `code` (spaces allowed, e.g. "123 456") against the steps just before,
// at and after `unix_now` (one step either way for clock drift), considering only steps
// greater than `last_used_step`. Returns the matched step, which the caller must store as the
// new last_used_step so that each code works once; nullopt when nothing matches. Every
// candidate is computed and compared in constant time. An empty secret never matches.
std::optional<std::int64_t> totp_verify(const core::SecretBytes& secret, std::string_view code,
                                        std::int64_t unix_now, std::int64_t last_used_step);

}  // namespace auth
