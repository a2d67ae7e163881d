// Trust: the peer's certificate is untrusted network input; it is judged by OpenSSL's chain
// and DANE checks, and names are compared by X509_check_host.
#include "mail/smtp/detail/tls_client.hpp"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <map>
#include <mutex>

#include "core/log.hpp"
#include "core/openssl_errors.hpp"

namespace mail::smtp::detail {
namespace {

using core::ErrorKind;

bool is_pattern(const std::string& name) { return name.size() > 2 && name.starts_with("*."); }

std::vector<std::string> reference_names(const TlsRequirement& requirement,
                                         const std::string& mx_host) {
  if (requirement.acceptable_names.empty()) return {mx_host};
  return requirement.acceptable_names;
}

// Keeps the handshake going whatever the chain looks like, so that we can report what the
// peer presented; check_peer then refuses it (the message is never sent).
int keep_going(int /*preverify_ok*/, X509_STORE_CTX* /*ctx*/) { return 1; }

std::string subject_of(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return {};
  X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out = n > 0 ? core::log_safe(std::string_view(data, static_cast<std::size_t>(n)), 256)
                          : std::string();
  BIO_free(bio);
  return out;
}

// The certificate's dNSName SANs (for MTA-STS patterns, which OpenSSL cannot express).
std::vector<std::string> dns_names(X509* cert) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_DNS) continue;
    const ASN1_IA5STRING* s = name->d.dNSName;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
  }
  GENERAL_NAMES_free(names);
  return out;
}

// The certificate name that meets one of the references, or empty. Exact names through
// X509_check_host (RFC 6125 rules, no partial wildcards); "*.domain" patterns against the
// dNSName SANs, one label deep (a certificate's own "*.domain" meets it too).
std::string matching_name(X509* cert, const std::vector<std::string>& references) {
  for (const auto& reference : references) {
    if (is_pattern(reference)) {
      for (const auto& san : dns_names(cert)) {
        // A SAN with an embedded NUL or other junk cannot match a pattern of DNS labels.
        if (san.find('\0') != std::string::npos) continue;
        if (matches_one_label(reference, san)) return san;
      }
      continue;
    }
    char* peername = nullptr;
    if (X509_check_host(cert, reference.data(), reference.size(),
                        X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, &peername) == 1) {
      std::string out = peername != nullptr ? peername : reference;
      OPENSSL_free(peername);
      return out;
    }
  }
  return {};
}

}  // namespace

TlsLevel effective_level(const TlsRequirement& requirement) {
  if (requirement.level != TlsLevel::dane) return requirement.level;
  const bool usable = std::any_of(requirement.tlsa.begin(), requirement.tlsa.end(),
                                  [](const Tlsa& r) { return usable_for_smtp(r); });
  return usable ? TlsLevel::dane : TlsLevel::encrypt;
}

bool checks_unenforced(const TlsRequirement& requirement) {
  const TlsLevel level = effective_level(requirement);
  return requirement.check_unenforced && (level == TlsLevel::may || level == TlsLevel::encrypt);
}

core::Result<std::shared_ptr<boost::asio::ssl::context>> client_context(
    const TlsRequirement& requirement) {
  const TlsLevel level = effective_level(requirement);
  const int kind = level == TlsLevel::verify        ? 1
                   : level == TlsLevel::dane        ? 2
                   : checks_unenforced(requirement) ? 3
                                                    : 0;
  const std::string key =
      std::to_string(kind) + (kind == 1 || kind == 3 ? requirement.ca_file : "");
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<boost::asio::ssl::context>> cache;
  std::lock_guard lock(mutex);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  auto made = make_client_context(requirement);
  if (!made) return made;  // not cached: a CA file fixed later is read on the next try
  cache.emplace(key, *made);
  return made;
}

core::Result<std::shared_ptr<boost::asio::ssl::context>> make_client_context(
    const TlsRequirement& requirement) {
  auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
  SSL_CTX* raw = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(raw, TLS1_3_VERSION) != 1) {
    return core::fail(ErrorKind::internal, "TLS setup failed", core::openssl_errors());
  }
  SSL_CTX_set_options(raw, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
                               SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 |
                               SSL_OP_NO_TLSv1_1);
  SSL_CTX_clear_options(raw, SSL_OP_LEGACY_SERVER_CONNECT);
  if (SSL_CTX_set_cipher_list(raw, kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(raw, kTls13Suites) != 1) {
    return core::fail(ErrorKind::internal, "TLS setup failed", core::openssl_errors());
  }
  // Every suite the lists expanded to must be AEAD of 128 bits or more (a changed default
  // or a broad keyword must not quietly add CBC or export suites).
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(raw);
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
    if (SSL_CIPHER_is_aead(c) != 1 || SSL_CIPHER_get_bits(c, nullptr) < 128) {
      return core::fail(ErrorKind::internal, "TLS setup failed",
                        std::string("cipher not AEAD >= 128 bits: ") + SSL_CIPHER_get_name(c));
    }
  }
  const TlsLevel level = effective_level(requirement);
  if (level == TlsLevel::verify || checks_unenforced(requirement)) {
    const int loaded = requirement.ca_file.empty() ? SSL_CTX_set_default_verify_paths(raw)
                                                   : SSL_CTX_load_verify_locations(
                                                         raw, requirement.ca_file.c_str(), nullptr);
    if (loaded != 1) {
      return core::fail(ErrorKind::unavailable, "cannot load the trusted CA certificates",
                        core::openssl_errors());
    }
  }
  if (level == TlsLevel::dane && SSL_CTX_dane_enable(raw) <= 0) {
    return core::fail(ErrorKind::internal, "TLS setup failed", core::openssl_errors());
  }
  if (level == TlsLevel::verify || level == TlsLevel::dane || checks_unenforced(requirement)) {
    SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, keep_going);
  } else {
    // `may` and `encrypt` promise encryption only (Postfix's levels of the same names): the
    // certificate is not checked, and the TlsRecord says so (verified = none), so `mail
    // show`, the log and the audit entry never claim more than was had. A policy that
    // needs authentication asks for `verify` or `dane`, never this branch.
    SSL_CTX_set_verify(raw, SSL_VERIFY_NONE, nullptr);
  }
  return ctx;
}

core::Status prepare_connection(SSL* ssl, const TlsRequirement& requirement,
                                const std::string& mx_host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(mx_host, ec);
  const bool is_literal = !ec;
  // SNI is the MX host name (RFC 7672 §8.1 for DANE; common practice otherwise).
  if (!is_literal && !mx_host.empty() && SSL_set_tlsext_host_name(ssl, mx_host.c_str()) != 1) {
    return core::fail(ErrorKind::internal, "TLS setup failed", core::openssl_errors());
  }
  if (effective_level(requirement) != TlsLevel::dane) return core::ok();
  // The TLSA base domain is the MX host; it is also DANE-TA's reference name. Exact
  // acceptable names are added as further references (patterns have no meaning for DANE).
  if (SSL_dane_enable(ssl, mx_host.c_str()) <= 0) {
    return core::fail(ErrorKind::internal, "TLS setup failed", core::openssl_errors());
  }
  // RFC 7672 §3.1.1: DANE-EE(3) binds the key to the service: no name or expiry checks.
  SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
  for (const auto& name : requirement.acceptable_names) {
    if (!is_pattern(name) && name != mx_host) SSL_add1_host(ssl, name.c_str());
  }
  // A record OpenSSL refuses (0: unusable to it) is skipped; with none added, nothing can
  // match and check_peer reports "no TLSA record matches".
  for (const auto& record : requirement.tlsa) {
    if (!usable_for_smtp(record)) continue;
    if (SSL_dane_tlsa_add(ssl, record.usage, record.selector, record.mtype, record.data.data(),
                          record.data.size()) < 0) {
      return core::fail(ErrorKind::internal, "TLS setup failed", core::openssl_errors());
    }
  }
  ERR_clear_error();
  return core::ok();
}

bool check_peer(SSL* ssl, const TlsRequirement& requirement, const std::string& mx_host,
                TlsRecord* record) {
  record->tls = true;
  record->version = SSL_get_version(ssl);
  record->cipher = SSL_get_cipher_name(ssl);
  X509* leaf = SSL_get1_peer_certificate(ssl);
  if (leaf != nullptr) record->peer_subject = subject_of(leaf);
  const TlsLevel level = effective_level(requirement);
  bool ok = true;
  if (checks_unenforced(requirement)) {
    // Noted, never enforced and never claimed: `verified` stays none.
    if (leaf == nullptr) {
      record->failure = "no peer certificate";
    } else if (const long result = SSL_get_verify_result(ssl); result != X509_V_OK) {
      record->failure =
          std::string("certificate not trusted: ") + X509_verify_cert_error_string(result);
    } else if (matching_name(leaf, reference_names(requirement, mx_host)).empty()) {
      record->failure = "certificate name matches none of the acceptable names";
    }
  } else if (level == TlsLevel::verify) {
    const long result = SSL_get_verify_result(ssl);
    if (leaf == nullptr) {
      record->failure = "no peer certificate";
      ok = false;
    } else if (result != X509_V_OK) {
      record->failure =
          std::string("certificate not trusted: ") + X509_verify_cert_error_string(result);
      ok = false;
    } else {
      record->matched_name = matching_name(leaf, reference_names(requirement, mx_host));
      if (record->matched_name.empty()) {
        record->failure = "certificate name matches none of the acceptable names";
        ok = false;
      } else {
        record->verified = Verification::ca;
      }
    }
  } else if (level == TlsLevel::dane) {
    const long result = SSL_get_verify_result(ssl);
    X509* matched_cert = nullptr;
    EVP_PKEY* matched_key = nullptr;
    const int depth = SSL_get0_dane_authority(ssl, &matched_cert, &matched_key);
    std::uint8_t usage = 0, selector = 0, mtype = 0;
    const unsigned char* data = nullptr;
    std::size_t length = 0;
    if (result != X509_V_OK || depth < 0 ||
        SSL_get0_dane_tlsa(ssl, &usage, &selector, &mtype, &data, &length) < 0) {
      record->failure =
          std::string("no TLSA record matches: ") + X509_verify_cert_error_string(result);
      ok = false;
    } else {
      record->verified = usage == 3 ? Verification::dane_ee : Verification::dane_ta;
      if (const char* peer = SSL_get0_peername(ssl); peer != nullptr && usage == 2) {
        record->matched_name = core::log_safe(peer, 256);
      }
    }
  }
  if (leaf != nullptr) X509_free(leaf);
  return ok;
}

}  // namespace mail::smtp::detail
