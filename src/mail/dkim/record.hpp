#pragma once
// DKIM key records (RFC 6376 §3.6.1, RFC 8463 §4): the TXT text we ask an operator to
// publish, its DNS name, and a parser of published records (for `mail check-dns`).
// Trust: parse_record() takes untrusted text from DNS (all strings of one TXT record joined).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "mail/dkim/key.hpp"

namespace mail::dkim {

struct Record {
  Algorithm algorithm = Algorithm::rsa_sha256;  // k= (default rsa); other types are refused
  std::vector<std::uint8_t> public_key;         // p= decoded; empty means revoked
  std::vector<std::string> hash_algorithms;     // h= (empty: any)
  std::vector<std::string> service_types;       // s= (empty: "*")
  std::vector<std::string> flags;               // t= ("y" testing, "s" strict)
  bool revoked() const noexcept { return public_key.empty(); }
};

// The tag-list grammar of RFC 6376 §3.2 (FWS around tags and '=', a final ';' allowed,
// duplicate tags refused), then: v= absent or first and exactly "DKIM1"; k= "rsa" or
// "ed25519"; p= present, strict base64 (FWS inside allowed), an Ed25519 key 32 bytes; h=
// when present must list sha256; unknown tags ignored. At most kMaxRecordBytes.
core::Result<Record> parse_record(std::string_view text);

// "v=DKIM1; k=ed25519; p=<base64>" or "v=DKIM1; k=rsa; p=<base64 SubjectPublicKeyInfo>".
std::string dns_record(Algorithm algorithm, const std::vector<std::uint8_t>& public_key);
inline std::string dns_record(const PrivateKey& key) {
  return dns_record(key.algorithm(), key.public_key());
}
// The same text as a zone file's TXT data: quoted strings of at most 255 bytes each (a TXT
// string's limit, RFC 1035 §3.3.14), which resolvers join back into the record.
std::string dns_record_zone_strings(std::string_view record);
// "<selector>._domainkey.<domain>" (RFC 6376 §3.6.2.1).
std::string record_name(std::string_view selector, std::string_view domain);

// Whether a published record is the one for `key`: same type, not revoked, same public key
// (an RSA record may carry SubjectPublicKeyInfo or a bare PKCS#1 RSAPublicKey).
bool record_matches(const Record& record, const PrivateKey& key);

}  // namespace mail::dkim
