#include "forms/reference.hpp"

#include <cstdint>

#include "core/encoding.hpp"

namespace forms {

std::string new_reference(core::Rng& rng) {
  std::uint8_t bytes[8];
  rng.fill(bytes);
  auto s = core::crockford_base32(bytes, 12);
  return s.substr(0, 4) + "-" + s.substr(4, 4) + "-" + s.substr(8, 4);
}

bool is_reference(std::string_view text) {
  static constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  if (text.size() != 14) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == 4 || i == 9) {
      if (text[i] != '-') return false;
    } else if (kAlphabet.find(text[i]) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

}  // namespace forms
