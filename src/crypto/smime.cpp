// Trust: certificates are untrusted bytes from an administrator's file (size-limited,
// parsed by OpenSSL's DER/PEM readers only); the entity is our own MIME.
#include "crypto/smime.hpp"

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <memory>

#include "core/encoding.hpp"

namespace crypto {
namespace {

using core::ErrorKind;

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const noexcept {
    if (p != nullptr) Free(p);
  }
};
using Bio = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using Cms = std::unique_ptr<CMS_ContentInfo, Deleter<CMS_ContentInfo_free>>;
using Store = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreCtx = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;
struct StackDeleter {
  void operator()(STACK_OF(X509) * s) const noexcept { sk_X509_pop_free(s, X509_free); }
};
using Certs = std::unique_ptr<STACK_OF(X509), StackDeleter>;
struct NamesDeleter {
  void operator()(GENERAL_NAMES* n) const noexcept { GENERAL_NAMES_free(n); }
};

constexpr const char* kNotACert = "the file is not an X.509 certificate (PEM or DER)";
constexpr const char* kSmimeFailure = "S/MIME encryption failed";

// OpenSSL's error queue, for Error::detail only; cleared so it never leaks into the next
// call on this thread.
std::string openssl_detail(std::string_view what) {
  std::string out(what);
  unsigned long e = 0;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += "; ";
    out += buf;
  }
  return out;
}

Bio memory_bio(std::string_view bytes) {
  return Bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

std::optional<std::int64_t> unix_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm));
}

// An address as certificates carry it: printable ASCII with one '@', lower-cased.
std::optional<std::string> email_text(const unsigned char* data, int length) {
  if (data == nullptr || length <= 2 || length > 254) return std::nullopt;
  std::string s(reinterpret_cast<const char*>(data), static_cast<std::size_t>(length));
  if (std::count(s.begin(), s.end(), '@') != 1 || s.front() == '@' || s.back() == '@')
    return std::nullopt;
  for (char& c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) return std::nullopt;
    c = static_cast<char>(std::tolower(u));
  }
  return s;
}

core::Result<X509Ptr> read_one(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return core::fail(ErrorKind::invalid_input, kNotACert, "empty");
  if (bytes.size() > kMaxCertFileBytes) {
    return core::fail(ErrorKind::too_large, "the certificate file is larger than 64 KiB");
  }
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  X509Ptr cert;
  if (text.find("-----BEGIN") != std::string_view::npos) {
    Bio in = memory_bio(text);
    if (!in) return core::fail(ErrorKind::internal, kNotACert, openssl_detail("BIO_new"));
    cert.reset(PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr));
  } else {
    const unsigned char* p = bytes.data();
    cert.reset(d2i_X509(nullptr, &p, static_cast<long>(bytes.size())));
    if (cert && p != bytes.data() + bytes.size()) cert.reset();  // trailing bytes
  }
  if (!cert) return core::fail(ErrorKind::invalid_input, kNotACert, openssl_detail("parse"));
  ERR_clear_error();
  return cert;
}

core::Result<CertInfo> info_of(X509* cert) {
  CertInfo info;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &md_len) != 1 || md_len != 32) {
    return core::fail(ErrorKind::invalid_input, kNotACert, openssl_detail("X509_digest"));
  }
  info.sha256 = core::to_hex(std::span<const std::uint8_t>(md, md_len));
  std::transform(info.sha256.begin(), info.sha256.end(), info.sha256.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });

  auto nb = unix_time(X509_get0_notBefore(cert));
  auto na = unix_time(X509_get0_notAfter(cert));
  if (!nb || !na) return core::fail(ErrorKind::invalid_input, kNotACert, "bad validity");
  info.not_before = *nb;
  info.not_after = *na;

  // Computes the cached extension flags; a certificate with a malformed extension is
  // marked EXFLAG_INVALID.
  const uint32_t flags = X509_get_extension_flags(cert);
  if ((flags & EXFLAG_INVALID) != 0) {
    return core::fail(ErrorKind::invalid_input, "the certificate has a malformed extension");
  }
  info.usage_allows_encryption =
      (flags & EXFLAG_KUSAGE) == 0 ||
      (X509_get_key_usage(cert) & (KU_KEY_ENCIPHERMENT | KU_KEY_AGREEMENT)) != 0;
  info.eku_allows_email =
      (flags & EXFLAG_XKUSAGE) == 0 || (X509_get_extended_key_usage(cert) & XKU_SMIME) != 0;
  info.is_ca = X509_check_ca(cert) != 0;

  std::unique_ptr<GENERAL_NAMES, NamesDeleter> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  const auto add = [&info](std::optional<std::string> e) {
    if (e && std::find(info.emails.begin(), info.emails.end(), *e) == info.emails.end() &&
        info.emails.size() < 32) {
      info.emails.push_back(*std::move(e));
    }
  };
  if (names) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
      if (n->type == GEN_EMAIL) {
        add(email_text(ASN1_STRING_get0_data(n->d.rfc822Name),
                       ASN1_STRING_length(n->d.rfc822Name)));
      }
    }
  }
  const X509_NAME* subject = X509_get_subject_name(cert);
  for (int i = -1; (i = X509_NAME_get_index_by_NID(subject, NID_pkcs9_emailAddress, i)) >= 0;) {
    const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
    add(email_text(ASN1_STRING_get0_data(s), ASN1_STRING_length(s)));
  }

  Bio out(BIO_new(BIO_s_mem()));
  if (!out) return core::fail(ErrorKind::internal, kNotACert, "BIO_new");
  X509_NAME_print_ex(out.get(), subject, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  for (char c : bio_text(out.get())) {
    const auto u = static_cast<unsigned char>(c);
    if (info.subject.size() < 256) info.subject += (u >= 0x20 && u < 0x7F) ? c : '?';
  }
  Bio pem(BIO_new(BIO_s_mem()));
  if (!pem || PEM_write_bio_X509(pem.get(), cert) != 1) {
    return core::fail(ErrorKind::internal, kNotACert, openssl_detail("PEM_write_bio_X509"));
  }
  info.pem = bio_text(pem.get());
  ERR_clear_error();
  return info;
}

// Every certificate in a PEM bundle.
Certs read_bundle(std::string_view pem) {
  Certs certs(sk_X509_new_null());
  if (!certs) return certs;
  Bio in = memory_bio(pem);
  if (!in) return Certs();
  while (X509* c = PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr)) {
    sk_X509_push(certs.get(), c);
  }
  ERR_clear_error();  // the end of the bundle reads as an error
  return certs;
}

}  // namespace

core::Result<CertInfo> parse_certificate(std::span<const std::uint8_t> bytes) {
  auto cert = read_one(bytes);
  if (!cert) return core::fail(std::move(cert).error());
  return info_of(cert->get());
}

core::Status check_recipient_cert(const CertInfo& cert, std::string_view ca_bundle_pem, bool pinned,
                                  core::TimePoint now) {
  const std::int64_t t = core::unix_seconds(now);
  if (t > cert.not_after)
    return core::fail(ErrorKind::invalid_input, "the certificate has expired");
  if (t < cert.not_before) {
    return core::fail(ErrorKind::invalid_input, "the certificate is not valid yet");
  }
  if (!cert.usage_allows_encryption) {
    return core::fail(ErrorKind::invalid_input,
                      "the certificate's key usage allows neither keyEncipherment nor "
                      "keyAgreement");
  }
  if (!cert.eku_allows_email) {
    return core::fail(ErrorKind::invalid_input,
                      "the certificate's extended key usage does not include emailProtection");
  }
  if (cert.is_ca) {
    return core::fail(ErrorKind::invalid_input, "the certificate is a CA certificate");
  }
  if (cert.emails.empty()) {
    return core::fail(ErrorKind::invalid_input, "the certificate names no e-mail address");
  }
  if (pinned) return core::ok();

  constexpr const char* kNoChain =
      "the certificate does not chain to a CA in [mail] smime_ca_file (or pin it with --pin)";
  if (ca_bundle_pem.empty()) return core::fail(ErrorKind::invalid_input, kNoChain, "no CA file");
  auto leaf =
      read_one(std::span(reinterpret_cast<const std::uint8_t*>(cert.pem.data()), cert.pem.size()));
  if (!leaf) return core::fail(std::move(leaf).error());
  Certs cas = read_bundle(ca_bundle_pem);
  Store store(X509_STORE_new());
  StoreCtx ctx(X509_STORE_CTX_new());
  if (!cas || !store || !ctx) return core::fail(ErrorKind::internal, kNoChain, "allocation");
  for (int i = 0; i < sk_X509_num(cas.get()); ++i) {
    X509_STORE_add_cert(store.get(), sk_X509_value(cas.get(), i));
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf->get(), nullptr) != 1) {
    return core::fail(ErrorKind::internal, kNoChain, openssl_detail("X509_STORE_CTX_init"));
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(t));
  const int ok = X509_verify_cert(ctx.get());
  const int err = X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  if (ok != 1) {
    return core::fail(ErrorKind::invalid_input, kNoChain, X509_verify_cert_error_string(err));
  }
  return core::ok();
}

namespace {

struct LoadedSigner {
  X509Ptr cert;
  Pkey key;
};

core::Result<LoadedSigner> load_signer(const SmimeSigner& signer) {
  constexpr const char* kBad =
      "the S/MIME signing certificate or key ([mail] smime_cert_file, smime_key_file) is "
      "not usable";
  LoadedSigner out;
  auto cert = read_one(std::span(reinterpret_cast<const std::uint8_t*>(signer.cert_pem.data()),
                                 signer.cert_pem.size()));
  if (!cert) return core::fail(ErrorKind::invalid_input, kBad, cert.error().detail());
  out.cert = *std::move(cert);
  const auto key = signer.key_pem.view();
  Bio in(BIO_new_mem_buf(key.data(), static_cast<int>(key.size())));
  if (!in) return core::fail(ErrorKind::internal, kBad, "BIO_new");
  // No passphrase callback: an encrypted key is refused rather than prompting.
  out.key.reset(PEM_read_bio_PrivateKey(
      in.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
  if (!out.key) return core::fail(ErrorKind::invalid_input, kBad, openssl_detail("private key"));
  if (X509_check_private_key(out.cert.get(), out.key.get()) != 1) {
    return core::fail(ErrorKind::invalid_input, kBad, openssl_detail("key does not match"));
  }
  ERR_clear_error();
  return out;
}

}  // namespace

core::Status check_smime_signer(const SmimeSigner& signer) {
  auto loaded = load_signer(signer);
  if (!loaded) return core::fail(std::move(loaded).error());
  return core::ok();
}

core::Result<std::string> smime_sign_and_encrypt(
    std::string_view entity, const SmimeSigner& signer,
    const std::vector<std::string>& recipient_certs_pem, SmimeCipher cipher) {
  if (recipient_certs_pem.empty()) {
    return core::fail(ErrorKind::invalid_input,
                      "a message needs at least one recipient certificate");
  }
  auto loaded = load_signer(signer);
  if (!loaded) return core::fail(std::move(loaded).error());

  // 1. SignedData over the entity as it is (CRLF already: CMS_BINARY, no translation),
  // detached, written as multipart/signed with CRLF line ends. CMS_STREAM: the signature
  // is computed while SMIME_write_CMS copies the entity (signing first and writing after
  // would sign twice).
  constexpr unsigned kSignFlags = CMS_DETACHED | CMS_BINARY | CMS_STREAM;
  Cms signed_data(CMS_sign(loaded->cert.get(), loaded->key.get(), nullptr, nullptr, kSignFlags));
  if (!signed_data)
    return core::fail(ErrorKind::internal, kSmimeFailure, openssl_detail("CMS_sign"));
  Bio signed_mime(BIO_new(BIO_s_mem()));
  Bio data = memory_bio(entity);
  if (!signed_mime || !data ||
      SMIME_write_CMS(signed_mime.get(), signed_data.get(), data.get(), kSignFlags | CMS_CRLFEOL) !=
          1) {
    return core::fail(ErrorKind::internal, kSmimeFailure, openssl_detail("SMIME_write_CMS"));
  }

  // OpenSSL writes the signature's base64 with bare LF line ends: made CRLF like the rest
  // (RFC 8551 3.1.1; the signature covers only the first part, which is left as it is).
  std::string signed_text;
  {
    const std::string raw = bio_text(signed_mime.get());
    signed_text.reserve(raw.size() + raw.size() / 60);
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r')) signed_text += '\r';
      signed_text += raw[i];
    }
  }
  Bio signed_in = memory_bio(signed_text);
  if (!signed_in) return core::fail(ErrorKind::internal, kSmimeFailure, "BIO_new");

  // 2. Enveloped to every recipient: EnvelopedData (CBC) or AuthEnvelopedData (GCM).
  Certs recipients(sk_X509_new_null());
  if (!recipients) return core::fail(ErrorKind::internal, kSmimeFailure, "sk_X509_new_null");
  for (const std::string& pem : recipient_certs_pem) {
    auto c = read_one(std::span(reinterpret_cast<const std::uint8_t*>(pem.data()), pem.size()));
    if (!c) return core::fail(ErrorKind::invalid_input, "a recipient certificate is not readable");
    sk_X509_push(recipients.get(), c->release());
  }
  const EVP_CIPHER* evp = cipher == SmimeCipher::aes256_gcm ? EVP_aes_256_gcm() : EVP_aes_256_cbc();
  Cms enveloped(CMS_encrypt(recipients.get(), signed_in.get(), evp, CMS_BINARY));
  core::secure_wipe(signed_text.data(), signed_text.size());
  if (!enveloped) {
    return core::fail(ErrorKind::internal, kSmimeFailure, openssl_detail("CMS_encrypt"));
  }
  Bio der(BIO_new(BIO_s_mem()));
  if (!der || i2d_CMS_bio(der.get(), enveloped.get()) != 1) {
    return core::fail(ErrorKind::internal, kSmimeFailure, openssl_detail("i2d_CMS_bio"));
  }
  ERR_clear_error();
  return bio_text(der.get());
}

}  // namespace crypto
