#pragma once
// Byte <-> text encodings used for tokens, fingerprints and reference numbers.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace core {

std::string to_hex(std::span<const std::uint8_t> bytes);  // lower case
// The bytes of lower-case hex text of even length (what to_hex writes); nullopt otherwise.
std::optional<std::vector<std::uint8_t>> from_hex(std::string_view text);
std::string base64url_encode(std::span<const std::uint8_t> bytes);  // no padding
// Strict: rejects padding, whitespace and characters outside the URL-safe alphabet.
std::optional<std::vector<std::uint8_t>> base64url_decode(std::string_view text);
// Crockford base32 (no I, L, O, U): unambiguous when read aloud or typed from paper.
std::string crockford_base32(std::span<const std::uint8_t> bytes, std::size_t chars);

// True when `text` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view text);

}  // namespace core
