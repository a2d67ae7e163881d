// Trust: parse_record() reads untrusted DNS text (bounded, fuzzed: tests/fuzz/fuzz_dkim_record).
#include "mail/dkim/record.hpp"

#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>

#include "mail/dkim/detail/base64.hpp"
#include "mail/dkim/limits.hpp"

namespace mail::dkim {
namespace {

using core::ErrorKind;

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
bool is_fws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

core::Unexpected<core::Error> bad(const char* why) {
  return core::fail(ErrorKind::invalid_input, "the DKIM record is not valid", why);
}

std::string_view trim_fws(std::string_view s) {
  while (!s.empty() && is_fws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_fws(s.back())) s.remove_suffix(1);
  return s;
}

// FWS in a tag-list is [*WSP CRLF] 1*WSP; a CR or LF anywhere else is malformed.
bool fws_well_formed(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n') return false;  // only as part of CRLF, handled below
    if (s[i] == '\r') {
      if (i + 2 >= s.size() || s[i + 1] != '\n' || !is_wsp(s[i + 2])) return false;
      i += 1;
    }
  }
  return true;
}

// A ':'-separated list (h=, s=, t=), each item trimmed; empty items refused.
std::optional<std::vector<std::string>> colon_list(std::string_view value) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t colon = value.find(':', start);
    const auto item = trim_fws(value.substr(
        start, colon == std::string_view::npos ? std::string_view::npos : colon - start));
    if (item.empty()) return std::nullopt;
    std::string lowered(item);
    std::transform(lowered.begin(), lowered.end(), lowered.begin(), [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    });
    out.push_back(std::move(lowered));
    if (colon == std::string_view::npos) return out;
    start = colon + 1;
  }
}

// DER SubjectPublicKeyInfo or PKCS#1 RSAPublicKey, as an EVP_PKEY.
struct PkeyFree {
  void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
std::unique_ptr<EVP_PKEY, PkeyFree> rsa_public_key(const std::vector<std::uint8_t>& der) {
  const unsigned char* p = der.data();
  EVP_PKEY* key = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (key != nullptr && p == der.data() + der.size())
    return std::unique_ptr<EVP_PKEY, PkeyFree>(key);
  EVP_PKEY_free(key);
  p = der.data();
  key = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(der.size()));
  if (key != nullptr && p == der.data() + der.size())
    return std::unique_ptr<EVP_PKEY, PkeyFree>(key);
  EVP_PKEY_free(key);
  return nullptr;
}

}  // namespace

core::Result<Record> parse_record(std::string_view text) {
  if (text.size() > kMaxRecordBytes)
    return core::fail(ErrorKind::too_large, "the DKIM record is too long");
  if (!fws_well_formed(text)) return bad("a CR or LF outside folding white space");
  std::vector<std::pair<std::string_view, std::string_view>> tags;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t semi = text.find(';', start);
    const std::string_view spec =
        text.substr(start, semi == std::string_view::npos ? std::string_view::npos : semi - start);
    const std::string_view trimmed = trim_fws(spec);
    if (trimmed.empty()) {
      // Only the part after a final ';' may be empty (and an empty record has no p=).
      if (semi != std::string_view::npos) return bad("an empty tag");
      break;
    }
    const std::size_t eq = trimmed.find('=');
    if (eq == std::string_view::npos) return bad("a tag without '='");
    const std::string_view name = trim_fws(trimmed.substr(0, eq));
    const std::string_view value = trim_fws(trimmed.substr(eq + 1));
    // tag-name = ALPHA *ALNUMPUNC
    if (name.empty() || !is_alpha(name.front())) return bad("a malformed tag name");
    for (const char c : name) {
      if (!is_alpha(c) && !is_digit(c) && c != '_') return bad("a malformed tag name");
    }
    // tag-value: VALCHAR (%x21-3A / %x3C-7E) runs separated by FWS.
    for (const char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if (!is_fws(c) && (u < 0x21 || u > 0x7E || c == ';'))
        return bad("a character outside VALCHAR");
    }
    for (const auto& [seen, unused] : tags) {
      if (seen == name) return bad("a tag appears twice");
    }
    tags.emplace_back(name, value);
    if (semi == std::string_view::npos) break;
    start = semi + 1;
  }

  Record record;
  bool have_p = false;
  for (std::size_t i = 0; i < tags.size(); ++i) {
    const auto& [name, value] = tags[i];
    if (name == "v") {
      if (i != 0 || value != "DKIM1") return bad("v= is not first or not DKIM1");
    } else if (name == "k") {
      if (value == "rsa") {
        record.algorithm = Algorithm::rsa_sha256;
      } else if (value == "ed25519") {
        record.algorithm = Algorithm::ed25519_sha256;
      } else {
        return bad("an unsupported key type");
      }
    } else if (name == "p") {
      auto key = detail::base64_decode(value);
      if (!key) return bad("p= is not base64");
      record.public_key = std::move(*key);
      have_p = true;
    } else if (name == "h" || name == "s" || name == "t") {
      auto list = colon_list(value);
      if (!list) return bad("an empty item in a list");
      (name == "h"   ? record.hash_algorithms
       : name == "s" ? record.service_types
                     : record.flags) = std::move(*list);
    }
    // n= (notes) and unknown tags: ignored (RFC 6376 §3.6.1).
  }
  if (!have_p) return bad("no p= tag");
  if (!record.hash_algorithms.empty() &&
      std::find(record.hash_algorithms.begin(), record.hash_algorithms.end(), "sha256") ==
          record.hash_algorithms.end())
    return bad("h= does not allow sha256");
  if (!record.revoked() && record.algorithm == Algorithm::ed25519_sha256 &&
      record.public_key.size() != 32)
    return bad("an Ed25519 key is not 32 bytes");
  return record;
}

std::string dns_record(Algorithm algorithm, const std::vector<std::uint8_t>& public_key) {
  return "v=DKIM1; k=" + std::string(key_type(algorithm)) +
         "; p=" + detail::base64_encode(public_key);
}

std::string dns_record_zone_strings(std::string_view record) {
  std::string out;
  for (std::size_t pos = 0; pos < record.size(); pos += 255) {
    if (!out.empty()) out += ' ';
    out += '"';
    out += record.substr(pos, 255);  // our records hold no '"' or '\\' to escape
    out += '"';
  }
  return out;
}

std::string record_name(std::string_view selector, std::string_view domain) {
  return std::string(selector) + "._domainkey." + std::string(domain);
}

bool record_matches(const Record& record, const PrivateKey& key) {
  if (record.revoked() || record.algorithm != key.algorithm()) return false;
  const auto mine = key.public_key();
  if (key.algorithm() == Algorithm::ed25519_sha256) return record.public_key == mine;
  const auto published = rsa_public_key(record.public_key);
  const auto ours = rsa_public_key(mine);
  return published && ours && EVP_PKEY_eq(published.get(), ours.get()) == 1;
}

}  // namespace mail::dkim
