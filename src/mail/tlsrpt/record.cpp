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

// A host name of the URL: LDH labels of 1..63 bytes, at least two of them, the last not all
// digits (so never an IPv4 literal); returned in lower case.
std::optional<std::string> host_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return std::nullopt;
  std::string out;
  std::size_t label = 0;
  std::size_t labels = 1;
  bool last_all_digits = true;
  for (std::size_t i = 0; i < host.size(); ++i) {
    const auto c = static_cast<unsigned char>(host[i]);
    if (c == '.') {
      if (label == 0 || host[i - 1] == '-') return std::nullopt;
      label = 0;
      ++labels;
      last_all_digits = true;
      out += '.';
      continue;
    }
    const bool ldh = std::isalnum(c) != 0 || c == '-';
    if (!ldh || (c == '-' && label == 0) || ++label > 63) return std::nullopt;
    if (std::isdigit(c) == 0) last_all_digits = false;
    out += static_cast<char>(std::tolower(c));
  }
  if (label == 0 || host.back() == '-' || labels < 2 || last_all_digits) return std::nullopt;
  return out;
}

// "https://" host [":" port] [path-abempty ["?" query]] ["#" fragment], RFC 3986 with what
// a report destination needs: printable ASCII without spaces, quotes, angle brackets or
// backslashes; no user info; a DNS name as the host; a port 1..65535.
std::optional<Destination> https_destination(std::string_view uri) {
  for (const char ch : uri) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7F || c == '"' || c == '<' || c == '>' || c == '\\')
      return std::nullopt;
  }
  std::string_view rest = uri.substr(8);
  if (const std::size_t hash = rest.find('#'); hash != std::string_view::npos)
    rest = rest.substr(0, hash);
  const std::size_t authority_end = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, authority_end);
  std::string_view path =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) return std::nullopt;
  Destination d;
  d.kind = Destination::Kind::https;
  d.target = std::string(uri);
  std::string_view host = authority;
  if (const std::size_t colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    const std::string_view digits = authority.substr(colon + 1);
    if (digits.empty() || digits.size() > 5) return std::nullopt;
    unsigned port = 0;
    for (const char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (port == 0 || port > 65535) return std::nullopt;
    d.port = static_cast<std::uint16_t>(port);
  }
  auto name = host_name(host);
  if (!name) return std::nullopt;
  d.host = std::move(*name);
  d.path = path.empty() ? std::string("/")
                        : (path.front() == '?' ? "/" + std::string(path) : std::string(path));
  return d;
}

}  // namespace

std::optional<Destination> parse_https_url(std::string_view url) {
  if (!iequals_prefix(url, "https://")) return std::nullopt;
  return https_destination(url);
}

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
          record.rua.push_back({.kind = Destination::Kind::mailto, .target = *address});
        }
      } else if (iequals_prefix(uri, "https://")) {
        if (auto destination = https_destination(uri))
          record.rua.push_back(std::move(*destination));
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
