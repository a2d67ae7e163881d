#include "mail/smtp/tls.hpp"

namespace mail::smtp {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::string_view tls_level_name(TlsLevel level) {
  switch (level) {
    case TlsLevel::none:
      return "none";
    case TlsLevel::may:
      return "may";
    case TlsLevel::encrypt:
      return "encrypt";
    case TlsLevel::verify:
      return "verify";
    case TlsLevel::dane:
      return "dane";
  }
  return "none";
}

std::string_view verification_name(Verification verification) {
  switch (verification) {
    case Verification::none:
      return "none";
    case Verification::ca:
      return "ca";
    case Verification::dane_ee:
      return "dane_ee";
    case Verification::dane_ta:
      return "dane_ta";
  }
  return "none";
}

bool usable_for_smtp(const Tlsa& record) {
  if (record.usage != 2 && record.usage != 3) return false;
  if (record.selector > 1) return false;
  switch (record.mtype) {
    case 0:
      return !record.data.empty();
    case 1:
      return record.data.size() == 32;
    case 2:
      return record.data.size() == 64;
    default:
      return false;
  }
}

bool matches_one_label(std::string_view pattern, std::string_view matched) {
  if (pattern.size() < 3 || pattern.substr(0, 2) != "*.") return false;
  const std::string_view domain = pattern.substr(1);  // ".example.com"
  if (matched.size() <= domain.size()) return false;
  if (!iequals(matched.substr(matched.size() - domain.size()), domain)) return false;
  const std::string_view label = matched.substr(0, matched.size() - domain.size());
  return !label.empty() && label.find('.') == std::string_view::npos;
}

}  // namespace mail::smtp
