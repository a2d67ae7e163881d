#pragma once
// A validated mailbox (RFC 5321 "Mailbox": local-part@domain), the only address type the
// MIME builder, the SMTP client and the queue accept.
// Trust: parse() takes untrusted text (a form value, a config file, a CLI argument).
//
// The accepted syntax is a strict subset of RFC 5321/5322 plus RFC 6531 (SMTPUTF8):
//   - at most kMaxAddressBytes (254) bytes, exactly one '@';
//   - local-part: 1..64 bytes, a dot-atom (atoms joined by single dots, none at either
//     end); an atom is RFC 5322 atext (A-Z a-z 0-9 ! # $ % & ' * + - / = ? ^ _ ` { | } ~)
//     or UTF-8 above U+009F (valid UTF-8 only). Quoted local-parts ("a b"@x) are refused,
//     and so are spaces, control characters (C0, DEL, C1), angle brackets, '"', '(', ')',
//     ',', ':', ';', '<', '>', '@', '[', '\\', ']' anywhere;
//   - domain: at least two labels, each 1..63 bytes, at most 253 in all; an ASCII label is
//     letters, digits and '-' (not first or last); a label with UTF-8 makes the whole
//     domain go through IDNA (libidn2, UTS #46 non-transitional mapping, which also folds
//     case) to its A-label form. Address literals ([192.0.2.1]) are refused. A trailing
//     dot is refused. An ASCII "xn--" label is taken as given (not decoded to check it).
// The domain is kept lower-cased ASCII (A-labels); the local-part is kept as written,
// since only its domain may interpret its case (RFC 5321 §2.4).

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace mail::mime {

class Address {
 public:
  static core::Result<Address> parse(std::string_view text);

  const std::string& local_part() const noexcept { return local_; }
  // Lower-cased ASCII; IDNs as A-labels ("xn--...").
  const std::string& domain() const noexcept { return domain_; }
  // local-part@domain with the domain as domain() gives it.
  std::string str() const { return local_ + "@" + domain_; }
  // True when the local-part holds UTF-8: only an SMTPUTF8 server can take it (RFC 6531).
  bool needs_smtputf8() const noexcept;

  friend bool operator==(const Address&, const Address&) = default;

 private:
  Address(std::string local, std::string domain)
      : local_(std::move(local)), domain_(std::move(domain)) {}
  std::string local_;
  std::string domain_;
};

// A domain name under the same rules as an address's domain (Message-ID's right side, the
// DKIM d= domain, ...): lower-cased ASCII with A-labels, or an error.
core::Result<std::string> normalize_domain(std::string_view text);

}  // namespace mail::mime

namespace mail {
// The whole mail module says "mail::Address"; it lives with its parser here.
using Address = mime::Address;
}  // namespace mail
