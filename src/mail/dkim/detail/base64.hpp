#pragma once
// Standard base64 (RFC 4648 §4, with padding), as DKIM's p=, bh= and b= carry it.
// Trust: decode() takes untrusted text (a DNS record's p=).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mail::dkim::detail {

std::string base64_encode(std::span<const std::uint8_t> bytes);
// Whitespace (SP, HTAB, CR, LF: DKIM's FWS) is skipped; anything else outside the alphabet,
// a wrong length, padding anywhere but at the end, or non-zero padding bits is refused.
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

}  // namespace mail::dkim::detail
