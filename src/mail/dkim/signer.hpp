#pragma once
// DKIM signing (RFC 6376), relaxed/relaxed, with one RSA key or with an Ed25519 key (RFC
// 8463) and an RSA key together: RFC 8463 expects Ed25519 signers to add an RSA signature
// for the receivers that do not know Ed25519 (they ignore that one and check the RSA one).
// Pure: no clock, no files, no logging.
// Trust: the message is ours (the MIME builder's output); it is still checked (CRLF lines,
// one From, size) since a wrong message would be signed in a way no receiver accepts.
//
// Selectors: the RSA key that accompanies an Ed25519 key has its own selector, by
// convention the Ed25519 selector plus "-rsa" (companion_rsa_selector()): `dkim init
// --selector S` publishes S._domainkey.D (k=ed25519) and S-rsa._domainkey.D (k=rsa).
//
// What is signed: h= lists from, to, cc, subject, date, message-id, mime-version,
// content-type, content-transfer-encoding, reply-to, list-unsubscribe and
// list-unsubscribe-post, each once per occurrence in the message (absent ones are left out),
// and "from" once more, so that no second From can be added (RFC 6376 §8.15). t= is the
// signing time; no l= (the whole body is signed), no x=. The DKIM-Signature fields are
// folded to at most 78 columns and prepended: the Ed25519 one first, then the RSA one.
// Each signs the message as given (neither covers the other).

#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "mail/dkim/key.hpp"

namespace mail::dkim {

struct SigningKey {
  std::string selector;
  PrivateKey key;
};

// A selector as we create and accept them: dot-separated labels of lower-case letters,
// digits and '-' (not first or last), at most kMaxSelectorBytes.
core::Status check_selector(std::string_view selector);
std::string companion_rsa_selector(std::string_view selector);

class Signer {
 public:
  // `domain` is d= (normalised to lower-case A-labels). `keys`: one RSA key, or one Ed25519
  // key and one RSA key (an Ed25519 key alone is refused: too many receivers cannot check it).
  static core::Result<Signer> create(std::string_view domain, std::vector<SigningKey> keys);

  // The message with its DKIM-Signature field(s) prepended. Safe to call from several
  // threads at once (the keys are only read).
  core::Result<std::string> sign(std::string_view message, core::TimePoint now) const;

  const std::string& domain() const noexcept { return domain_; }
  const std::vector<SigningKey>& keys() const noexcept { return keys_; }

 private:
  Signer(std::string domain, std::vector<SigningKey> keys)
      : domain_(std::move(domain)), keys_(std::move(keys)) {}
  std::string domain_;
  std::vector<SigningKey> keys_;
};

// The header field names signed when present (see above), in h= order.
inline constexpr const char* kSignedHeaderNames[] = {"from",
                                                     "to",
                                                     "cc",
                                                     "subject",
                                                     "date",
                                                     "message-id",
                                                     "mime-version",
                                                     "content-type",
                                                     "content-transfer-encoding",
                                                     "reply-to",
                                                     "list-unsubscribe",
                                                     "list-unsubscribe-post"};

}  // namespace mail::dkim
