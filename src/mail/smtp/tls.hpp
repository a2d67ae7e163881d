#pragma once
// What the caller requires of a connection's TLS, and what we report it got. The policy
// code (per recipient domain: none, opportunistic, verify, DANE, MTA-STS, ...) decides the
// requirement; the session enforces it exactly and never downgrades it.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mail::smtp {

// Security levels, named as Postfix names them (TLS_README):
//   none     never STARTTLS
//   may      STARTTLS when offered, no certificate check; clear text when not offered
//   encrypt  STARTTLS or nothing is sent (4.7.4); no certificate check
//   verify   STARTTLS and a certificate that chains to the CA store and matches a name
//   dane     STARTTLS and a certificate matching one of the TLSA records (RFC 7672)
// Whatever the level: TLS 1.2 or later, AEAD ciphers of 128 bits or more.
enum class TlsLevel { none, may, encrypt, verify, dane };
std::string_view tls_level_name(TlsLevel level);

// One TLSA record of _25._tcp.<mx host>, DNSSEC-validated by the caller.
struct Tlsa {
  std::uint8_t usage = 0;     // 2 DANE-TA, 3 DANE-EE (0 and 1 are unusable for SMTP)
  std::uint8_t selector = 0;  // 0 full certificate, 1 SubjectPublicKeyInfo
  std::uint8_t mtype = 0;     // 0 exact, 1 SHA-256, 2 SHA-512
  std::vector<std::uint8_t> data;
};
// RFC 7672 §3.1.3: PKIX-TA(0) and PKIX-EE(1) are not used for SMTP; unknown values and a
// digest of the wrong length are unusable too.
bool usable_for_smtp(const Tlsa& record);

struct TlsRequirement {
  TlsLevel level = TlsLevel::may;
  // verify, and DANE-TA: the names the certificate may match. Exact host names, or MTA-STS
  // patterns "*.example.com" (exactly one more label). Empty means the MX host name.
  std::vector<std::string> acceptable_names;
  // verify: a PEM file of trusted CAs; empty means the system store. DANE never uses it.
  std::string ca_file;
  // dane: the TLSA records. With none usable, DANE gives no authentication and the level
  // acts as encrypt (RFC 7672 §2.2), as Postfix does.
  std::vector<Tlsa> tlsa;
  // may and encrypt: also check the certificate as `verify` would (ca_file, the MX host
  // name) and note what failed in TlsRecord::failure, without refusing it and without
  // claiming it verified: MTA-STS `testing` (RFC 8461 §5: not enforced, but what would have
  // failed is reported through TLS-RPT).
  bool check_unenforced = false;
};

enum class Verification { none, ca, dane_ee, dane_ta };
std::string_view verification_name(Verification verification);

// What a connection actually had. Filled as far as the session got.
struct TlsRecord {
  bool tls = false;     // the handshake completed and the session ran over TLS
  std::string version;  // "TLSv1.3"
  std::string cipher;   // "TLS_AES_256_GCM_SHA384"
  Verification verified = Verification::none;
  std::string peer_subject;  // the leaf certificate's subject, sanitised
  std::string matched_name;  // the certificate name that matched (verify, DANE-TA)
  // Why TLS was not used or not verified (empty when nothing failed; with
  // check_unenforced, what a verification would have refused). Never sent anywhere but the
  // log and the queue's record.
  std::string failure;
  // The handshake itself failed (not the verification): at level may the caller may decide
  // to retry in clear text; the session never does that on its own.
  bool handshake_failed = false;
};

// A name OpenSSL matched against a reference ".example.com" (any depth) also meets the
// MTA-STS pattern "*.example.com" (one label): true when `matched` is one label (or "*")
// followed by the pattern's domain. Case-insensitive.
bool matches_one_label(std::string_view pattern, std::string_view matched);

}  // namespace mail::smtp
