#pragma once
// HMAC-SHA-256 and constant-time comparison, through OpenSSL.

#include <array>
#include <cstdint>
#include <span>

namespace crypto {

using Mac = std::array<std::uint8_t, 32>;

Mac hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data);
// Compares in time independent of where the inputs differ.
bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

}  // namespace crypto
