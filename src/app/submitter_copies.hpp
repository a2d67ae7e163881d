#pragma once
// F14: the copy of a submission its submitter asks for ("E-mail me a copy of what I sent"),
// queued through the Outbox under the rules of message-level encryption (M6): PGP/MIME or
// S/MIME when the address has a key or certificate here, otherwise (a patient rarely has
// one) the secure-message portal, whose notice is PHI-free. Limited per recipient and per
// node, so that a stranger typing someone else's address can send them only a few notices.
// Trust: the address was validated by forms/ (it is PHI, like the text); neither is logged
// nor put in an audit entry, and the limits key on a hash of the address.

#include <string_view>

#include "core/clock.hpp"
#include "core/rate_limiter.hpp"
#include "forms/submitter_copy.hpp"
#include "mail/mime/address.hpp"
#include "mail/queue/compose.hpp"

namespace app {

// At most 3 copies an hour to one address (a token bucket: 3 at once, then one every 20
// minutes): enough for a person who sends a form again, too few to make a mail bomb.
inline constexpr double kCopiesPerHourPerAddress = 3;
// At most 30 copies an hour from one node, whatever the addresses: bounds what a flood of
// invented addresses costs the organisation's sending reputation.
inline constexpr double kCopiesPerHourPerNode = 30;

class CopyLimits {
 public:
  explicit CopyLimits(const core::Clock& clock);
  // Takes one copy from the address's budget, then the node's; false when either is spent
  // (nothing is to be sent).
  bool allow(std::string_view address);
  // The per-address key: SHA-256 (hex) of the lower-cased address, so that the limiter's
  // memory holds no address.
  static std::string key_of(std::string_view address);

 private:
  core::RateLimiter per_address_;
  core::RateLimiter per_node_;
};

// The message: to the typed address, from `from`, subject and text from `copy`, encrypt and
// phi set, TLS opportunistic (the content is sealed whatever the route). The text is copied
// into the result: the caller wipes its text_body once it is queued.
mail::queue::Outgoing submitter_copy_mail(const forms::SubmitterCopy& copy,
                                          const mail::Address& from, const mail::Address& to);

}  // namespace app
