// Trust: untrusted text (form values, configuration, command lines); see address.hpp.
#include "mail/mime/address.hpp"

#include <idn2.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "core/encoding.hpp"
#include "mail/mime/limits.hpp"

namespace mail::mime {
namespace {

using core::ErrorKind;

bool is_ascii_alnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// RFC 5322 atext, ASCII part.
bool is_atext(unsigned char c) {
  if (is_ascii_alnum(c)) return true;
  constexpr std::string_view kSpecials = "!#$%&'*+-/=?^_`{|}~";
  return kSpecials.find(static_cast<char>(c)) != std::string_view::npos;
}

// Valid UTF-8 with no C1 control (U+0080..U+009F is 0xC2 0x80..0xC2 0x9F).
bool is_clean_utf8(std::string_view text) {
  if (!core::is_valid_utf8(text)) return false;
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const auto n = static_cast<unsigned char>(text[i + 1]);
    if (c == 0xC2 && n >= 0x80 && n <= 0x9F) return false;
  }
  return true;
}

core::Status check_local_part(std::string_view local) {
  if (local.empty() || local.size() > kMaxLocalPartBytes)
    return core::fail(ErrorKind::invalid_input, "that is not an e-mail address",
                      "local-part empty or longer than 64 bytes");
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos)
    return core::fail(ErrorKind::invalid_input, "that is not an e-mail address",
                      "local-part is not a dot-atom");
  for (const char ch : local) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80 || c == '.' || is_atext(c)) continue;
    return core::fail(ErrorKind::invalid_input, "that is not an e-mail address",
                      "local-part holds a character outside atext");
  }
  if (!is_clean_utf8(local))
    return core::fail(ErrorKind::invalid_input, "that is not an e-mail address",
                      "local-part is not clean UTF-8");
  return core::ok();
}

// Splits on '.', checks LDH labels; `allow_utf8` lets labels hold bytes >= 0x80 (checked
// for UTF-8 before, mapped by IDNA after).
bool labels_ok(std::string_view domain, bool allow_utf8, std::size_t& labels) {
  labels = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = domain.find('.', start);
    const std::string_view label =
        domain.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > kMaxLabelBytes) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (const char ch : label) {
      const auto c = static_cast<unsigned char>(ch);
      if (is_ascii_alnum(c) || c == '-') continue;
      if (allow_utf8 && c >= 0x80) continue;
      return false;
    }
    ++labels;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

}  // namespace

core::Result<std::string> normalize_domain(std::string_view text) {
  const auto bad = [](const char* why) {
    return core::fail(ErrorKind::invalid_input, "that is not a valid domain name", why);
  };
  if (text.empty() || text.size() > kMaxDomainBytes) return bad("empty or longer than 253 bytes");
  const bool ascii = std::all_of(text.begin(), text.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  std::size_t labels = 0;
  if (!ascii && !is_clean_utf8(text)) return bad("not clean UTF-8");
  if (!labels_ok(text, !ascii, labels)) return bad("a label is empty, too long or not LDH");
  if (labels < 2) return bad("fewer than two labels");

  std::string out;
  if (ascii) {
    out.assign(text);
  } else {
    // UTS #46 mapping (case folding, NFC) then IDNA2008 to A-labels.
    char* converted = nullptr;
    const std::string input(text);
    const int rc =
        idn2_to_ascii_8z(input.c_str(), &converted, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    std::unique_ptr<char, decltype(&idn2_free)> owned(converted, &idn2_free);
    if (rc != IDN2_OK || converted == nullptr) return bad("IDNA conversion refused it");
    out.assign(converted);
    if (out.empty() || out.size() > kMaxDomainBytes || !labels_ok(out, false, labels) || labels < 2)
      return bad("IDNA result is not a valid A-label domain");
  }
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

core::Result<Address> Address::parse(std::string_view text) {
  if (text.empty() || text.size() > kMaxAddressBytes)
    return core::fail(ErrorKind::invalid_input, "that is not an e-mail address",
                      "empty or longer than 254 bytes");
  const std::size_t at = text.find('@');
  if (at == std::string_view::npos || text.find('@', at + 1) != std::string_view::npos)
    return core::fail(ErrorKind::invalid_input, "that is not an e-mail address",
                      "not exactly one '@'");
  const std::string_view local = text.substr(0, at);
  if (auto ok = check_local_part(local); !ok) return core::fail(ok.error());
  auto domain = normalize_domain(text.substr(at + 1));
  if (!domain)
    return core::fail(ErrorKind::invalid_input, "that is not an e-mail address",
                      domain.error().detail());
  // IDNA may lengthen the domain (A-labels are longer than U-labels).
  if (local.size() + 1 + domain->size() > kMaxAddressBytes)
    return core::fail(ErrorKind::invalid_input, "that is not an e-mail address",
                      "longer than 254 bytes once the domain is in A-labels");
  return Address(std::string(local), std::move(*domain));
}

bool Address::needs_smtputf8() const noexcept {
  return std::any_of(local_.begin(), local_.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

}  // namespace mail::mime
