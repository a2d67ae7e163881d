// Trust: from_pem() reads a key file's bytes; nothing from the network.
#include "mail/dkim/key.hpp"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <climits>

namespace mail::dkim {
namespace {

using core::ErrorKind;

struct BioFree {
  void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
struct CtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const noexcept { EVP_PKEY_CTX_free(ctx); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};

// Encrypted PEM: no passphrase, and never a prompt on the terminal.
int no_passphrase(char*, int, int, void*) { return -1; }

}  // namespace

std::string_view signature_algorithm(Algorithm algorithm) {
  return algorithm == Algorithm::ed25519_sha256 ? "ed25519-sha256" : "rsa-sha256";
}

std::string_view key_type(Algorithm algorithm) {
  return algorithm == Algorithm::ed25519_sha256 ? "ed25519" : "rsa";
}

core::Result<PrivateKey> PrivateKey::adopt(EVP_PKEY* key) {
  std::unique_ptr<EVP_PKEY, Free> owned(key);
  if (EVP_PKEY_is_a(key, "ED25519")) return PrivateKey(Algorithm::ed25519_sha256, owned.release());
  if (EVP_PKEY_is_a(key, "RSA")) {
    const int bits = EVP_PKEY_get_bits(key);
    if (bits < kMinRsaBits || bits > kMaxRsaBits)
      return core::fail(ErrorKind::invalid_input, "the DKIM RSA key must have 2048 to 4096 bits");
    return PrivateKey(Algorithm::rsa_sha256, owned.release());
  }
  return core::fail(ErrorKind::invalid_input, "a DKIM key must be Ed25519 or RSA");
}

core::Result<PrivateKey> PrivateKey::generate(Algorithm algorithm, int rsa_bits) {
  if (algorithm == Algorithm::rsa_sha256 && (rsa_bits < kMinRsaBits || rsa_bits > kMaxRsaBits))
    return core::fail(ErrorKind::invalid_input, "the DKIM RSA key must have 2048 to 4096 bits");
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> ctx(EVP_PKEY_CTX_new_from_name(
      nullptr, algorithm == Algorithm::ed25519_sha256 ? "ED25519" : "RSA", nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      (algorithm == Algorithm::rsa_sha256 &&
       EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), rsa_bits) != 1) ||
      EVP_PKEY_generate(ctx.get(), &key) != 1)
    return core::fail(ErrorKind::internal, "the DKIM key could not be generated", "OpenSSL keygen");
  return adopt(key);
}

core::Result<PrivateKey> PrivateKey::from_pem(const core::SecretBytes& pem) {
  if (pem.size() > kMaxKeyFileBytes || pem.empty())
    return core::fail(ErrorKind::invalid_input, "the DKIM key file is not a PEM private key",
                      "empty or larger than kMaxKeyFileBytes");
  std::unique_ptr<BIO, BioFree> bio(
      BIO_new_mem_buf(pem.view().data(), static_cast<int>(pem.size())));
  if (!bio) return core::fail(ErrorKind::internal, "the DKIM key could not be read", "BIO");
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, &no_passphrase, nullptr);
  if (key == nullptr)
    return core::fail(ErrorKind::invalid_input, "the DKIM key file is not a PEM private key",
                      "PEM_read_bio_PrivateKey failed (encrypted or malformed)");
  return adopt(key);
}

core::Result<core::SecretBytes> PrivateKey::to_pem() const {
  // A secure-heap memory BIO: OpenSSL wipes it when it is freed.
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PKCS8PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr,
                                            nullptr) != 1)
    return core::fail(ErrorKind::internal, "the DKIM key could not be written", "PEM write");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  if (size <= 0 || data == nullptr)
    return core::fail(ErrorKind::internal, "the DKIM key could not be written", "empty PEM");
  return core::SecretBytes(std::string_view(data, static_cast<std::size_t>(size)));
}

int PrivateKey::bits() const noexcept { return EVP_PKEY_get_bits(key_.get()); }

std::vector<std::uint8_t> PrivateKey::public_key() const {
  std::vector<std::uint8_t> out;
  if (algorithm_ == Algorithm::ed25519_sha256) {
    std::size_t len = 32;
    out.resize(len);
    if (EVP_PKEY_get_raw_public_key(key_.get(), out.data(), &len) != 1) return {};
    out.resize(len);
    return out;
  }
  const int len = i2d_PUBKEY(key_.get(), nullptr);
  if (len <= 0) return {};
  out.resize(static_cast<std::size_t>(len));
  unsigned char* p = out.data();
  if (i2d_PUBKEY(key_.get(), &p) != len) return {};
  return out;
}

core::Result<std::vector<std::uint8_t>> PrivateKey::sign(std::string_view data) const {
  const auto failed = [] {
    return core::fail(ErrorKind::internal, "the message could not be signed", "OpenSSL sign");
  };
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return failed();
  std::vector<std::uint8_t> signature;
  std::size_t len = 0;
  if (algorithm_ == Algorithm::ed25519_sha256) {
    // RFC 8463 §3: PureEdDSA over the SHA-256 hash of the data (not Ed25519ph).
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
    if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len, digest, sizeof digest) != 1)
      return failed();
    signature.resize(len);
    if (EVP_DigestSign(ctx.get(), signature.data(), &len, digest, sizeof digest) != 1)
      return failed();
  } else {
    if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len,
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
      return failed();
    signature.resize(len);
    if (EVP_DigestSign(ctx.get(), signature.data(), &len,
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
      return failed();
  }
  signature.resize(len);
  return signature;
}

}  // namespace mail::dkim
