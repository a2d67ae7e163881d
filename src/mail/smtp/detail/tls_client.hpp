#pragma once
// The client side of STARTTLS: the SSL_CTX for a requirement, the per-connection setup
// (SNI, DANE records, reference names) and the check of the finished handshake.

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "mail/smtp/tls.hpp"

namespace mail::smtp::detail {

// TLS 1.2 with forward-secret AEAD suites only; TLS 1.3's suites are all AEAD.
inline constexpr const char* kTls12Ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20";
inline constexpr const char* kTls13Suites =
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";

// The level actually enforced: dane without a usable TLSA record acts as encrypt.
TlsLevel effective_level(const TlsRequirement& requirement);
// check_unenforced applies: the effective level is may or encrypt.
bool checks_unenforced(const TlsRequirement& requirement);

// The context for `requirement`, made once per (verification kind, CA file) and shared by
// every session after that: loading a CA bundle costs tens of milliseconds (the system
// store), far more than a handshake. A context is only read once made (OpenSSL allows that
// from several threads); what differs per connection (SNI, names, TLSA) is set on the SSL.
core::Result<std::shared_ptr<boost::asio::ssl::context>> client_context(
    const TlsRequirement& requirement);
// A client context for one requirement: versions, ciphers (checked to be AEAD >= 128 bits),
// the CA store for verify, DANE enabled for dane.
core::Result<std::shared_ptr<boost::asio::ssl::context>> make_client_context(
    const TlsRequirement& requirement);

// Per connection, before the handshake: SNI, and for dane the TLSA records and reference
// names. Errors are OpenSSL failures (a record OpenSSL refuses is skipped, not an error).
core::Status prepare_connection(SSL* ssl, const TlsRequirement& requirement,
                                const std::string& mx_host);

// After a completed handshake: fills version, cipher, subject, and checks the peer against
// the requirement. On failure, record->failure says why and the result is false.
bool check_peer(SSL* ssl, const TlsRequirement& requirement, const std::string& mx_host,
                TlsRecord* record);

}  // namespace mail::smtp::detail
