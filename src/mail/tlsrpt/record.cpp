// Trust: untrusted DNS text; every byte is checked and every size bounded (limits.hpp).
#include "mail/tlsrpt/record.hpp"

#include <cctype>

#include "mail/mime/address.hpp"
#include "mail/tlsrpt/limits.hpp"

namespace mail::tlsrpt {
namespace {

using core::ErrorKind;

constexpr std::string_view kVersion = "v=TLSRPTv1";

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 6068: "mailto:" addr-spec, percent-encoded; no header fields (we send to the address
// only, and a "?" would let a record choose our subject or body).
std::optional<std::string> mailto_address(std::string_view uri) {
  std::string_view rest = uri.substr(7);
  if (rest.find('?') != std::string_view::npos || rest.find(',') != std::string_view::npos)
    return std::nullopt;
  std::string decoded;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '%') {
      if (i + 2 >= rest.size()) return std::nullopt;
      const int hi = hex_value(rest[i + 1]);
      const int lo = hex_value(rest[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      decoded += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      decoded += rest[i];
    }
  }
  auto address = Address::parse(decoded);
  if (!address) return std::nullopt;
  return address->str();
}

// "https://" host [":" port] [path]: printable ASCII without spaces, quotes or angle
// brackets, a non-empty host. Where it points is checked again when we connect.
bool plausible_https(std::string_view uri) {
  std::string_view rest = uri.substr(8);
  const std::size_t host_end = rest.find_first_of(":/?#");
  if (host_end == 0 || rest.empty()) return false;
  for (const char ch : uri) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7F || c == '"' || c == '<' || c == '>' || c == '\\') return false;
  }
  return true;
}

}  // namespace

core::Result<Record> parse_record(std::string_view text) {
  if (text.size() > kMaxRecordBytes)
    return core::fail(ErrorKind::too_large, "the TLS-RPT record is too long");
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c >= 0x7F)
      return core::fail(ErrorKind::invalid_input, "the TLS-RPT record has a control character");
  }
  Record record;
  bool first = true;
  bool have_rua = false;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t semi = text.find(';', start);
    const std::string_view field =
        trim(text.substr(start, semi == std::string_view::npos ? text.npos : semi - start));
    start = semi == std::string_view::npos ? text.size() + 1 : semi + 1;
    if (first) {
      if (field != kVersion) return core::fail(ErrorKind::invalid_input, "not a TLSRPTv1 record");
      first = false;
      continue;
    }
    if (field.empty()) {
      // Only a trailing delimiter may leave an empty field.
      if (start <= text.size() && !trim(text.substr(start)).empty())
        return core::fail(ErrorKind::invalid_input, "an empty field in the TLS-RPT record");
      continue;
    }
    const std::size_t eq = field.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return core::fail(ErrorKind::invalid_input, "a TLS-RPT field without a value");
    const std::string_view name = field.substr(0, eq);
    const std::string_view value = trim(field.substr(eq + 1));
    if (name != "rua") continue;  // extension fields: ignored
    if (have_rua) return core::fail(ErrorKind::invalid_input, "rua is given twice");
    have_rua = true;
    std::size_t from = 0;
    while (from <= value.size()) {
      const std::size_t comma = value.find(',', from);
      const std::string_view uri =
          trim(value.substr(from, comma == std::string_view::npos ? value.npos : comma - from));
      from = comma == std::string_view::npos ? value.size() + 1 : comma + 1;
      if (uri.empty()) return core::fail(ErrorKind::invalid_input, "an empty rua destination");
      if (uri.size() > kMaxUriBytes || record.rua.size() >= kMaxUris) continue;
      if (iequals_prefix(uri, "mailto:")) {
        if (auto address = mailto_address(uri)) {
          record.rua.push_back({Destination::Kind::mailto, *address});
        }
      } else if (iequals_prefix(uri, "https://")) {
        if (plausible_https(uri))
          record.rua.push_back({Destination::Kind::https, std::string(uri)});
      }
    }
  }
  if (!have_rua) return core::fail(ErrorKind::invalid_input, "the TLS-RPT record has no rua");
  if (record.rua.empty())
    return core::fail(ErrorKind::invalid_input, "the TLS-RPT record names no usable destination");
  return record;
}

core::Result<std::optional<Record>> select_record(const std::vector<std::string>& txt) {
  std::optional<std::string_view> found;
  for (const auto& t : txt) {
    const std::string_view s(t);
    // "v=TLSRPTv1" then a delimiter or the end: "v=TLSRPTv10" is another version.
    if (!s.starts_with(kVersion)) continue;
    const std::string_view after = trim(s.substr(kVersion.size()));
    if (!after.empty() && after.front() != ';') continue;
    if (found) return core::fail(ErrorKind::invalid_input, "more than one TLS-RPT record");
    found = s;
  }
  if (!found) return std::optional<Record>();
  auto record = parse_record(*found);
  if (!record) return core::fail(std::move(record).error());
  return std::optional<Record>(std::move(*record));
}

}  // namespace mail::tlsrpt
