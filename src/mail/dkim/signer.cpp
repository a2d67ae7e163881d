// Trust: our own message bytes (checked anyway); see signer.hpp.
#include "mail/dkim/signer.hpp"

#include <openssl/sha.h>

#include <algorithm>

#include "mail/dkim/detail/base64.hpp"
#include "mail/dkim/detail/canonical.hpp"
#include "mail/dkim/detail/signature_header.hpp"
#include "mail/mime/address.hpp"

namespace mail::dkim {

using core::ErrorKind;

core::Status check_selector(std::string_view selector) {
  const auto bad = [] {
    return core::fail(ErrorKind::invalid_input,
                      "a DKIM selector is lower-case letters, digits, '-' and '.' (at most 59)");
  };
  if (selector.empty() || selector.size() > kMaxSelectorBytes) return bad();
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = selector.find('.', start);
    const auto label = selector.substr(
        start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.front() == '-' || label.back() == '-') return bad();
    for (const char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return bad();
    }
    if (dot == std::string_view::npos) return core::ok();
    start = dot + 1;
  }
}

std::string companion_rsa_selector(std::string_view selector) {
  return std::string(selector) + "-rsa";
}

core::Result<Signer> Signer::create(std::string_view domain, std::vector<SigningKey> keys) {
  auto d = mime::normalize_domain(domain);
  if (!d) return core::fail(ErrorKind::invalid_input, "the DKIM domain is not a domain name");
  const auto count = [&](Algorithm a) {
    return std::count_if(keys.begin(), keys.end(),
                         [a](const SigningKey& k) { return k.key.algorithm() == a; });
  };
  const auto rsa = count(Algorithm::rsa_sha256);
  const auto ed = count(Algorithm::ed25519_sha256);
  if (rsa != 1 || ed > 1)
    return core::fail(ErrorKind::invalid_input,
                      "DKIM signs with one RSA key, or with one Ed25519 key and one RSA key");
  for (const auto& k : keys) {
    if (auto ok = check_selector(k.selector); !ok) return core::fail(ok.error());
  }
  if (keys.size() == 2 && keys[0].selector == keys[1].selector)
    return core::fail(ErrorKind::invalid_input, "the two DKIM keys need different selectors");
  // The Ed25519 signature goes first.
  std::stable_sort(keys.begin(), keys.end(), [](const SigningKey& a, const SigningKey& b) {
    return a.key.algorithm() == Algorithm::ed25519_sha256 &&
           b.key.algorithm() != Algorithm::ed25519_sha256;
  });
  return Signer(std::move(*d), std::move(keys));
}

core::Result<std::string> Signer::sign(std::string_view message, core::TimePoint now) const {
  if (message.size() > kMaxSignedMessageBytes)
    return core::fail(ErrorKind::too_large, "the message is too large to sign");
  auto split = detail::split_message(message);
  if (!split) return core::fail(split.error());

  std::vector<std::string> names;
  for (const char* name : kSignedHeaderNames) {
    const auto n =
        std::count_if(split->fields.begin(), split->fields.end(),
                      [&](const detail::HeaderField& f) { return detail::iequals(f.name, name); });
    if (std::string_view(name) == "from" && n != 1)
      return core::fail(ErrorKind::invalid_input, "the message cannot be signed",
                        "not exactly one From field");
    for (long i = 0; i < n; ++i) names.emplace_back(name);
  }
  names.emplace_back("from");  // over-signed: a second From breaks the signature

  const std::string body = detail::relaxed_body(split->body);
  unsigned char body_digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(body.data()), body.size(), body_digest);
  const std::string body_hash = detail::base64_encode(body_digest);
  const std::string signed_headers = detail::relaxed_signed_headers(split->fields, names);

  std::string prefix;
  for (const auto& k : keys_) {
    detail::SignatureTags tags{.algorithm = k.key.algorithm(),
                               .domain = domain_,
                               .selector = k.selector,
                               .timestamp = core::unix_seconds(now),
                               .signed_names = names,
                               .body_hash = body_hash};
    const std::string unsigned_field = detail::signature_field_without_b(tags);
    // The signed data ends with this field, relaxed, b= empty, without its CRLF (§3.7).
    std::string data = signed_headers;
    std::string own = detail::relaxed_header(unsigned_field);
    own.resize(own.size() - 2);
    data += own;
    auto signature = k.key.sign(data);
    if (!signature) return core::fail(signature.error());
    prefix += detail::append_b(unsigned_field, detail::base64_encode(*signature));
  }
  std::string out;
  out.reserve(prefix.size() + message.size());
  out += prefix;
  out += message;
  return out;
}

}  // namespace mail::dkim
